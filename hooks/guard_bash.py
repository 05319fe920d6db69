#!/usr/bin/env python3
# mypy: disable-error-code="import-not-found"
# (`mypy hooks` reads this file as hooks.guard_bash; at run time it puts hooks/ on sys.path itself)
"""PreToolUse guard for the Bash tool: keep Devin traffic inside the plugin's scripts.

Claude Code sends the tool call as JSON on standard input. This hook blocks (exit 2, one
paragraph on standard error that says what to do instead) a Bash command that

  (a) reaches the Devin API directly (api.devin.ai, *.devinenterprise.com, the host of
      DEVIN_API_BASE or the variable itself) instead of through the plugin's scripts;
  (b) carries a forbidden field (policy/forbidden.json, matched after lib/devin_plugin/
      fieldnames.canonical(), so case, separators, full-width letters, zero-width characters
      and \\uXXXX / %XX / \\xXX escapes do not hide it; spelled with spaces, only on its own);
  (c) would print or leak the token: the token variables, DEVIN_TOKEN_FILE's file or
      ~/.config/devin/token named in a command (also as .., // or a glob), Claude Code's
      credentials file (sensitive plugin options live there without a keychain), bare
      env/printenv/set/export -p/declare -p (after any wrapper, redirection or line
      continuation), /proc/*/environ, `ps e`, a whole environment dump in a one-liner, or a
      literal cog_ token.

The command is read as bash reads it (hooks/guard/shell.py): heredoc bodies end where bash ends
them, here-strings and `<<` in quotes, comments or arithmetic are not heredocs, and a line bash
executes is never taken for heredoc text. Where shells differ the hook reads every line as a command.

Rules that decide what counts (kept simple on purpose, see tests/plugin/test_plugin_hook.py):

* A command whose every part is a call of this plugin's own scripts (`python3 <plugin>/scripts/
  NAME.py ...`, optionally `|| true`) may name the API host (e.g. an --attachment-url) and may
  carry free text in the quoted heredoc of `--prompt-file -` / `--message-file -`: that text is
  the task for Devin, not a command, so only the literal-token check (c) looks at it.
* Anywhere else the field names are blocked in any context, read-only greps included
  (`grep -r create_as_user_id .` is blocked): search with the Grep tool instead, which this hook
  does not see.
* Exit 1 is never used (it would not block). A crash while handling a command that mentions
  Devin, its token or its host (or dumps the environment) blocks (fail closed); unparseable input
  unrelated to Devin passes.
* Bounded time: reading a command is linear in its length (about a millisecond for an ordinary
  one, under a second for 200 KB of adversarial text; tests/hook/test_hook_bounds.py). If deciding
  still takes longer than DEADLINE_SECONDS (claude-hooks.json gives the hook 10 s), the hook stops: a
  Devin-related command is blocked, any other passes, as for a crash.

Stdlib only: it runs before every Bash call. DEVIN_GUARD_POLICY_FILE names an extra forbidden-field
file (tests use it); its names are added to the bundled ones, never replace them.

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
import time
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

__all__ = ["DEADLINE_SECONDS", "PLUGIN_ROOT", "RULES", "SCRIPTS_DIR", "TOKEN_VARS", "DeadlineExceeded",
           "decide", "decide_within", "main", "segments", "split_heredocs"]

# What makes a command Devin-related when the guard cannot judge it (a crash, the deadline): Devin in
# any spelling, a token, the environment or the credentials (a dump of the environment prints the
# token). Linear: each \W* is followed by a letter it cannot match.
_DEVIN_HINT = re.compile(r"d\W*e\W*v\W*i\W*n|cog_|environ|credentials|pluginsecrets"
                         r"|\b(?:env|printenv|set|export|declare|typeset|ps)\b|/proc/", re.I)
_INTERNAL = ("The Devin guard hook failed while checking a Devin-related command, so the command "
             "was blocked (fail closed). Use the plugin's scripts (python3 <plugin root>/"
             "scripts/NAME.py) or /devin:setup, and tell the user the guard reported: {name}.")
DEADLINE_SECONDS = 4.0


class DeadlineExceeded(BaseException):
    """Raised into decide() when it runs past DEADLINE_SECONDS (a BaseException: no `except
    Exception` on the way can swallow it)."""


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


def _devin_related(raw: str, payload: object = None) -> bool:
    """Whether the hook input (and the command in it, JSON escapes undone) is about Devin."""
    command = ""
    if isinstance(payload, dict) and isinstance(payload.get("tool_input"), dict):
        command = str(payload["tool_input"].get("command", ""))
    if _DEVIN_HINT.search(raw) or _DEVIN_HINT.search(command):  # a literal cog_ token included
        return True
    raw = raw + "\n" + command
    if not os.environ.get("DEVIN_API_BASE", "").strip():
        return False
    lowered = raw.lower()
    try:
        return any(h in lowered for h in api_hosts(os.environ))
    except Exception:  # noqa: BLE001 (a host we cannot read, or the guard package did not load)
        return True


def _decide_in_thread(payload: Mapping[str, object], seconds: float) -> str | None:
    """decide() in a helper thread, given up on after `seconds` (where there is no SIGALRM)."""
    import threading

    result: list[str | None] = []
    error: list[BaseException] = []

    def work() -> None:
        try:
            result.append(decide(payload))
        except BaseException as exc:  # noqa: BLE001 (handed to the caller)
            error.append(exc)

    worker = threading.Thread(target=work, name="devin-guard", daemon=True)
    worker.start()
    worker.join(seconds)
    if worker.is_alive():
        raise DeadlineExceeded(f"no decision within {seconds:g} s")
    if error:
        raise error[0]
    return result[0]


def decide_within(payload: Mapping[str, object], seconds: float | None = None) -> str | None:
    """decide(), stopped with DeadlineExceeded after `seconds` (DEADLINE_SECONDS by default).

    SIGALRM interrupts Python code and the regular expression engine alike; where it cannot be used
    (Windows, or not the main thread) the decision runs in a thread that is abandoned at the deadline.
    """
    seconds = DEADLINE_SECONDS if seconds is None else seconds
    import signal

    def on_alarm(signum: int, frame: object) -> None:
        raise DeadlineExceeded(f"no decision within {seconds:g} s")

    try:
        previous = signal.signal(signal.SIGALRM, on_alarm)
    except (AttributeError, ValueError, OSError):  # no SIGALRM here, or not the main thread
        return _decide_in_thread(payload, seconds)
    started = time.monotonic()
    earlier = signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        return decide(payload)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        if earlier[0] > 0:  # someone else's timer (a test runner's): give it back what is left
            signal.setitimer(signal.ITIMER_REAL, max(earlier[0] - (time.monotonic() - started), 0.001),
                             earlier[1])


def main() -> int:
    try:
        raw = sys.stdin.buffer.read().decode("utf-8", "replace")
    except Exception:  # noqa: BLE001 (nothing to judge)
        return 0
    payload: object = None
    try:
        payload = json.loads(raw)
        if not isinstance(payload, dict):
            raise TypeError("hook input is not a JSON object")
        reason = decide_within(payload)
    except (Exception, DeadlineExceeded) as exc:  # noqa: BLE001 (fail closed on anything Devin-related)
        if not _devin_related(raw, payload):
            return 0
        reason = _reason_internal(exc)
    if reason is None:
        return 0
    sys.stderr.write(reason + "\n")
    return 2


if __name__ == "__main__":
    status = main()
    sys.stderr.flush()
    os._exit(status)  # now: no waiting for a decision abandoned at the deadline
