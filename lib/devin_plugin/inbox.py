"""What needs the user: this principal's sessions (or the org's) that wait for an answer or an approval,
have a pull request to review, are blocked on billing or quota, or failed. Newest first, each with what
to do next. Cheap: the principal, `is_archived=false` and the creation window are filtered server-side,
and at most INBOX_MAX sessions (pages of 200) are read.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from . import ids, routes
from .errors import ApiError, DevinError
from .paging import collect, first_page
from .states import BILLING_SUSPENSIONS, status_class

if TYPE_CHECKING:
    from .http import Client
    from .request import Request

INBOX_MAX = 1_000
QUESTIONS_MAX = 20   # sessions whose last Devin message is read (one list of messages each)
OPEN_PR = (None, "open", "draft")

NEXT = {
    "needs_answer": "answer it: /devin:message {sid} (send_message.py)",
    "needs_approval": "approve or refuse it in the web app, at the session's URL",
    "review_pr": "review the pull request: /devin:review {sid} (pickup.py brings it into a worktree)",
    "blocked": "sort out billing or quota for the organization; a message wakes it afterwards",
    "failed": "read its messages (/devin:messages {sid}); delegate again if the task still matters",
}


def principal_filter(client: Client) -> dict:
    """The list filter for the token's own sessions, from GET /self."""
    me = client.call("GET", routes.SELF, action="inbox").data
    if isinstance(me, dict):
        for key, param in (("service_user_id", "service_user_ids"), ("user_id", "user_ids")):
            if isinstance(me.get(key), str) and ids.RESOURCE_ID.fullmatch(me[key]):
                return {param: [me[key]]}
    raise ApiError("GET /self answered without a usable user or service-user id; use --all for the whole org")


def request(client: Client, *, days: float, principal: dict | None) -> Request:
    params = dict(principal or {}, is_archived="false", created_after=int(time.time() - days * 86400))
    return first_page(client, "GET", routes.SESSIONS, params=params, max_items=INBOX_MAX, action="inbox")


def reason(session: dict) -> str | None:
    """Why this session needs the user, or None. One reason each, the most urgent first."""
    status, detail, cls = session.get("status"), session.get("status_detail"), status_class(session)
    if status == "error" or (status == "exit" and detail == "error"):
        return "failed"
    if status == "suspended" and detail in BILLING_SUSPENSIONS:
        return "blocked"
    if status == "running" and detail == "waiting_for_approval":
        return "needs_approval"
    if cls == "needs_user":
        return "needs_answer"
    prs = session.get("pull_requests")
    if cls in ("done_for_now", "asleep", "ended") and isinstance(prs, list) and any(
            isinstance(p, dict) and p.get("pr_state") in OPEN_PR and isinstance(p.get("pr_url"), str) for p in prs):
        return "review_pr"
    return None


def last_devin_message(client: Client, session_id: str) -> str | None:
    """Devin's newest message, read as the wait reads it (cleaned, then cut)."""
    from .sessions import last_devin, list_messages
    try:
        last = last_devin(list_messages(client, session_id)["items"])
    except DevinError:
        return None
    return last["message"] if last else None


def inbox(client: Client, *, all_sessions: bool = False, days: float = 30, dry_run: bool = False) -> dict:
    principal = None if all_sessions else ({"service_user_ids": ["<from GET /self>"]} if dry_run
                                           else principal_filter(client))
    req = request(client, days=days, principal=principal)
    if dry_run:
        return req.preview(reads_first=None if all_sessions else client.build(
            "GET", routes.SELF, action="inbox").describe())
    page = collect(client, req, max_items=INBOX_MAX)
    items, asked = [], 0
    def newest_first(x: dict) -> float:
        created = x.get("created_at")
        return -created if isinstance(created, (int, float)) and not isinstance(created, bool) else 0.0

    own = (x for x in page["items"] if isinstance(x, dict) and isinstance(x.get("session_id"), str)
           and ids.SESSION_ID.fullmatch(x["session_id"]))  # the id is printed outside any fence
    for s in sorted(own, key=newest_first):
        why = reason(s)
        if why is None:
            continue
        item: dict[str, Any] = {"session_id": s["session_id"], "reason": why, "title": s.get("title"),
                                "status": s.get("status"), "status_detail": s.get("status_detail"),
                                "url": s.get("url"), "created_at": s.get("created_at"),
                                "updated_at": s.get("updated_at"), "pull_requests": s.get("pull_requests") or [],
                                "next": NEXT[why].format(sid=s["session_id"])}
        if why in ("needs_answer", "needs_approval", "failed") and asked < QUESTIONS_MAX:
            asked += 1
            item["last_devin_message"] = last_devin_message(client, s["session_id"])
        items.append(item)
    return {"items": items, "scope": "org" if all_sessions else "mine", "checked": len(page["items"]),
            "complete": not page["has_next_page"], "window_days": days}
