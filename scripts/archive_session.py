#!/usr/bin/env python3
"""Archive a Devin session (there is no unarchive)."""

import sys

import _prelude  # noqa: F401
from devin_plugin import cli, formatting, sessions


def build() -> cli.Parser:
    p = cli.parser("archive_session.py", __doc__)
    cli.add_session_arg(p)
    return p


def main(inv: cli.Invocation) -> int:
    sid = inv.session()
    result = sessions.archive(inv.client(), sid, dry_run=inv.dry_run)
    head = (f"Session {sid} was already archived." if result.get("outcome") == "already_archived"
            else f"Session {sid} is archived.")
    return inv.emit_result(result, lambda: formatting.show_session(result, head))


if __name__ == "__main__":
    sys.exit(cli.run(main, build))
