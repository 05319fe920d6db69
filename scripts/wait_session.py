#!/usr/bin/env python3
"""Wait until a Devin session needs someone, is done for now, is asleep, or has ended. Read-only.

Progress goes to standard error (a line per change, per new Devin message, and at least once a
minute); the final session (with a "wait" summary and Devin's last message) to standard output.
Exits 9 (kind "timeout") when the timeout passes while Devin is still working.
"""

import os
import shlex
import sys

import _prelude  # noqa: F401
from devin_plugin import cli, formatting, limits, output, sessions
from devin_plugin.errors import WaitTimeout
from devin_plugin.states import CLASS_WORDS

DEFAULT_INTERVAL = 10.0


def build() -> cli.Parser:
    p = cli.parser("wait_session.py", __doc__)
    cli.add_session_arg(p)
    p.add_argument("--timeout", type=float, default=1800, metavar="SECONDS", help="give up after (default 1800)")
    p.add_argument("--interval", type=float, default=DEFAULT_INTERVAL, metavar="SECONDS",
                   help="first poll interval; grows 1.5x per poll up to 60 s (default 10)")
    p.add_argument("--since", metavar="UNIX_SECONDS",
                   help="when a message was just sent: its time. A 'needs you' or 'done for now' state from before "
                        "it is not a stop: Devin must have written since")
    return p


def _number(value: float) -> str:
    """A number as the user would type it back (no exponent: 1.79e+09 is not a unix time to copy)."""
    return f"{value:.3f}".rstrip("0").rstrip(".")


def resume_command(inv: cli.Invocation, sid: str, since: float | None) -> str:
    """The call that resumes this wait. Under Claude Code it is the ${CLAUDE_PLUGIN_ROOT} form, the only one
    its sandbox lets read the token."""
    here = os.path.realpath(__file__)
    root = inv.env.get("CLAUDE_PLUGIN_ROOT")
    script = shlex.quote(here)
    if root and os.path.realpath(os.path.join(root, "scripts", "wait_session.py")) == here:
        script = "${CLAUDE_PLUGIN_ROOT}/scripts/wait_session.py"
    a = inv.args
    words = ["python3", script, f"'{sid}'", "--timeout", _number(a.timeout)]
    if a.interval != DEFAULT_INTERVAL:
        words += ["--interval", _number(a.interval)]
    if since is not None:
        words += ["--since", _number(since)]
    if inv.json:
        words.append("--json")
    return " ".join(words)


def show(result: dict, sid: str) -> str:
    outcome = str(result.get("wait", {}).get("outcome"))
    text = formatting.show_session(result, f"Session {sid}: {CLASS_WORDS.get(outcome, outcome)}")
    last = result.get("last_devin_message")
    if not last:
        return text + ("\n\nDevin has written no message in this session." if outcome == "needs_user" else "")
    label = "Devin's question (its last message)" if outcome == "needs_user" else "Devin's last message"
    text += f"\n\n{label}, {formatting.when(last.get('created_at'))}:\n" + output.fence(str(last.get("message", "")))
    if last.get("truncated_from_chars"):
        text += (f"\n(the first {sessions.LAST_MESSAGE_MAX_CHARS} of {last['truncated_from_chars']} characters; "
                 "list_messages.py shows all of it)")
    return text


def main(inv: cli.Invocation) -> int:
    a = inv.args
    if not 0 < a.timeout <= limits.WAIT_SCRIPT_MAX_S:
        raise cli.InvalidInput(f"--timeout must be more than 0 and at most {limits.WAIT_SCRIPT_MAX_S} seconds")
    if not 0 < a.interval <= limits.WAIT_INTERVAL_MAX_S:
        raise cli.InvalidInput(f"--interval must be more than 0 and at most {limits.WAIT_INTERVAL_MAX_S} seconds")
    since = sessions.parse_since(a.since) if a.since is not None else None
    sid = inv.session()
    try:
        result = sessions.wait(inv.client_factory(), sid, timeout_s=a.timeout, interval_s=a.interval,
                               max_interval_s=max(60.0, a.interval), since=since, progress=output.note,
                               dry_run=inv.dry_run)
    except WaitTimeout as err:
        err.message += f" To wait again: {resume_command(inv, sid, since)}"
        raise
    except KeyboardInterrupt:
        # A wait only reads: stopping it changes nothing for Devin.
        output.note(f"devin: stopped waiting; session {sid} keeps running. To resume the wait: "
                    f"{resume_command(inv, sid, since)}")
        raise
    return inv.emit_result(result, lambda: show(result, sid))


if __name__ == "__main__":
    sys.exit(cli.run(main, build))
