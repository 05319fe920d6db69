"""Session operations, callable in process (scripts, MCP server) on a Client and a Policy.

Each operation builds its request once: with dry_run it returns that request's preview and sends
nothing; otherwise it sends exactly that request (plus the reads and fallbacks it documents).
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from . import dedup, ids, routes
from .dedup import Note, _own, _quiet  # one definition of each, shared with dedup
from .errors import ApiError, AuthError, DevinError, InvalidInput, NotFound, RateLimited, UnknownOutcome
from .limits import MESSAGES_LIST_MAX, SESSIONS_LIST_MAX
from .paging import collect, first_page, page_items, pages
from .formatting import word
from .states import BILLING_SUSPENSIONS, STOP_CLASSES, is_active, phrase, status_class

if TYPE_CHECKING:
    from .http import Client
    from .policy import Policy
    from .request import Request

__all__ = ["get_session", "list_sessions", "list_messages", "create_session", "send_message", "terminate",
           "archive", "unarchive_session", "list_attachments", "get_tags", "update_tags", "wait", "status_class",
           "is_active"]


# -- reading -------------------------------------------------------------------------------------

def get_session(client: Client, session_id: str, *, dry_run: bool = False) -> dict:
    """GET one session; some principals get 403/404 there yet see it through the filtered list."""
    req = client.build("GET", routes.SESSION, path={"devin_id": session_id}, action="get_session")
    if dry_run:
        return req.preview()
    try:
        session = client.send(req).data
    except (NotFound, AuthError) as first:
        page = client.call("GET", routes.SESSIONS, params={"session_ids": [session_id], "first": 1},
                           action="get_session").data
        items, _, _ = page_items(page)
        found = [s for s in items if isinstance(s, dict) and s.get("session_id") == session_id and _own(client, s)]
        if not found:
            raise first from None
        session = found[0]
    if not isinstance(session, dict) or str(session.get("session_id", "")).lower() != session_id:
        raise ApiError("the API answered with something that is not this session")
    if session.get("org_id") not in (None, client.settings.org_id):
        raise NotFound(f"session {session_id} is not in organization {client.settings.org_id}")
    return session


def list_sessions(client: Client, *, limit: int = 10, fetch_all: bool = False, tags: Any = (),
                  created_after: int | None = None, created_before: int | None = None, enterprise: bool = False,
                  dry_run: bool = False) -> dict:
    params: dict = {}
    if tags:
        params["tags"] = list(tags)
    if created_after is not None:
        params["created_after"] = int(created_after)
    if created_before is not None:
        params["created_before"] = int(created_before)
    if enterprise:
        # Without org_ids the enterprise list returns every org's sessions.
        params["org_ids"] = [client.settings.org_id]
    max_items = SESSIONS_LIST_MAX if fetch_all else limit
    req = first_page(client, "GET", routes.ENT_SESSIONS if enterprise else routes.SESSIONS, params=params,
                     max_items=max_items, action="list_sessions")
    if dry_run:
        return req.preview()
    return collect(client, req, max_items=max_items, org_only=enterprise)


def list_messages(client: Client, session_id: str, *, limit: int | None = None, after: str | None = None,
                  max_items: int = MESSAGES_LIST_MAX, new: bool = False, remember: bool = False,
                  dry_run: bool = False, note: Note = _quiet) -> dict:
    """Oldest first; `limit` keeps the last N. The end cursor is the last one seen, so a later call
    with `after` continues where this one stopped. `new` keeps only the messages after the last one
    this machine showed for this org and session; `remember` records the newest one returned as shown
    (a display does; an internal read, such as wait's, must not)."""
    if new and after is not None:
        raise InvalidInput("--new and --after exclude each other (MCP: new and after): --new continues after the "
                           "last message shown on this machine, --after after a cursor. Nothing was sent.")
    req = first_page(client, "GET", routes.SESSION_MESSAGES, path={"devin_id": session_id}, max_items=max_items,
                     after=after, action="list_messages")
    if dry_run:
        return req.preview()
    items: list = []
    cursor, has_next = after, False
    for page, more, new_cursor in pages(client, req, lambda: max_items - len(items)):
        has_next = more
        items.extend(page)
        if new_cursor:
            cursor = new_cursor
    from . import seen
    state_dir, org = client.settings.state_dir, client.settings.org_id
    shown_before = 0
    if new:
        items, shown_before = seen.after(items, seen.load(state_dir, org, session_id, note))
    if limit is not None:
        items = items[-limit:] if limit else []
    if remember and items:
        seen.save(state_dir, org, session_id, items[-1], note)
    result = {"items": items, "has_next_page": has_next, "end_cursor": cursor}
    return dict(result, new_only=True, shown_before=shown_before) if new else result


# -- creating ------------------------------------------------------------------------------------

def create_session(client: Client, policy: Policy, payload: dict, *, force_new: bool = False,
                   follow_up: bool = False, dedup_days: float = 7, settle_s: float = 2.0, dry_run: bool = False,
                   note: Note = _quiet) -> dict:
    """Create a session unless an active one with the same title exists; never create twice, never
    drop a task: the same title with a different prompt is refused unless `follow_up` (send the
    prompt to that session) or `force_new` (create another)."""
    if force_new and follow_up:
        raise InvalidInput("--force-new and --follow-up exclude each other: --force-new creates a second session, "
                           "--follow-up sends the prompt to the existing one. Nothing was sent.")
    payload, filled = policy.apply_create_defaults(dict(payload))  # the user's policy: a default ACU cap
    for line in filled:
        note(line)
    derived = not payload.get("title") and isinstance(payload.get("prompt"), str)
    if derived:
        payload["title"] = dedup.derive_title(payload["prompt"], policy.limit("title_max_chars"))
    policy.check("session_create", payload)
    body = dedup.with_tags(payload)
    if len(body["tags"]) > policy.limit("tags_max"):
        raise InvalidInput(f"too many tags: {len(payload.get('tags') or [])} given, and the plugin adds two for "
                           f"dedup ({', '.join(body['tags'][-2:])}); give at most {policy.limit('tags_max') - 2}. "
                           "Nothing was sent.")
    policy.check("session_create", body)
    from . import resources
    if not dry_run:
        client.ready_to_write()
    resources.check_ids_exist(client, payload, dry_run, note)
    req = client.build("POST", routes.SESSIONS, body=body, action="create_session")  # a POST is never repeated
    title, prompt = payload["title"], payload["prompt"]
    since = int(time.time() - dedup_days * 86400)
    if dry_run:
        look = None if force_new else {"title": title, "window_days": dedup_days, "follow_up": follow_up,
                                       "looks_up": dedup.tag_request(client, title, since).describe()}
        return req.preview(dedup=look)
    client.ready_to_write()
    started = time.time()
    from .locks import title_lock
    with title_lock(client.settings.state_dir, client.settings.org_id, dedup.normal_title(title),
                    client.remaining()):
        if not force_new:
            search = dedup.find(client, title, since=since)
            if search.found:
                return _existing(client, policy, search.found, payload, derived=derived, follow_up=follow_up,
                                 since=since, settle_s=settle_s, note=note)
            for gap in search.gaps:
                note(f"dedup: {gap}")
        session, attempts, tagged = _send_create(client, req, payload, started, note)
    if not isinstance(session, dict) or not ids.SESSION_ID.fullmatch(str(session.get("session_id"))):
        raise ApiError("the API answered the create without a usable session id")
    if force_new:
        if attempts > 1:  # an earlier attempt may have made one too: only this call's own, same principal
            swept = dedup.sweep_own(client, title, prompt, session, since=started, tagged=tagged, note=note)
            if swept:
                return dict(session, is_new_session=True, duplicates_ended=swept)
        return dict(session, is_new_session=True)
    return dedup.converge(client, title, prompt, session, since=since, tagged=tagged, settle_s=settle_s, note=note,
                          sweep_since=started if attempts > 1 else None)


def _existing(client: Client, policy: Policy, found: list[dict], payload: dict, *, derived: bool, follow_up: bool,
              since: int, settle_s: float, note: Note) -> dict:
    """Active sessions with this title exist: return the one with the same task, send the prompt to the
    earliest with --follow-up, or refuse (nothing created or sent) rather than drop the task."""
    title, prompt = payload["title"], payload["prompt"]
    unknown = False
    for s in found:
        same = dedup.same_task(client, s, prompt)
        if same:
            s = dedup.earliest_if_young(client, title, prompt, s, since=since, tagged=True, settle_s=settle_s)
            note(f"a session with this title and task is already {phrase(s)} ({word(s.get('session_id'))}); "
                 "returning it instead of creating another (--force-new creates another)")
            return dict(s, is_new_session=False)
        unknown = unknown or same is None
    target = found[0]
    sid = target["session_id"]
    if follow_up:
        message = {"message": prompt}
        if payload.get("attachment_urls"):
            message["attachment_urls"] = payload["attachment_urls"]
        unsent = sorted(k for k in payload if k not in ("prompt", "title", "tags", "attachment_urls"))
        if unsent:
            note("--follow-up sends the prompt as a message; these fields apply only to a new session and were "
                 f"not sent: {', '.join(unsent)}")
        note(f"sending the prompt to the session with this title ({sid}, {phrase(target)}) as a message")
        send_message(client, policy, sid, message, note=note)
        return dict(get_session(client, sid), is_new_session=False, followed_up=True)
    why = "whose task could not be read" if unknown and len(found) == 1 else "with a different task"
    origin = " (the title was taken from the prompt's first words)" if derived else ""
    raise InvalidInput(
        f"a session with the title {title!r}{origin} is already {phrase(target)}: {sid}, {why}. Nothing was "
        "created or sent. To send this prompt to that session as a message, run again with --follow-up "
        "(MCP: follow_up: true); to start a second session with the same title, --force-new (MCP: force_new: "
        "true); or give this task its own --title.")


def _tags_refused(err: DevinError) -> bool:
    """An organization can restrict tags; its refusal of the create names them."""
    return err.http_status in (400, 403, 422) and bool(re.search(r"\btags?\b", err.message, re.I))


def _send_create(client: Client, req: Request, payload: dict, started: float, note: Note) -> tuple[Any, int, bool]:
    """Send the create: (session, attempts, whether it carries the dedup tags). An organization that
    refuses the tags gets the caller's payload without them, and dedup then scans."""
    title, prompt = payload["title"], payload["prompt"]
    tagged = True
    for _ in range(2):
        try:
            resp = client.send(req)
            return resp.data, resp.attempts, tagged
        except UnknownOutcome as err:
            return dedup.reconcile_create(client, title, prompt, started, err, note, tagged=tagged), 2, tagged
        except RateLimited as err:
            # Every attempt was answered 429, but a 429 can come after the server committed the create:
            # look before answering, and keep the one that survives if any was made.
            return _after_rate_limit(client, title, prompt, started, err, note, tagged=tagged), 2, tagged
        except DevinError as err:
            if not tagged or not _tags_refused(err):
                raise
            note(f"this organization refused the dedup tags ({err.message}); creating the session without them. "
                 "Dedup then finds it by scanning the newest sessions instead of by its tag.")
            tagged = False
            req = client.build("POST", routes.SESSIONS, body=dedup.without_tags(payload), action="create_session",
                               safe_to_repeat=False)
    raise AssertionError("unreachable")


# -- changing ------------------------------------------------------------------------------------

def _after_rate_limit(client: Client, title: str, prompt: str, started: float, err: RateLimited, note: Note, *,
                      tagged: bool) -> dict:
    found = dedup.made_since(client, title, prompt, started, tagged=tagged)
    if not found:
        raise err
    note(f"the create was answered 429, but a session with this title was made meanwhile "
         f"({word(found.get('session_id'))}); keeping it")
    return found


def _route_missing(err: DevinError) -> bool:
    """FastAPI answers an unknown route with exactly {"detail": "Not Found"}, or 405 for a wrong method."""
    return (err.http_status == 405 or
            (isinstance(err, NotFound) and err.message.rstrip().endswith(": Not Found")))


def send_message(client: Client, policy: Policy, session_id: str, payload: dict, *, dry_run: bool = False,
                 unarchive: bool = False, note: Note = _quiet) -> dict:
    """Send a message. An archived session takes a message but is not woken by it, so one is refused
    unless `unarchive`, which unarchives it first (the dry run names that request too)."""
    policy.check("session_message", payload)
    req = client.build("POST", routes.SESSION_MESSAGES, path={"devin_id": session_id}, body=payload,
                       action="send_message", safe_to_repeat=False)
    if dry_run:
        extra = {"unarchive_first": _unarchive_request(client, session_id).describe()} if unarchive else {}
        return req.preview(**extra)
    client.ready_to_write()
    session = get_session(client, session_id)
    if status_class(session) == "ended":
        raise InvalidInput(f"session {session_id} has ended (status {session.get('status')}); a message "
                           "cannot reach it. Nothing was sent.")
    if session.get("is_archived"):
        if not unarchive:
            raise InvalidInput(f"session {session_id} is archived: it would take the message but not wake up. "
                               "Nothing was sent. Pass --unarchive (MCP: unarchive: true) to unarchive it first.")
        note(f"unarchiving {session_id} first")
        session = unarchive_session(client, session_id)
    if session.get("status") == "suspended" and session.get("status_detail") in BILLING_SUSPENSIONS:
        note(f"session is suspended for {session.get('status_detail')}; the message will not wake it until "
             "billing or quota is sorted out")
    started = time.time()
    try:
        result = client.send(req).data
    except UnknownOutcome as err:
        return _reconcile_message(client, session_id, payload["message"], started, err, note)
    except AuthError as err:
        if err.http_status != 403:
            raise
        result = _message_enterprise(client, session_id, payload, err, note)
    except DevinError as err:
        if not _route_missing(err):
            raise
        result = _message_enterprise(client, session_id, payload, err, note)
    return result if isinstance(result, dict) else session


def _message_enterprise(client: Client, session_id: str, payload: dict, first_error: DevinError,
                        note: Note) -> Any:
    """Fall back to enterprise scope only for a session confirmed to belong to the configured org."""
    try:
        ent = client.call("GET", routes.ENT_SESSION, path={"devin_id": session_id},
                          params={"org_id": client.settings.org_id}, action="send_message").data
    except DevinError:
        raise first_error from None
    if not _own(client, ent):
        raise NotFound(f"session {session_id} does not belong to organization {client.settings.org_id}; "
                       "nothing was sent")
    note("organization scope refused the message; sending it at enterprise scope for this org's session")
    body = {k: payload[k] for k in ("message", "attachment_urls") if k in payload}  # the enterprise body's fields
    req = client.build("POST", routes.ENT_SESSION_MESSAGES, path={"devin_id": session_id},
                       body=body, action="send_message", safe_to_repeat=False)
    return client.send(req).data


def _reconcile_message(client: Client, session_id: str, text: str, started: float, err: UnknownOutcome,
                       note: Note) -> dict:
    note("the message's answer was lost; checking whether it arrived...")
    try:
        msgs = list_messages(client, session_id, max_items=2000)["items"]
    except DevinError:
        msgs = []
    for m in reversed(msgs):
        if (isinstance(m, dict) and m.get("source") == "user" and m.get("message") == text
                and (not isinstance(m.get("created_at"), (int, float)) or m["created_at"] >= started - 120)):
            note("the message arrived")
            return get_session(client, session_id)
    raise UnknownOutcome(err.message + ". The message is not in the session yet: check with "
                         "list_messages.py before sending it again.", http_status=err.http_status)


def terminate(client: Client, session_id: str, *, archive: bool = False, dry_run: bool = False) -> dict:
    params = {"archive": "true"} if archive else {}
    req = client.build("DELETE", routes.SESSION, path={"devin_id": session_id}, params=params,
                       action="terminate_session")
    if dry_run:
        return req.preview()
    client.ready_to_write()
    before = get_session(client, session_id)
    if status_class(before) == "ended":
        return dict(before, outcome="already_ended")
    after = client.send(req).data
    if not isinstance(after, dict):
        after = get_session(client, session_id)
    if status_class(after) != "ended":
        after = get_session(client, session_id)
    if status_class(after) != "ended":
        raise ApiError(f"the API accepted the terminate but the session is still {after.get('status')}")
    return dict(after, outcome="terminated")


def archive(client: Client, session_id: str, *, dry_run: bool = False) -> dict:
    req = client.build("POST", routes.SESSION_ARCHIVE, path={"devin_id": session_id}, action="archive_session",
                       safe_to_repeat=True)  # archiving twice has the same effect as once
    if dry_run:
        return req.preview()
    client.ready_to_write()
    before = get_session(client, session_id)
    if before.get("is_archived"):
        return dict(before, outcome="already_archived")
    after = client.send(req).data
    if not isinstance(after, dict) or "is_archived" not in after:
        after = get_session(client, session_id)
    if not after.get("is_archived"):
        raise ApiError("the API accepted the archive but the session is not archived")
    return dict(after, outcome="archived")


def _unarchive_request(client: Client, session_id: str) -> Request:
    return client.build("POST", routes.SESSION_UNARCHIVE, path={"devin_id": session_id},
                        action="unarchive_session", safe_to_repeat=True)  # twice has the effect of once


def unarchive_session(client: Client, session_id: str, *, dry_run: bool = False) -> dict:
    req = _unarchive_request(client, session_id)
    if dry_run:
        return req.preview()
    client.ready_to_write()
    before = get_session(client, session_id)
    if not before.get("is_archived"):
        return dict(before, outcome="not_archived")
    after = client.send(req).data
    if not isinstance(after, dict) or "is_archived" not in after:
        after = get_session(client, session_id)
    if after.get("is_archived"):
        raise ApiError("the API accepted the unarchive but the session is still archived")
    return dict(after, outcome="unarchived")


# -- attachments ---------------------------------------------------------------------------------

def list_attachments(client: Client, session_id: str, *, dry_run: bool = False) -> dict:
    """The session's files (Devin's output and the user's). The API answers a bare array (some
    reference pages show {items}); both are accepted, and the answer is {items: [...]}."""
    req = client.build("GET", routes.SESSION_ATTACHMENTS, path={"devin_id": session_id}, action="list_attachments")
    if dry_run:
        return req.preview()
    data = client.send(req).data
    items = data.get("items") if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise ApiError("the API answered the attachments call without a list")
    return {"items": [a for a in items if isinstance(a, dict)]}


# -- tags ----------------------------------------------------------------------------------------

def get_tags(client: Client, session_id: str, *, dry_run: bool = False) -> dict:
    req = client.build("GET", routes.SESSION_TAGS, path={"devin_id": session_id}, action="get_tags")
    if dry_run:
        return req.preview()
    data = client.send(req).data
    tags = data.get("tags") if isinstance(data, dict) else None
    if not isinstance(tags, list):
        raise ApiError("the API answered the tags call without a tags array")
    return {"tags": tags}


CURRENT_TAGS = "<current tags, adjusted>"


def update_tags(client: Client, policy: Policy | None, session_id: str, *, add: Any = (), remove: Any = (),
                replace: list | None = None, dry_run: bool = False) -> dict:
    """add only: POST (append); replace: PUT; remove or add+remove: read, compute, PUT. No change
    asked for: list them (GET)."""
    add, remove = list(dict.fromkeys(add)), list(dict.fromkeys(remove))
    if replace is not None and (add or remove):
        raise InvalidInput("--set replaces all tags; it cannot be combined with --add or --remove")
    if not add and not remove and replace is None:
        return get_tags(client, session_id, dry_run=dry_run)
    assert policy is not None, "a tag change needs the policy"
    for group in (add, remove, replace or []):
        if group:
            policy.check("session_tags", {"tags": group})
    new: Any
    if replace is not None:
        # Read first: --set keeps the dedup tags (a session without them is found only by dedup's scan);
        # --remove names them to drop them.
        method, new = "PUT", None
    elif add and not remove:
        method, new = "POST", add
    else:
        # Read-modify-write: the body is known only after the read; the dry run says which read.
        method, new = "PUT", None
    req = client.build(method, routes.SESSION_TAGS, path={"devin_id": session_id},
                       body={"tags": new if new is not None else CURRENT_TAGS}, action="update_tags",
                       safe_to_repeat=True)
    if dry_run:
        extra = {} if new is not None else {"reads_first": get_tags(client, session_id, dry_run=True)["request"],
                                            "add": add, "remove": remove}
        if replace is not None:
            extra = dict(extra, set=list(dict.fromkeys(replace)),
                         keeps="the dedup tags (dedup-title-*, dedup-prompt-*)")
            extra.pop("add"), extra.pop("remove")
        return req.preview(**extra)
    client.ready_to_write()
    get_session(client, session_id)  # 404 for a session outside the org before any write
    if new is None:
        current = get_tags(client, session_id)["tags"]
        if replace is not None:
            wanted = list(dict.fromkeys(replace))
            new = wanted + [t for t in current if dedup.is_dedup_tag(t) and t not in wanted]
        else:
            new = [t for t in current if t not in remove] + [t for t in add if t not in current]
        policy.check("session_tags", {"tags": new})
        req.body = {"tags": new}
    try:
        data = client.send(req).data
    except DevinError as err:
        if not _route_missing(err):
            raise
        data = _tags_v1(client, session_id, method, new, err)
    tags = data.get("tags") if isinstance(data, dict) else None
    return {"tags": tags if isinstance(tags, list) else get_tags(client, session_id)["tags"]}


def _tags_v1(client: Client, session_id: str, method: str, tags: list, v3_error: DevinError) -> Any:
    """The legacy fallback, tried only when the v3 route itself is missing."""
    if method == "POST":
        current = get_tags(client, session_id)["tags"]
        tags = current + [t for t in tags if t not in current]
    req = client.build("PUT", routes.V1_TAGS, path={"session_id": session_id}, body={"tags": tags}, version="v1",
                       action="update_tags")
    try:
        return client.send(req).data
    except AuthError as err:
        raise AuthError("the v3 tags endpoint is missing on this API and the legacy v1 endpoint refused the "
                        f"cog_ token ({err.http_status}): v1 accepts only legacy apk_ keys. Tags cannot be "
                        "changed through this deployment's API.", http_status=err.http_status) from None
    except DevinError:
        raise v3_error from None


# -- waiting -------------------------------------------------------------------------------------

HEARTBEAT_S = 55.0               # a line on stderr at least once a minute while nothing changes
EXCERPT_CHARS = 160              # a new Devin message, as one line of progress
LAST_MESSAGE_MAX_CHARS = 8000    # Devin's last message in the result: a question fits, a flood does not


class _Watch:
    """What one wait remembers between polls, and its progress lines."""

    def __init__(self, session_id: str, progress: Note, monotonic: Callable[[], float], since: float | None):
        self.session_id, self.progress, self.monotonic, self.since = session_id, progress, monotonic, since
        self.start = self.last_line = monotonic()
        self.state: tuple[Any, Any] | None = None
        self.session: dict = {}
        self.stale: str | None = None       # why the state shown may be the previous turn's
        self.saw_work = False                # a working state seen during this wait: a later stop is this turn's
        self.devin_wrote = False             # a new Devin message seen during this wait: likewise
        self.known: set[str] | None = None   # the messages seen so far (None before the first read)
        self.unreadable_said = False

    def elapsed(self) -> float:
        return self.monotonic() - self.start

    def say(self, text: str) -> None:
        self.progress(f"[{self.elapsed():6.1f}s] {self.session_id}: {text}")
        self.last_line = self.monotonic()

    def heartbeat(self) -> None:
        if self.stale:
            self.say("still waiting for Devin to pick up the last message")
        else:
            self.say(f"still {phrase(self.session)}; nothing new")


def parse_since(raw: Any, option: str = "--since") -> float:
    """The time a message was sent, in unix seconds: finite, not negative, and not more than a day ahead
    (milliseconds given by mistake would make the wait ignore every state until its timeout)."""
    try:
        value = float(raw) if not isinstance(raw, bool) else math.nan
    except (TypeError, ValueError):
        value = math.nan
    now = time.time()
    if not (math.isfinite(value) and 0 <= value <= now + 86400):
        raise InvalidInput(f"{option} takes the time the message was sent, in unix seconds (now is about "
                           f"{int(now)}); {str(raw)[:40]!r} is not one. Nothing was sent.")
    return value


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _source(message: Any) -> Any:
    return message.get("source") if isinstance(message, dict) else None


def _message_key(index: int, message: Any) -> str:
    event = message.get("event_id") if isinstance(message, dict) else None
    return event if isinstance(event, str) else f"#{index}"  # messages are append-only: a position is stable


def _excerpt(text: Any) -> str:
    """Devin's text as one line of progress: cleaned and masked before it is cut (a cut must never leave
    half a token unmasked), white space folded, short, and quoted if it could pass for a fence marker."""
    from . import output
    if not isinstance(text, str):
        return "(not text)"
    flat = " ".join(output.safe(text).split())
    if len(flat) > EXCERPT_CHARS:
        flat = flat[:EXCERPT_CHARS - 1] + "…"
    return output._inert(flat)  # the fence's own rule for a line that reads as a marker


def last_devin(messages: list | None) -> dict | None:
    """Devin's newest message for the result: cleaned before it is cut, for the same reason as _excerpt."""
    from . import output
    for m in reversed(messages or []):
        if _source(m) == "devin" and isinstance(m.get("message"), str):
            text = output.safe(m["message"])
            out = {k: m[k] for k in ("event_id", "created_at") if k in m}
            out["message"] = text[:LAST_MESSAGE_MAX_CHARS]
            if len(text) > LAST_MESSAGE_MAX_CHARS:
                out["truncated_from_chars"] = len(text)
            return out
    return None


def _poll_messages(client: Client, session_id: str, watch: _Watch) -> list | None:
    """This poll's messages, or None when they cannot be read: the wait then follows the state alone
    (and says so once) rather than fail on what is only a help."""
    try:
        return list_messages(client, session_id)["items"]
    except DevinError as err:
        if not watch.unreadable_said:
            watch.say(f"cannot read the messages ({err.kind}); following the state only")
            watch.unreadable_said = True
        return None


def _observe(watch: _Watch, session: dict, messages: list | None) -> None:
    """A line when the state changes and one per new Devin message (API words outside a fence: plain
    words, or a cleaned, one-line excerpt marked as Devin's)."""
    watch.session = session
    cls = status_class(session)
    watch.saw_work = watch.saw_work or cls in ("starting", "working")
    state = (session.get("status"), session.get("status_detail"))
    if state != watch.state:
        watch.say(f"{word(state[0])}" + (f" ({word(state[1])})" if state[1] else "") + f" - {cls.replace('_', ' ')}")
        watch.state = state
    if messages is None:
        return
    keys = [_message_key(i, m) for i, m in enumerate(messages)]
    if watch.known is not None:
        for key, m in zip(keys, messages, strict=True):
            if key not in watch.known and _source(m) == "devin":
                watch.devin_wrote = True
                watch.say(f"new message from Devin (untrusted, excerpt): \u201c{_excerpt(m.get('message'))}\u201d")
    watch.known = (watch.known or set()) | set(keys)


def _user_spoke_last(messages: list) -> bool:
    """Devin has written before and a user message came after its last one: Devin owes an answer."""
    last = {"devin": -1, "user": -1}
    for i, m in enumerate(messages):
        if _source(m) in last:
            last[_source(m)] = i
    return last["devin"] >= 0 and last["user"] > last["devin"]


def _stale(watch: _Watch, session: dict, messages: list | None) -> str | None:
    """Why a stop state may be the previous turn's, still shown right after a message was sent (None:
    it is this turn's). Only "needs you" and "done for now" can be left over: ended is final, and asleep
    is the state a message wakes."""
    if status_class(session) not in ("needs_user", "done_for_now") or watch.saw_work or watch.devin_wrote:
        return None
    if watch.since is not None:
        updated = _number(session.get("updated_at"))
        if updated is not None and updated < watch.since:
            return "nothing has changed since the message was sent"
        if messages is not None and not any(_source(m) == "devin" and (_number(m.get("created_at")) or 0) >= watch.since
                                            for m in messages):
            return "Devin has not written since the message was sent"
    if messages is not None and _user_spoke_last(messages):
        return "Devin has not answered the last message yet"
    return None


def _pause(watch: _Watch, until: float, sleep: Callable[[float], None]) -> None:
    """Sleep until `until`, with a heartbeat line whenever HEARTBEAT_S pass without one."""
    while True:
        now = watch.monotonic()
        if now >= until:
            return
        beat_at = watch.last_line + HEARTBEAT_S
        if now >= beat_at:
            watch.heartbeat()
            continue
        sleep(min(until, beat_at) - now)


def _timed_out(watch: _Watch, session: dict, summary: dict, timeout_s: float) -> DevinError:
    from .errors import WaitTimeout
    state = word(session.get("status")) + (f"/{word(session.get('status_detail'))}"
                                           if session.get("status_detail") else "")
    why = (f"the session still shows its state from before the last message ({state}): {watch.stale}"
           if watch.stale else f"Devin is still {phrase(session)} ({state})")
    wait_doc = dict({"outcome": "timeout"}, **summary, **({"stale_state": watch.stale} if watch.stale else {}))
    return WaitTimeout(f"stopped waiting after {timeout_s:g} s; {why}. Only reads were sent; the session keeps "
                       "running: wait again to keep following it.", session=session, wait=wait_doc)


def wait(client_factory: Callable[[float], Client], session_id: str, *, timeout_s: float, interval_s: float,
         max_interval_s: float = 60, since: float | None = None, progress: Note = _quiet,
         sleep: Callable[[float], None] = time.sleep, monotonic: Callable[[], float] = time.monotonic,
         dry_run: bool = False) -> dict:
    """Poll until the session needs someone, is done for now, asleep or ended; never sends a write.
    Returns the session with a "wait" summary (and "last_devin_message" where Devin wrote); raises
    WaitTimeout when the timeout passes first. A "needs you" or "done for now" left over from before a
    message the user just sent is not a stop (see _stale; `since` is that message's time). Each poll is
    get_session's request, so that is what a dry run shows (the messages read alongside are a help)."""
    if dry_run:
        return get_session(client_factory(60.0), session_id, dry_run=True)
    watch = _Watch(session_id, progress, monotonic, since)
    deadline = watch.start + timeout_s
    polls, delay = 0, max(0.01, interval_s)
    while True:
        client = client_factory(max(1.0, min(60.0, deadline - monotonic() + 1)))
        session = get_session(client, session_id)
        messages = _poll_messages(client, session_id, watch)
        polls += 1
        _observe(watch, session, messages)
        cls = status_class(session)
        stale = _stale(watch, session, messages) if cls in STOP_CLASSES else None
        summary = {"polls": polls, "elapsed_s": round(watch.elapsed(), 2)}
        if cls in STOP_CLASSES and stale is None:
            result = dict(session, wait={"outcome": cls, **summary})
            last = last_devin(messages)
            return dict(result, last_devin_message=last) if last is not None else result
        if stale and stale != watch.stale:
            watch.say(f"this state is from before the last message ({stale}); waiting for Devin to pick it up")
        watch.stale = stale
        if monotonic() >= deadline:
            raise _timed_out(watch, session, summary, timeout_s)
        _pause(watch, min(monotonic() + delay, deadline), sleep)
        delay = min(max_interval_s, max(delay, delay * 1.5))
