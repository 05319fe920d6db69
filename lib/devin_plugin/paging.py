"""The one paging loop: follow the API's cursors from a first-page request up to a bound.

Every list the plugin reads (sessions, messages, playbooks, notes, secrets, dedup) is this loop
over a request its operation built once; the dry run of that operation prints the same request.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from .errors import ApiError
from .limits import CURSOR_MAX, PAGE_MAX

if TYPE_CHECKING:
    from .http import Client
    from .request import Request


def page_items(data: Any) -> tuple[list, bool, str | None]:
    """(items, has_next_page, end_cursor) of one page, refusing shapes that could loop or lie."""
    if not isinstance(data, dict) or not isinstance(data.get("items"), list):
        raise ApiError("the API answered a list call without an items array")
    cursor = data.get("end_cursor")
    if cursor is not None and (not isinstance(cursor, str) or len(cursor) > CURSOR_MAX):
        raise ApiError("the API answered with an unusable page cursor")
    return data["items"], bool(data.get("has_next_page")) and cursor is not None, cursor


def first_page(client: Client, method: str, template: str, *, params: dict | None = None,
               path: dict | None = None, max_items: int, after: str | None = None, action: str = "") -> Request:
    """The request for the first page: what a dry run shows and what the loop sends first."""
    query = dict(params or {}, first=min(PAGE_MAX, max(1, max_items)))
    if after:
        query["after"] = after
    return client.build(method, template, path=path, params=query, action=action)


def pages(client: Client, first: Request, wanted: Callable[[], int], *, shrink: bool = True,
          stop_on_repeat: bool = False) -> Iterator[tuple[list, bool, str | None]]:
    """Yield (items, has_next, cursor) per page: send `first`, then the same request with the next
    cursor while `wanted()` (how many more items the caller still needs) is positive, asking each
    time for no more than that (or, without `shrink`, for full pages); stops on a repeated cursor."""
    req, seen = first, set()
    while True:
        page, has_next, cursor = page_items(client.send(req).data)
        yield page, has_next, cursor
        more = wanted()
        if not has_next or more <= 0:
            return
        if cursor in seen:
            if stop_on_repeat:  # the caller reports what it got as incomplete instead of failing
                return
            raise ApiError("the API repeated a page cursor; stopped paging")
        seen.add(cursor)
        size = min(PAGE_MAX, more) if shrink else first.params.get("first", PAGE_MAX)
        req = client.derive(req, params={"first": size, "after": cursor})


def collect(client: Client, first: Request, *, max_items: int, org_only: bool = False) -> dict:
    """A bounded page {items, has_next_page, end_cursor, dropped_foreign}: items of other orgs
    (any item with an org_id, or every item when org_only) are dropped and counted, never shown."""
    items: list = []
    dropped, has_next, cursor = 0, False, None
    org = client.settings.org_id
    for page, more, end in pages(client, first, lambda: max_items - len(items)):
        has_next, cursor = more, end
        for item in page:
            if org_only or (isinstance(item, dict) and "org_id" in item):
                if not (isinstance(item, dict) and item.get("org_id") == org):
                    dropped += 1
                    continue
            items.append(item)
    return {"items": items[:max_items], "has_next_page": has_next or len(items) > max_items,
            "end_cursor": cursor if has_next else None, "dropped_foreign": dropped}
