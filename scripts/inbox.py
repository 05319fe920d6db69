#!/usr/bin/env python3
"""What needs you: your Devin sessions that wait for an answer or an approval, have a pull request to
review, are blocked (billing, quota) or failed; newest first, each with what to do next.

Yours are the token's principal's (from GET /self); --all takes the whole organization. Reads only
the sessions created in the last --days days (default 30), unarchived, at most 1,000 of them.
"""

import sys

import _prelude  # noqa: F401
from devin_plugin import cli, inbox
from devin_plugin.output import fence

WORDS = {"needs_answer": "waits for your answer", "needs_approval": "waits for your approval",
         "review_pr": "has a pull request to review", "blocked": "is blocked (billing or quota)",
         "failed": "failed"}


def build() -> cli.Parser:
    p = cli.parser("inbox.py", __doc__)
    p.add_argument("--all", action="store_true", help="the whole organization, not only the token's own sessions")
    p.add_argument("--days", type=float, default=30, metavar="N", help="sessions created in the last N days (30)")
    return p


def show(doc: dict) -> str:
    who = "the organization's" if doc["scope"] == "org" else "your"
    if not doc["items"]:
        text = (f"Nothing needs you among {who} {doc['checked']} unarchived sessions of the last "
                f"{doc['window_days']:g} days.")
    else:
        parts = [f"{len(doc['items'])} of {who} sessions need you (newest first):"]
        for it in doc["items"]:
            parts.append(f"- {it['session_id']} {WORDS[it['reason']]}")
            parts.append(f"  next: {it['next']}")
            data = [f"title: {it.get('title') or ''}", f"url: {it.get('url') or ''}"]
            data += [f"pull request: {pr.get('pr_url')}" for pr in it["pull_requests"] if isinstance(pr, dict)]
            if it.get("last_devin_message"):
                data += ["Devin's last message:", it["last_devin_message"][:2000]]
            parts.append(fence("\n".join(data)))
        text = "\n".join(parts)
    if not doc["complete"]:
        text += f"\n(only the newest {doc['checked']} sessions were read; narrow with --days)"
    return text


def main(inv: cli.Invocation) -> int:
    a = inv.args
    if not 0 < a.days <= 365:
        raise cli.InvalidInput(f"--days {a.days:g}: allowed is more than 0 and at most 365")
    inv.settings()
    doc = inbox.inbox(inv.client(), all_sessions=a.all, days=a.days, dry_run=inv.dry_run)
    return inv.emit_result(doc, lambda: show(doc))


if __name__ == "__main__":
    sys.exit(cli.run(main, build))
