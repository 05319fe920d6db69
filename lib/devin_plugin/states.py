"""The vocabulary of a session's state: which statuses are active, what each means for the user."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

ACTIVE_STATUSES = frozenset({"new", "claimed", "running", "suspended", "resuming"})
BILLING_SUSPENSIONS = frozenset({"usage_limit_exceeded", "out_of_credits", "out_of_quota", "no_quota_allocation",
                                 "payment_declined", "org_usage_limit_exceeded", "user_usage_limit_exceeded",
                                 "total_session_limit_exceeded"})
STOP_CLASSES = frozenset({"needs_user", "done_for_now", "asleep", "ended"})

CLASS_WORDS = {
    "starting": "starting up",
    "working": "working",
    "needs_user": "waiting for you: read its messages and answer with a message",
    "done_for_now": "done for now: Devin finished its turn; send a message to continue, or archive it",
    "asleep": "asleep (suspended): a message wakes it",
    "ended": "ended",
    "unknown": "in an unknown state",
}


def status_class(session: Mapping[str, Any]) -> str:
    """devin-api.md's classes: starting, working, needs_user, done_for_now, asleep, ended."""
    status, detail = session.get("status"), session.get("status_detail")
    if status in ("new", "claimed", "resuming"):
        return "starting"
    if status == "running":
        if detail in ("waiting_for_user", "waiting_for_approval"):
            return "needs_user"
        if detail == "finished":
            return "done_for_now"
        return "working"
    if status == "suspended":
        return "asleep"
    if status in ("exit", "error"):
        return "ended"
    return "unknown"


def is_active(session: Mapping[str, Any]) -> bool:
    return session.get("status") in ACTIVE_STATUSES and not session.get("is_archived")
