"""Readable text for a person or an agent. Pure functions: they build strings; output.py prints.

Everything that came from Devin or the API is cleaned (output.clean) and fenced as untrusted data.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterable, Mapping
from typing import Any

from . import output
from .states import CLASS_WORDS, status_class


_WORD = re.compile(r"[A-Za-z0-9_.:@+/=%?&~#,-]+")


def word(value: Any, limit: int = 128) -> str:
    """An API value shown outside a fence (a status, an id, a cursor): only a plain word is shown as
    is; anything else could carry text that reads as an instruction or a fence marker, so it is not."""
    text = str(value) if isinstance(value, (str, int)) and not isinstance(value, bool) else ""
    return text if _WORD.fullmatch(text) and len(text) <= limit else "(not shown: not a plain word)"


def when(ts: Any) -> str:
    if not isinstance(ts, (int, float)) or isinstance(ts, bool):
        return "?"
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(ts))


def session_lines(s: Mapping[str, Any]) -> list[str]:
    s = output.clean(s)  # credential query parameters cut from URLs in text mode too (audit H3)
    lines = [f"session: {s.get('session_id')}", f"title: {s.get('title') or '(none)'}",
             "status: " + str(s.get("status")) + (f" ({s.get('status_detail')})" if s.get("status_detail") else "")]
    lines.append(f"url: {s.get('url')}")
    lines.append(f"created: {when(s.get('created_at'))}; updated: {when(s.get('updated_at'))}; "
                 f"ACUs used: {s.get('acus_consumed', '?')}")
    if s.get("tags"):
        lines.append("tags: " + ", ".join(map(str, s["tags"])))
    for pr in s.get("pull_requests") or []:
        if isinstance(pr, dict):
            lines.append(f"pull request: {pr.get('pr_url')}" + (f" ({pr['pr_state']})" if pr.get("pr_state") else ""))
    if s.get("is_archived"):
        lines.append("archived: yes")
    if s.get("structured_output") is not None:
        lines.append("structured output: " + json.dumps(s["structured_output"], ensure_ascii=False)[:2000])
    return lines


def show_session(s: Mapping[str, Any], headline: str) -> str:
    cls = status_class(s)
    return f"{headline}\nstate: {CLASS_WORDS.get(cls, cls)}\n" + output.fence("\n".join(session_lines(s)))


def show_sessions(page: Mapping[str, Any], org: str) -> str:
    items = page["items"]
    if not items:
        return f"No sessions found in {org}."
    head = f"{len(items)} session(s) in {org}, newest first" + (" (more exist)" if page["has_next_page"] else "")
    rows = []
    for s in items:
        state = str(s.get("status")) + (f"/{s.get('status_detail')}" if s.get("status_detail") else "")
        rows.append(f"{s.get('session_id')}  {state:<24} {when(s.get('created_at'))}  {s.get('title') or ''}")
    return head + "\n" + output.fence("\n".join(rows))


def show_messages(page: Mapping[str, Any], sid: str) -> str:
    items = page["items"]
    if not items:
        return f"No messages in {sid}."
    body = []
    for m in items:
        who = "Devin" if m.get("source") == "devin" else "user" if m.get("source") == "user" else str(m.get("source"))
        body.append(f"[{when(m.get('created_at'))}] {who}:\n{m.get('message', '')}\n")
    cursor = page.get("end_cursor")
    tail = ""
    if cursor:
        shown = word(cursor, 2048)
        tail = (f"\n(next call: --after {shown})" if shown == cursor
                else "\n(the API's cursor is not a plain word; use --json to read it)")
    return f"{len(items)} message(s) in {sid}:\n" + output.fence("\n".join(body)) + tail


def show_items(title: str, items: list, fields: Iterable[str]) -> str:
    if not items:
        return f"No {title} found."
    items = output.clean(items)
    rows = ["  ".join("-" if it.get(f) is None else str(it.get(f)) for f in fields)
            for it in items if isinstance(it, dict)]
    return f"{len(items)} {title}:\n" + output.fence("\n".join(rows))


def show_object(headline: str, obj: Mapping[str, Any] | None) -> str:
    lines = []
    for key, value in output.clean(obj or {}).items():
        text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        lines.append(f"{key}: {text}")
    return headline + "\n" + output.fence("\n".join(lines))


def _request_lines(req: Mapping[str, Any], indent: str = "  ") -> list[str]:
    lines = [f"{indent}{req['method']} {req['url']}"]
    for k, v in req.get("headers", {}).items():
        lines.append(f"{indent}{k}: {v}")
    if req.get("params"):
        lines.append(f"{indent}query: " + json.dumps(req["params"], ensure_ascii=False))
    if "body" in req:
        lines.append(f"{indent}body: " + json.dumps(req["body"], ensure_ascii=False, indent=2)
                     .replace("\n", "\n" + indent))
    if req.get("file"):
        lines.append(f"{indent}file: " + json.dumps(req["file"], ensure_ascii=False))
    return lines


def show_dry_run(doc: Mapping[str, Any]) -> str:
    lines = ["dry run: nothing was sent. The request would be:", *_request_lines(doc["request"])]
    if doc.get("reads_first"):
        read = doc["reads_first"]
        lines.append(f"  (first it would read {read['method']} {read['url']}"
                     + (f" and copy {', '.join(doc['copied_from_current'])} from the current object into the body"
                        if doc.get("copied_from_current") else " and compute the body from the answer") + ")")
    if doc.get("dedup"):
        lines.append(f"  (first, an active session titled {doc['dedup']['title']!r} from the last "
                     f"{doc['dedup']['window_days']:g} days would be looked for and returned instead)")
    return "\n".join(lines)
