#!/usr/bin/env python3
"""Show a Devin session's messages, oldest first. Read-only: never wakes or changes the session."""

import sys

import _prelude  # noqa: F401
from devin_plugin import cli, formatting, limits, sessions


def build() -> cli.Parser:
    p = cli.parser("list_messages.py", __doc__)
    cli.add_session_arg(p)
    cli.add_limit(p, None, limits.MESSAGES_LIST_MAX, "of the last messages")
    p.add_argument("--after", metavar="CURSOR", help="only messages after this end_cursor of an earlier call")
    return p


def main(inv: cli.Invocation) -> int:
    a = inv.args
    cli.check_limit(a.limit, limits.MESSAGES_LIST_MAX)
    if a.after is not None and (not a.after.isprintable() or len(a.after) > limits.CURSOR_MAX):
        raise cli.InvalidInput("--after must be a cursor printed by an earlier call")
    sid = inv.session()
    page = sessions.list_messages(inv.client(120), sid, limit=a.limit, after=a.after, dry_run=inv.dry_run)
    return inv.emit_result(page, lambda: formatting.show_messages(page, sid))


if __name__ == "__main__":
    sys.exit(cli.run(main, build))
