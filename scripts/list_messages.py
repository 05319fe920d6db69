#!/usr/bin/env python3
"""Show a Devin session's messages, oldest first. Read-only: never wakes or changes the session.

--new shows only the messages this machine has not shown before for that session (each call
remembers the last message it showed, under the state directory).
"""

import sys

import _prelude  # noqa: F401
from devin_plugin import cli, formatting, limits, sessions


def build() -> cli.Parser:
    p = cli.parser("list_messages.py", __doc__)
    cli.add_session_arg(p)
    cli.add_limit(p, None, limits.MESSAGES_LIST_MAX, "of the last messages")
    p.add_argument("--after", metavar="CURSOR", help="only messages after this end_cursor of an earlier call")
    p.add_argument("--new", action="store_true",
                   help="only the messages not shown on this machine before (not with --after)")
    return p


def show(page: dict, sid: str) -> str:
    if not page.get("new_only"):
        return formatting.show_messages(page, sid)
    before = page.get("shown_before", 0)
    if not page["items"]:
        return f"No new messages in {sid}" + (f" ({before} shown before)." if before else ".")
    return (f"New since the last time they were shown on this machine ({before} earlier left out):\n"
            + formatting.show_messages(page, sid))


def main(inv: cli.Invocation) -> int:
    a = inv.args
    cli.check_limit(a.limit, limits.MESSAGES_LIST_MAX)
    if a.after is not None and (not a.after.isprintable() or len(a.after) > limits.CURSOR_MAX):
        raise cli.InvalidInput("--after must be a cursor printed by an earlier call")
    if a.new and a.after is not None:
        raise cli.InvalidInput("--new and --after exclude each other: --new continues after the last message shown "
                               "on this machine, --after after a cursor")
    sid = inv.session()
    page = sessions.list_messages(inv.client(120), sid, limit=a.limit, after=a.after, new=a.new, remember=True,
                                  dry_run=inv.dry_run, note=inv.note)
    return inv.emit_result(page, lambda: show(page, sid))


if __name__ == "__main__":
    sys.exit(cli.run(main, build))
