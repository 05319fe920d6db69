#!/usr/bin/env python3
"""List the configured organization's Devin sessions, newest first. Read-only."""

import sys

import _prelude  # noqa: F401
from devin_plugin import cli, formatting, limits, sessions


def build() -> cli.Parser:
    p = cli.parser("list_sessions.py", __doc__)
    cli.add_limit(p, 10, limits.SESSIONS_LIST_MAX, "sessions")
    p.add_argument("--all", action="store_true", help=f"every session, up to {limits.SESSIONS_LIST_MAX}")
    p.add_argument("--tag", action="append", default=[], help="only sessions with this tag (repeatable)")
    p.add_argument("--created-after", type=int, metavar="UNIX_SECONDS")
    p.add_argument("--created-before", type=int, metavar="UNIX_SECONDS")
    p.add_argument("--enterprise", action="store_true",
                   help="use enterprise scope, always filtered to DEVIN_ORG_ID (needs ViewAccountSessions)")
    return p


def main(inv: cli.Invocation) -> int:
    a = inv.args
    cli.check_limit(a.limit, limits.SESSIONS_LIST_MAX)
    settings = inv.settings()
    client = inv.client(120)
    if a.tag:
        inv.policy().check("session_tags", {"tags": a.tag})
    page = sessions.list_sessions(client, limit=a.limit, fetch_all=a.all, tags=a.tag,
                                  created_after=a.created_after, created_before=a.created_before,
                                  enterprise=a.enterprise, dry_run=inv.dry_run)
    dropped = page.pop("dropped_foreign", 0)
    if dropped:
        page["dropped_foreign_items"] = dropped
        inv.note(f"warning: the API returned {dropped} session(s) of other organizations; they were "
                 "dropped and not shown")
    return inv.emit_result(page, lambda: formatting.show_sessions(page, settings.org_id))


if __name__ == "__main__":
    sys.exit(cli.run(main, build))
