#!/usr/bin/env python3
"""Archive a Devin session (there is no unarchive)."""

import sys

import _prelude  # noqa: F401
from devin_plugin import cli, sessions


def build():
    p = cli.parser("archive_session.py", __doc__)
    cli.add_session_arg(p)
    return p


def main(args, json_mode):
    settings = cli.settings(args)
    sid = cli.session_id(args, settings)
    client = cli.client(settings)
    result = sessions.archive(client, sid, dry_run=args.dry_run)
    if args.dry_run:
        return cli.emit_dry_run(result, json_mode)
    head = (f"Session {sid} was already archived." if result["outcome"] == "already_archived"
            else f"Session {sid} is archived.")
    cli.emit(result, json_mode, lambda: cli.show_session(result, head))


if __name__ == "__main__":
    sys.exit(cli.run(main, build))
