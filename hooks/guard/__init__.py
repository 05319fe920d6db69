"""The Bash guard's parts (stdlib only; hooks/guard_bash.py is the entry point Claude Code runs).

* shell.py    reads a command line: heredocs, words, simple commands, the program each runs.
* command.py  `Command`, one command with its views (computed once, on first use), and the
              exemptions for this plugin's own scripts (free text for Devin, script-only calls).
* rules.py    `RULES`, the named checks in order; the first that fires wins.
* messages.py what the agent is told, by the kind of rule that fired.
* decide.py   loads the policy, builds the `Command`, runs the rules.
"""

from __future__ import annotations

from .decide import decide, first_block, load_policy
from .rules import RULES, Rule

__all__ = ["RULES", "Rule", "decide", "first_block", "load_policy"]
