"""The decision: read the command once, run the rules in order, return the first block's message."""

from __future__ import annotations

import gc
import importlib
import os
import sys
from collections.abc import Callable, Mapping, Sequence

from .command import Command
from .messages import reason
from .rules import RULES, Rule

# hooks/guard/decide.py -> the plugin's root (the entry point passes its own, see guard_bash.py)
PLUGIN_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.realpath(__file__))))


def load_policy(root: str = PLUGIN_ROOT, environ: Mapping[str, str] | None = None
                ) -> tuple[Callable[[str], str], dict[str, str]]:
    """(canonical, {canonical name: name}) from policy/forbidden.json and DEVIN_GUARD_POLICY_FILE.

    The extra file only adds names. Raises on a missing, corrupt or empty policy (fail closed).
    """
    environ = os.environ if environ is None else environ
    lib = os.path.join(root, "lib")
    if lib not in sys.path:
        sys.path.insert(0, lib)
    fieldnames = importlib.import_module("devin_plugin.fieldnames")  # stdlib only; reads the policy

    names = set(fieldnames.FORBIDDEN_FIELDS)
    extra = environ.get("DEVIN_GUARD_POLICY_FILE")
    if extra:
        names.update(fieldnames.load_forbidden(extra))
    canonical: Callable[[str], str] = fieldnames.canonical
    canon = {canonical(n): n for n in names}
    if not canon or "" in canon:
        raise ValueError("empty forbidden-field name")
    return canonical, canon


def first_block(cmd: Command, rules: Sequence[Rule] | None = None) -> tuple[Rule, str] | None:
    """The first rule that blocks `cmd` and what it found, or None (rules: RULES unless given).

    A rule marked plugin_scripts_exempt does not block a command made only of calls of this
    plugin's own scripts (the free-text exemption is already in `cmd.checked`).
    """
    for rule in RULES if rules is None else rules:
        found = rule.check(cmd)
        if found is None:
            continue
        if rule.plugin_scripts_exempt and cmd.only_plugin_scripts:
            continue
        return rule, found
    return None


def decide(payload: Mapping[str, object], canonical: Callable[[str], str] | None = None,
           forbidden: Mapping[str, str] | None = None, *, root: str = PLUGIN_ROOT,
           environ: Mapping[str, str] | None = None) -> str | None:
    """Return None to allow the call, or the reason to block it.

    Raises on input it cannot judge (command not a string, a broken policy, ...): the entry point
    then fails closed for anything Devin-related.
    """
    if payload.get("tool_name") != "Bash":
        return None
    tool_input = payload.get("tool_input") or {}
    command = tool_input.get("command") if isinstance(tool_input, dict) else None
    if not isinstance(command, str):
        raise TypeError("tool_input.command is not a string")
    cwd = payload.get("cwd")
    if canonical is None or forbidden is None:
        canonical, forbidden = load_policy(root, environ)
    cmd = Command(command, cwd=cwd if isinstance(cwd, str) else "", root=root, canonical=canonical,
                  forbidden=forbidden, environ=environ)
    collecting = gc.isenabled()
    gc.disable()   # the reader makes many small objects and no garbage cycles worth a collection
    try:
        block = first_block(cmd)
    finally:
        if collecting:
            gc.enable()
    if block is None:
        return None
    rule, found = block
    return reason(rule.kind, root, found)
