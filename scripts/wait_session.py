#!/usr/bin/env python3
"""Wait until a Devin session needs someone, is done for now, is asleep, or has ended. Read-only.

Progress goes to standard error; the final session (with a "wait" summary) to standard output.
"""

import sys

import _prelude  # noqa: F401
from devin_plugin import cli, formatting, limits, output, sessions
from devin_plugin.states import CLASS_WORDS


def build() -> cli.Parser:
    p = cli.parser("wait_session.py", __doc__)
    cli.add_session_arg(p)
    p.add_argument("--timeout", type=float, default=1800, metavar="SECONDS", help="give up after (default 1800)")
    p.add_argument("--interval", type=float, default=10, metavar="SECONDS",
                   help="first poll interval; grows 1.5x per poll up to 60 s (default 10)")
    return p


def main(inv: cli.Invocation) -> int:
    a = inv.args
    if not 0 < a.timeout <= limits.WAIT_SCRIPT_MAX_S:
        raise cli.InvalidInput(f"--timeout must be more than 0 and at most {limits.WAIT_SCRIPT_MAX_S} seconds")
    if not 0 < a.interval <= limits.WAIT_INTERVAL_MAX_S:
        raise cli.InvalidInput(f"--interval must be more than 0 and at most {limits.WAIT_INTERVAL_MAX_S} seconds")
    sid = inv.session()
    result = sessions.wait(inv.client_factory(), sid, timeout_s=a.timeout, interval_s=a.interval,
                           max_interval_s=max(60.0, a.interval), progress=output.note, dry_run=inv.dry_run)
    outcome = result.get("wait", {}).get("outcome")
    head = (f"Stopped waiting after {a.timeout:g} s; the session is still going." if outcome == "timeout"
            else f"Session {sid}: {CLASS_WORDS.get(str(outcome), outcome)}")
    return inv.emit_result(result, lambda: formatting.show_session(result, head))


if __name__ == "__main__":
    sys.exit(cli.run(main, build))
