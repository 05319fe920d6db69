#!/usr/bin/env python3
"""ACUs consumed by the organization's Devin sessions created in the last --days days (default 7): the
total and each session, optionally only the sessions with --tag (a batch's tag). Read-only.

The source is each session's acus_consumed (the official API has no billing or consumption endpoint).
Reads at most 10,000 sessions, in pages of 200, filtered by creation time and tag on the server.
"""

import sys

import _prelude  # noqa: F401
from devin_plugin import cli, formatting, output, usage

SKIPPED_WORDS = {
    "unusable_acus": "session(s) whose acus_consumed is not a usable number (a string, a boolean, NaN, negative or "
                     "absurdly large) were not summed; they show '-'",
    "foreign_org": "session(s) of other organizations were dropped",
    "duplicates": "repeated session(s) were counted once",
    "outside_filter": "session(s) outside the window or the tag were dropped",
    "unreadable": "item(s) without a session id were dropped",
}


def build() -> cli.Parser:
    p = cli.parser("usage.py", __doc__)
    p.add_argument("--days", type=float, default=usage.DAYS_DEFAULT, metavar="N",
                   help=f"sessions created in the last N days (more than 0, at most {usage.DAYS_MAX}; default 7)")
    p.add_argument("--tag", metavar="T", help="only sessions with this tag (a batch's tag)")
    return p


def show(doc: dict, org: str) -> str:
    where = f"{org}'s sessions created in the last {doc['window_days']:g} days"
    if doc["tag"]:
        where += f" with tag {formatting.word(doc['tag'])}"
    head = [f"ACUs consumed by {where}: {formatting.acus(doc['total_acus'])} over {doc['sessions']} session(s)"
            + ("" if doc["complete"] else " (at least: see below)"),
            f"source: the {doc['source']}; {doc['source_note']}"]
    parts = ["\n".join(head)]
    if doc["items"]:
        rows = [r[:5] for r in formatting.session_rows(doc["items"])]  # no pull request column
        parts.append(output.fence(formatting.table(formatting.SESSION_COLUMNS[:5], rows)))
    notes = [f"{n} {SKIPPED_WORDS[k]}" for k, n in doc["skipped"].items() if n]
    if not doc["complete"]:
        notes.append(f"only the newest {doc['max_sessions']} sessions were read: the bound cut the list, so the total "
                     "is a lower bound; narrow with --days or --tag")
    if notes:
        parts.append("\n".join(f"warning: {n}" for n in notes))
    return "\n".join(parts)


def main(inv: cli.Invocation) -> int:
    a = inv.args
    usage.check_days(a.days)
    settings = inv.settings()
    if a.tag is not None:
        inv.policy().check("session_tags", {"tags": [a.tag]})
    doc = usage.usage(inv.client(120), days=a.days, tag=a.tag, dry_run=inv.dry_run)
    return inv.emit_result(doc, lambda: show(doc, settings.org_id))


if __name__ == "__main__":
    sys.exit(cli.run(main, build))
