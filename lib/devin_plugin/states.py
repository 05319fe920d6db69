"""The vocabulary of a session's state: which statuses are active, what each means for the user.

Every script and tool names a state with the words of this module (CLASS_LABELS in tables and
headlines, CLASS_WORDS where the user needs to know what to do next), never with its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

ACTIVE_STATUSES = frozenset({"new", "claimed", "running", "suspended", "resuming"})
BILLING_SUSPENSIONS = frozenset({"usage_limit_exceeded", "out_of_credits", "out_of_quota", "no_quota_allocation",
                                 "payment_declined", "org_usage_limit_exceeded", "user_usage_limit_exceeded",
                                 "total_session_limit_exceeded"})
STOP_CLASSES = frozenset({"needs_user", "done_for_now", "asleep", "ended"})

# The short name of each class: a table column, a headline.
CLASS_LABELS = {
    "starting": "starting up",
    "working": "working",
    "needs_user": "waiting for you",
    "done_for_now": "done for now",
    "asleep": "asleep",
    "ended": "ended",
    "unknown": "in an unknown state",
}
# What the user can do about it, after the label.
CLASS_HINTS = {
    "needs_user": "read its messages and answer with a message",
    "done_for_now": "Devin finished its turn; send a message to continue, or archive it",
    "asleep": "suspended; a message wakes it",
}
CLASS_WORDS = {cls: label + (f": {CLASS_HINTS[cls]}" if cls in CLASS_HINTS else "")
               for cls, label in CLASS_LABELS.items()}
# The state inside a sentence ("is already ...", "still ..."), with what a message would do.
CLASS_PHRASES = {"starting": "starting", "working": "working", "needs_user": "waiting for an answer",
                 "done_for_now": "done for now (a message continues it)", "asleep": "asleep (a message wakes it)"}


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


def label(session: Mapping[str, Any]) -> str:
    """The state in a few words of this module (never the API's text): the class, and what qualifies it."""
    cls = status_class(session)
    words = CLASS_LABELS[cls]
    if cls == "needs_user" and session.get("status_detail") == "waiting_for_approval":
        words = "waiting for your approval"
    elif cls == "ended" and session.get("status") == "error":
        words = "ended with an error"
    elif cls == "asleep" and session.get("status_detail") in BILLING_SUSPENSIONS:
        words = "asleep (billing or quota limit)"
    return words + (", archived" if session.get("is_archived") is True else "")


def phrase(session: Mapping[str, Any]) -> str:
    """The state for the middle of a sentence: "a session ... is already asleep (a message wakes it)"."""
    return CLASS_PHRASES.get(status_class(session), "active")


def is_active(session: Mapping[str, Any]) -> bool:
    return session.get("status") in ACTIVE_STATUSES and not session.get("is_archived")
