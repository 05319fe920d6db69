#!/usr/bin/env python3
"""Show one Devin session. Read-only: sends GET requests only."""

import sys

import _prelude  # noqa: F401
from devin_plugin import cli, sessions


def build():
    p = cli.parser("get_session.py", __doc__)
    cli.add_session_arg(p)
    return p


def main(args, json_mode):
    settings = cli.settings(args)
    sid = cli.session_id(args, settings)
    client = cli.client(settings)
    if args.dry_run:
        return cli.dry_run_request(client, json_mode, "GET", sessions.SESSION, path={"devin_id": sid})
    session = sessions.get_session(client, sid)
    cli.emit(session, json_mode, lambda: cli.show_session(session, f"Devin session {sid}"))


if __name__ == "__main__":
    sys.exit(cli.run(main, build))
