#!/usr/bin/env python3
"""Wait until a Devin session needs someone, is done for now, is asleep, or has ended. Read-only.

Progress goes to standard error; the final session (with a "wait" summary) to standard output.
"""

import sys

import _prelude  # noqa: F401
from devin_plugin import cli, output, sessions


def build():
    p = cli.parser("wait_session.py", __doc__)
    cli.add_session_arg(p)
    p.add_argument("--timeout", type=float, default=1800, metavar="SECONDS", help="give up after (default 1800)")
    p.add_argument("--interval", type=float, default=10, metavar="SECONDS",
                   help="first poll interval; grows 1.5x per poll up to 60 s (default 10)")
    return p


def main(args, json_mode):
    if not 0 < args.timeout <= 86400:
        raise cli.InvalidInput("--timeout must be more than 0 and at most 86400 seconds")
    if not 0 < args.interval <= 3600:
        raise cli.InvalidInput("--interval must be more than 0 and at most 3600 seconds")
    settings = cli.settings(args)
    sid = cli.session_id(args, settings)
    if args.dry_run:
        return cli.dry_run_request(cli.client(settings), json_mode, "GET", sessions.SESSION, path={"devin_id": sid})
    result = sessions.wait(lambda deadline: cli.client(settings, deadline_s=deadline), sid,
                           timeout_s=args.timeout, interval_s=args.interval,
                           max_interval_s=max(60.0, args.interval), progress=output.note)
    outcome = result["wait"]["outcome"]
    head = (f"Stopped waiting after {args.timeout:g} s; the session is still going." if outcome == "timeout"
            else f"Session {sid}: {cli.CLASS_WORDS.get(outcome, outcome)}")
    cli.emit(result, json_mode, lambda: cli.show_session(result, head))


if __name__ == "__main__":
    sys.exit(cli.run(main, build))
