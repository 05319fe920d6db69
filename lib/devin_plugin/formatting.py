"""Readable text for a person or an agent. Pure functions: they build strings; output.py prints.

Everything that came from Devin or the API is cleaned (output.clean) and fenced as untrusted data.
One formatter for sessions, whichever script shows them: a state in the words of states.py, times
local and relative, ACUs and pull request links in the list and in the one-session view, tables
with column headers. --json never comes here: it prints the API's values as they are.
"""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from . import output
from .states import CLASS_HINTS, label, status_class

_WORD = re.compile(r"[A-Za-z0-9_.:@+/=%?&~#,-]+")
# Unix seconds this formatter shows as a date (years 1970-9999); anything else is shown as "?".
_MAX_TS = 253402300799
TITLE_COLUMN_MAX = 60


def word(value: Any, limit: int = 128) -> str:
    """An API value shown outside a fence (a status, an id, a cursor): only a plain word is shown as
    is; anything else could carry text that reads as an instruction or a fence marker, so it is not."""
    text = str(value) if isinstance(value, (str, int)) and not isinstance(value, bool) else ""
    return text if _WORD.fullmatch(text) and len(text) <= limit else "(not shown: not a plain word)"


def _seconds(ts: Any) -> float | None:
    if not isinstance(ts, (int, float)) or isinstance(ts, bool) or not math.isfinite(ts):
        return None
    return float(ts) if 0 <= ts <= _MAX_TS else None


def ago(ts: Any, now: float | None = None) -> str:
    """'3 min ago', 'in 2 h' (a clock ahead of ours), or '?' for anything that is not unix seconds."""
    sec = _seconds(ts)
    if sec is None:
        return "?"
    delta = (time.time() if now is None else now) - sec
    span = abs(delta)
    if span < 45:
        return "just now"
    if span < 5400:
        text = f"{max(1, round(span / 60))} min"
    elif span < 48 * 3600:
        text = f"{round(span / 3600)} h"
    else:
        text = f"{round(span / 86400)} days"
    return f"{text} ago" if delta > 0 else f"in {text}"


def local_time(ts: Any) -> str:
    """'2026-12-03 16:40 local', or '?'."""
    sec = _seconds(ts)
    if sec is None:
        return "?"
    try:
        return time.strftime("%Y-%m-%d %H:%M", time.localtime(sec)) + " local"
    except (OverflowError, OSError, ValueError):
        return "?"


def when(ts: Any, now: float | None = None) -> str:
    """'2026-12-03 16:40 local (3 min ago)': never raw epoch seconds."""
    shown = local_time(ts)
    return shown if shown == "?" else f"{shown} ({ago(ts, now)})"


def acus(value: Any) -> str:
    """ACUs consumed, at most two decimals ('-' when the API gave none)."""
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
        return "-"
    if abs(value) >= 1e9:
        return f"{value:.3g}"
    return f"{value:.2f}".rstrip("0").rstrip(".") or "0"


def state(session: Mapping[str, Any]) -> str:
    """The state line of the one-session view: its label, then what the user can do about it."""
    cls = status_class(session)
    hint = CLASS_HINTS.get(cls)
    if session.get("is_archived") is True and cls != "ended":
        hint = "archived: unarchive it before a message can wake it"
    return label(session) + (f": {hint}" if hint else "")


def _one_line(value: Any, limit: int | None = None) -> str:
    """A table cell: API text on one line (a newline would start a row of its own), cut to `limit`."""
    text = " ".join(str(value).split())
    if limit is not None and len(text) > limit:
        text = text[: limit - 3] + "..."
    return text


