#!/usr/bin/env python3
"""Show a Devin session's messages, oldest first. Read-only: never wakes or changes the session."""

import sys

import _prelude  # noqa: F401
from devin_plugin import cli, output, sessions


def build():
    p = cli.parser("list_messages.py", __doc__)
    cli.add_session_arg(p)
    p.add_argument("--limit", type=int, help="only the last N messages")
    p.add_argument("--after", metavar="CURSOR", help="only messages after this end_cursor of an earlier call")
    return p


def main(args, json_mode):
    if args.limit is not None and not 0 < args.limit <= 5000:
        raise cli.InvalidInput("--limit must be between 1 and 5000")
    if args.after is not None and (not args.after.isprintable() or len(args.after) > sessions.CURSOR_MAX):
        raise cli.InvalidInput("--after must be a cursor printed by an earlier call")
    settings = cli.settings(args)
    sid = cli.session_id(args, settings)
    client = cli.client(settings, deadline_s=120)
    if args.dry_run:
        params = {"first": sessions.PAGE_MAX, **({"after": args.after} if args.after else {})}
        return cli.dry_run_request(client, json_mode,
                                   "GET", sessions.SESSION + "/messages", path={"devin_id": sid}, params=params)
    page = sessions.list_messages(client, sid, limit=args.limit, after=args.after)
    cli.emit(page, json_mode, lambda: _text(page, sid))


def _text(page, sid):
    items = page["items"]
    if not items:
        return f"No messages in {sid}."
    body = []
    for m in items:
        who = "Devin" if m.get("source") == "devin" else "user" if m.get("source") == "user" else str(m.get("source"))
        body.append(f"[{cli.when(m.get('created_at'))}] {who}:\n{m.get('message', '')}\n")
    tail = f"\n(next call: --after {page['end_cursor']})" if page.get("end_cursor") else ""
    return f"{len(items)} message(s) in {sid}:\n" + output.fence("\n".join(body)) + tail


if __name__ == "__main__":
    sys.exit(cli.run(main, build))
