#!/usr/bin/env python3
"""Terminate a Devin session. Irreversible: the caller confirms with the user first; this script does not ask."""

import sys

import _prelude  # noqa: F401
from devin_plugin import cli, sessions


def build():
    p = cli.parser("terminate_session.py", __doc__)
    cli.add_session_arg(p)
    p.add_argument("--archive", action="store_true", help="also archive it")
    return p


def main(args, json_mode):
    settings = cli.settings(args)
    sid = cli.session_id(args, settings)
    client = cli.client(settings)
    result = sessions.terminate(client, sid, archive=args.archive, dry_run=args.dry_run)
    if args.dry_run:
        return cli.emit_dry_run(result, json_mode)
    head = (f"Session {sid} had already ended; nothing was changed." if result["outcome"] == "already_ended"
            else f"Session {sid} is terminated (status {result.get('status')}).")
    cli.emit(result, json_mode, lambda: cli.show_session(result, head))


if __name__ == "__main__":
    sys.exit(cli.run(main, build))
