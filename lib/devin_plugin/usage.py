"""ACUs consumed by the organization's sessions created in the last N days: the total and each session.

The source is each session's `acus_consumed`: the official API as recorded in
schemas/devin-api/v3-facts.json has no billing or consumption endpoint, and the result says so. One
read, server-side filtered (`created_after`, `tags`), pages of 200, at most SESSIONS_LIST_MAX sessions
(`complete` is false when that bound cut the list). The total is the exact sum of the items'
`acus_consumed` as the API wrote them (decimal numbers: 0.1 + 0.2 is 0.3), rounded once. A value that
is not a finite number from 0 to ACUS_SESSION_MAX (a string, a boolean, NaN, a negative or an absurd
number from a hostile API) is not summed: the item shows null and why, and the result counts it. Items
of another organization, repeats and items outside the window or the tag are dropped and counted.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from . import routes
from .limits import SESSIONS_LIST_MAX, check_range
from .paging import collect, first_page

if TYPE_CHECKING:
    from .http import Client
    from .request import Request

SOURCE = "sessions' acus_consumed"
SOURCE_NOTE = ("the official API, as recorded in schemas/devin-api/v3-facts.json, has no billing or consumption "
               "endpoint: the total is the sum of each session's acus_consumed")
DAYS_DEFAULT = 7
DAYS_MAX = 365
# One session's plausible most: far above any cap (the policy's max_acu_limit is at most 10,000); a value
# above it is a broken or hostile answer, not spending.
ACUS_SESSION_MAX = 1e9
ITEM_FIELDS = ("session_id", "title", "acus_consumed", "status", "status_detail", "created_at", "tags", "url")


def check_days(days: Any, option: str = "--days") -> float:
    """More than 0 and at most DAYS_MAX (NaN, infinities and booleans refused), naming the option."""
    number = isinstance(days, (int, float)) and not isinstance(days, bool) and math.isfinite(days)
    return check_range(float(days) if number else math.nan, 0, DAYS_MAX, option, low_inclusive=False)


def request(client: Client, *, created_after: int, tag: str | None) -> Request:
    params: dict[str, Any] = {"created_after": created_after}
    if tag:
        params["tags"] = [tag]
    return first_page(client, "GET", routes.SESSIONS, params=params, max_items=SESSIONS_LIST_MAX, action="usage")


def unusable(value: Any) -> str | None:
    """Why an acus_consumed value is not summed, or None when it is a usable number."""
    if value is None:
        return "missing"
    if isinstance(value, bool):
        return "a boolean, not a number"
    if not isinstance(value, (int, float)):
        return "not a number"
    if not math.isfinite(value):
        return "not a finite number"
    if value < 0:
        return "negative"
    if value > ACUS_SESSION_MAX:
        return f"implausibly large (over {ACUS_SESSION_MAX:g})"
    return None


def exact_sum(values: Iterable[float]) -> float:
    """The sum of the numbers as written in JSON (each float's shortest decimal form), computed exactly and
    rounded once: neither the order nor float addition's rounding changes it."""
    return float(sum((Fraction(repr(v)) for v in values), Fraction(0)))


def _outside(session: dict, created_after: int, tag: str | None) -> bool:
    """Provably outside the filters the server was asked for (it should not have sent it)."""
    created = session.get("created_at")
    if isinstance(created, (int, float)) and not isinstance(created, bool) and created < created_after:
        return True
    tags = session.get("tags")
    return bool(tag) and isinstance(tags, list) and tag not in tags


def usage(client: Client, *, days: float = DAYS_DEFAULT, tag: str | None = None, dry_run: bool = False,
          now: float | None = None) -> dict:
    """The usage document (see the module's docstring); a dry run returns the first request only.
    `tag` must have been checked against the policy's tag pattern by the caller."""
    days = check_days(days)
    created_after = int((time.time() if now is None else now) - days * 86400)
    req = request(client, created_after=created_after, tag=tag)
    if dry_run:
        return req.preview()
    page = collect(client, req, max_items=SESSIONS_LIST_MAX)
    return summarise(page, days=days, tag=tag, created_after=created_after)


def summarise(page: dict, *, days: float, tag: str | None, created_after: int) -> dict:
    items: list[dict] = []
    seen: set[str] = set()
    skipped = {"unusable_acus": 0, "foreign_org": int(page.get("dropped_foreign", 0)), "duplicates": 0,
               "outside_filter": 0, "unreadable": 0}
    for s in page["items"]:
        if not isinstance(s, dict) or not isinstance(s.get("session_id"), str):
            skipped["unreadable"] += 1
            continue
        if s["session_id"] in seen:
            skipped["duplicates"] += 1
            continue
        seen.add(s["session_id"])
        if _outside(s, created_after, tag):
            skipped["outside_filter"] += 1
            continue
        item = {k: s.get(k) for k in ITEM_FIELDS}
        why = unusable(s.get("acus_consumed"))
        if why is not None:
            skipped["unusable_acus"] += 1
            item["acus_consumed"] = None
            item["acus_not_summed"] = why
        items.append(item)
    total = exact_sum(i["acus_consumed"] for i in items if i["acus_consumed"] is not None)
    return {"total_acus": total, "items": items, "source": SOURCE, "source_note": SOURCE_NOTE,
            "complete": not page["has_next_page"], "window_days": days, "created_after": created_after,
            "tag": tag, "sessions": len(items), "max_sessions": SESSIONS_LIST_MAX, "skipped": skipped}
