#!/usr/bin/env python3
"""PreToolUse guard for the Bash tool: keep Devin traffic inside the plugin's scripts.

Claude Code sends the tool call as JSON on standard input. This hook blocks (exit 2, one
paragraph on standard error that says what to do instead) a Bash command that

  (a) reaches the Devin API directly (api.devin.ai, *.devinenterprise.com, the host of
      DEVIN_API_BASE or the variable itself) instead of through the plugin's scripts;
  (b) carries a forbidden field (policy/forbidden.json, matched after lib/devin_plugin/
      fieldnames.canonical(), so case, separators, full-width letters, zero-width characters
      and \\uXXXX / %XX / \\xXX escapes do not hide it);
  (c) would print or leak the token: the token variables or DEVIN_TOKEN_FILE's file named in a
      command, Claude Code's credentials file (sensitive plugin options live there without a
      keychain), bare env/printenv/set/export -p/declare -p, /proc/*/environ, `ps e`, a whole
      environment dump in a one-liner, or a literal cog_ token.

Rules that decide what counts (kept simple on purpose, see tests/plugin/test_plugin_hook.py):

* A command whose every part is a call of this plugin's own scripts (`python3 <plugin>/scripts/
  NAME.py ...`, optionally `|| true`) may name the API host (e.g. an --attachment-url) and may
  carry free text in the quoted heredoc of `--prompt-file -` / `--message-file -`: that text is
  the task for Devin, not a command, so only the literal-token check (c) looks at it.
* Anywhere else the field names are blocked in any context, read-only greps included
  (`grep -r create_as_user_id .` is blocked): search with the Grep tool instead, which this hook
  does not see.
* Exit 1 is never used (it would not block). A crash while handling a command that mentions
  Devin, its token or its host blocks (fail closed); unparseable input unrelated to Devin passes.

Stdlib only and no work for unrelated commands beyond a few regular expressions: it runs before
every Bash call. DEVIN_GUARD_POLICY_FILE names an extra forbidden-field file (tests use it); its
names are added to the bundled ones, never replace them.

This file is the entry point only (standard input, exit status, failing closed). The shell reader
is hooks/guard/shell.py; the rules are the named entries of RULES in hooks/guard/rules.py, tried in
order (the first block wins); hooks/guard/decide.py runs them. Claude Code runs this file with
`python3 -I -S`, so its folder is not on sys.path: it puts hooks/ (and lib/, for the policy) there.
If hooks/guard cannot be loaded, every Devin-related command is blocked (fail closed).
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Callable, Mapping

HOOKS_DIR = os.path.dirname(os.path.realpath(__file__))
PLUGIN_ROOT = os.path.dirname(HOOKS_DIR)
SCRIPTS_DIR = os.path.join(PLUGIN_ROOT, "scripts")
for _path in (os.path.join(PLUGIN_ROOT, "lib"), HOOKS_DIR):
    if _path not in sys.path:
        sys.path.insert(0, _path)

_LOAD_ERROR: Exception | None = None
try:
    from guard.command import api_hosts
    from guard.decide import decide as _decide
    from guard.rules import RULES, TOKEN_VARS
    from guard.shell import segments, split_heredocs
except Exception as _exc:  # noqa: BLE001 (a damaged copy of the plugin: main() fails closed)
    _LOAD_ERROR = _exc

__all__ = ["PLUGIN_ROOT", "RULES", "SCRIPTS_DIR", "TOKEN_VARS", "decide", "main", "segments",
           "split_heredocs"]

_DEVIN_HINT = re.compile(r"d\W*e\W*v\W*i\W*n|cog_|environ|credentials|pluginsecrets", re.I)
_INTERNAL = ("The Devin guard hook failed while checking a Devin-related command, so the command "
             "was blocked (fail closed). Use the plugin's scripts (python3 <plugin root>/"
             "scripts/NAME.py) or /devin:setup, and tell the user the guard reported: {name}.")


def decide(payload: Mapping[str, object], canonical: Callable[[str], str] | None = None,
           forbidden: Mapping[str, str] | None = None) -> str | None:
    """Return None to allow the call, or the reason to block it (raises on what it cannot judge)."""
    if _LOAD_ERROR is not None:
        raise _LOAD_ERROR
    return _decide(payload, canonical, forbidden, root=PLUGIN_ROOT)


def _reason_internal(exc: BaseException) -> str:
    detail = f"{type(exc).__name__}: {exc}"[:300]
    return "Blocked by the devin plugin guard: " + _INTERNAL.format(name=detail).replace(
        "<plugin root>", PLUGIN_ROOT)


def _devin_related(raw: str) -> bool:
    if _DEVIN_HINT.search(raw):  # a literal cog_ token included
        return True
    if not os.environ.get("DEVIN_API_BASE", "").strip():
        return False
    lowered = raw.lower()
    try:
        return any(h in lowered for h in api_hosts(os.environ))
    except Exception:  # noqa: BLE001 (a host we cannot read, or the guard package did not load)
        return True


def main() -> int:
    try:
        raw = sys.stdin.buffer.read().decode("utf-8", "replace")
    except Exception:  # noqa: BLE001 (nothing to judge)
        return 0
    try:
        payload = json.loads(raw)
        if not isinstance(payload, dict):
            raise TypeError("hook input is not a JSON object")
        reason = decide(payload)
    except Exception as exc:  # noqa: BLE001 (fail closed on anything Devin-related)
        if not _devin_related(raw):
            return 0
        reason = _reason_internal(exc)
    if reason is None:
        return 0
    sys.stderr.write(reason + "\n")
    return 2


if __name__ == "__main__":
    sys.exit(main())