def _pull_requests(s: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    prs = s.get("pull_requests")
    return [pr for pr in prs if isinstance(pr, dict) and isinstance(pr.get("pr_url"), str)] \
        if isinstance(prs, list) else []


def _pr_cell(s: Mapping[str, Any]) -> str:
    prs = _pull_requests(s)
    if not prs:
        return "-"
    first = prs[0]
    text = first["pr_url"] + (f" ({first['pr_state']})" if first.get("pr_state") else "")
    return _one_line(text + (f" (+{len(prs) - 1} more)" if len(prs) > 1 else ""), 200)


def table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """Columns padded to their widest cell, the last one not (a long URL or title ends the line)."""
    body = [list(headers), *(list(r) for r in rows)]
    widths = [max(len(r[i]) for r in body) for i in range(len(headers) - 1)]
    return "\n".join("  ".join([*(c.ljust(w) for c, w in zip(r[:-1], widths, strict=True)), r[-1]]).rstrip()
                     for r in body)


def session_lines(s: Mapping[str, Any]) -> list[str]:
    s = output.clean(s)  # credential query parameters cut from URLs in text mode too (audit H3)
    lines = [f"session: {s.get('session_id')}", f"title: {s.get('title') or '(none)'}",
             "status: " + str(s.get("status")) + (f" ({s.get('status_detail')})" if s.get("status_detail") else "")]
    lines.append(f"url: {s.get('url') or '(none)'}")
    lines.append(f"created: {when(s.get('created_at'))}")
    lines.append(f"updated: {when(s.get('updated_at'))}")
    lines.append(f"ACUs used: {acus(s.get('acus_consumed'))}")
    if s.get("tags"):
        lines.append("tags: " + ", ".join(map(str, s["tags"])))
    for pr in _pull_requests(s):
        lines.append(f"pull request: {pr['pr_url']}" + (f" ({pr['pr_state']})" if pr.get("pr_state") else ""))
    if s.get("is_archived"):
        lines.append("archived: yes")
    if s.get("structured_output") is not None:
        lines.append("structured output: " + json.dumps(s["structured_output"], ensure_ascii=False)[:2000])
    return lines


def show_session(s: Mapping[str, Any], headline: str) -> str:
    return f"{headline}\nstate: {state(s)}\n" + output.fence("\n".join(session_lines(s)))


SESSION_COLUMNS = ("SESSION", "STATE", "CREATED", "ACUS", "TITLE", "PULL REQUEST")


def session_rows(items: Iterable[Any]) -> list[list[str]]:
    rows = []
    for s in output.clean(list(items)):
        if not isinstance(s, dict):
            continue
        rows.append([_one_line(s.get("session_id"), 60), label(s), ago(s.get("created_at")),
                     acus(s.get("acus_consumed")), _one_line(s.get("title") or "(no title)", TITLE_COLUMN_MAX),
                     _pr_cell(s)])
    return rows


def session_table(items: Iterable[Any]) -> str:
    """Sessions as a fenced table with column headers (titles and links are the API's text)."""
    return output.fence(table(SESSION_COLUMNS, session_rows(items)))


def show_sessions(page: Mapping[str, Any], org: str) -> str:
    items = page["items"]
    if not items:
        return f"No sessions found in {org}."
    head = f"{len(items)} session(s) in {org}, newest first" + (" (more exist)" if page["has_next_page"] else "")
    return head + "\n" + session_table(items)


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


def _cell(field: str, value: Any) -> str:
    if value is None:
        return "-"
    if field.endswith("_at") and _seconds(value) is not None:
        return ago(value)
    if isinstance(value, list):
        return _one_line(", ".join(map(str, value)), 200) or "-"
    return _one_line(value, 200)


def show_items(title: str, items: list, fields: Iterable[str]) -> str:
    if not items:
        return f"No {title} found."
    fields = list(fields)
    items = output.clean(items)
    rows = [[_cell(f, it.get(f)) for f in fields] for it in items if isinstance(it, dict)]
    return f"{len(items)} {title}:\n" + output.fence(table([f.upper().replace("_", " ") for f in fields], rows))


def show_object(headline: str, obj: Mapping[str, Any] | None) -> str:
    lines = []
    for key, value in output.clean(obj or {}).items():
        if key.endswith("_at") and _seconds(value) is not None:
            text = when(value)
        else:
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
