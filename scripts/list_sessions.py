#!/usr/bin/env python3
"""List the configured organization's Devin sessions, newest first. Read-only."""

import sys

import _prelude  # noqa: F401
from devin_plugin import cli, output, sessions


def build():
    p = cli.parser("list_sessions.py", __doc__)
    p.add_argument("--limit", type=int, default=10, help="how many sessions (1-10000, default 10)")
    p.add_argument("--all", action="store_true", help=f"every session, up to {sessions.LIST_ALL_CAP}")
    p.add_argument("--tag", action="append", default=[], help="only sessions with this tag (repeatable)")
    p.add_argument("--created-after", type=int, metavar="UNIX_SECONDS")
    p.add_argument("--created-before", type=int, metavar="UNIX_SECONDS")
    p.add_argument("--enterprise", action="store_true",
                   help="use enterprise scope, always filtered to DEVIN_ORG_ID (needs ViewAccountSessions)")
    return p


def main(args, json_mode):
    if not 1 <= args.limit <= sessions.LIST_ALL_CAP:
        raise cli.InvalidInput(f"--limit must be between 1 and {sessions.LIST_ALL_CAP}")
    settings = cli.settings(args)
    client = cli.client(settings, deadline_s=120)
    if args.tag:
        cli_policy = cli.load_policy(settings)
        cli_policy.check("session_tags", {"tags": args.tag})
    if args.dry_run:
        params = {"first": min(args.limit, sessions.PAGE_MAX)}
        if args.tag:
            params["tags"] = args.tag
        if args.enterprise:
            params["org_ids"] = [settings.org_id]
        template = sessions.ENT_SESSIONS if args.enterprise else sessions.SESSIONS
        return cli.dry_run_request(client, json_mode, "GET", template, params=params)
    page = sessions.list_sessions(client, limit=args.limit, fetch_all=args.all, tags=args.tag,
                                  created_after=args.created_after, created_before=args.created_before,
                                  enterprise=args.enterprise)
    dropped = page.pop("dropped_foreign")
    if dropped:
        page["dropped_foreign_items"] = dropped
        output.note(f"devin: warning: the API returned {dropped} session(s) of other organizations; they were "
                    "dropped and not shown")
    cli.emit(page, json_mode, lambda: _text(page, settings.org_id))


def _text(page, org):
    items = page["items"]
    if not items:
        return f"No sessions found in {org}."
    head = f"{len(items)} session(s) in {org}, newest first" + (" (more exist)" if page["has_next_page"] else "")
    rows = []
    for s in items:
        state = str(s.get("status")) + (f"/{s.get('status_detail')}" if s.get("status_detail") else "")
        rows.append(f"{s.get('session_id')}  {state:<24} {cli.when(s.get('created_at'))}  {s.get('title') or ''}")
    return head + "\n" + output.fence("\n".join(rows))


if __name__ == "__main__":
    sys.exit(cli.run(main, build))
