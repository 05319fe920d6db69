"""Session operations, callable in process (scripts, MCP server) on a Client and a Policy.

Each operation builds its request once: with dry_run it returns that request's preview and sends
nothing; otherwise it sends exactly that request (plus the reads and fallbacks it documents).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from . import dedup, ids, routes
from .dedup import Note, _own, _quiet  # one definition of each, shared with dedup
from .errors import ApiError, AuthError, DevinError, InvalidInput, NotFound, RateLimited, UnknownOutcome
from .limits import MESSAGES_LIST_MAX, SESSIONS_LIST_MAX
from .paging import collect, first_page, page_items, pages
from .formatting import word
from .states import BILLING_SUSPENSIONS, STOP_CLASSES, is_active, status_class

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
                  max_items: int = MESSAGES_LIST_MAX, dry_run: bool = False) -> dict:
    """Oldest first; `limit` keeps the last N. The end cursor is the last one seen, so a later call
    with `after` continues where this one stopped."""
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
    if limit is not None:
        items = items[-limit:] if limit else []
    return {"items": items, "has_next_page": has_next, "end_cursor": cursor}


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
    payload = dict(payload)
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
    req = client.build("POST", routes.SESSIONS, body=body, action="create_session", safe_to_repeat=False)
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
    if not isinstance(session, dict) or not ids.SESSION_ID.fullmatch(str(session.get("session_id", ""))):
        raise ApiError("the API answered the create without a usable session id")
    if force_new:
        if attempts > 1:  # an earlier attempt may have made one too: only this call's own, same principal
            swept = dedup.sweep_own(client, title, prompt, session, since=started, tagged=tagged, note=note)
            if swept:
                return dict(session, is_new_session=True, duplicates_ended=swept)
        return dict(session, is_new_session=True)
    return dedup.converge(client, title, prompt, session, since=since, tagged=tagged, settle_s=settle_s, note=note,
                          sweep_since=started if attempts > 1 else None)


_STATE_WORDS = {"starting": "starting", "working": "working", "needs_user": "waiting for an answer",
                "done_for_now": "done for now (a message continues it)", "asleep": "asleep (a message wakes it)"}


def _state(session: dict) -> str:
    return _STATE_WORDS.get(status_class(session), "active")


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
            note(f"a session with this title and task is already {_state(s)} ({word(s.get('session_id'))}); "
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
        note(f"sending the prompt to the session with this title ({sid}, {_state(target)}) as a message")
        send_message(client, policy, sid, message, note=note)
        return dict(get_session(client, sid), is_new_session=False, followed_up=True)
    why = "whose task could not be read" if unknown and len(found) == 1 else "with a different task"
    origin = " (the title was taken from the prompt's first words)" if derived else ""
    raise InvalidInput(
        f"a session with the title {title!r}{origin} is already {_state(target)}: {sid}, {why}. Nothing was "
        "created or sent. To send this prompt to that session as a message, run again with --follow-up "
        "(MCP: follow_up: true); to start a second session with the same title, --force-new (MCP: force_new: "
        "true); or give this task its own --title.")


def _tags_refused(err: DevinError) -> bool:
    """An organization can restrict tags; its refusal of the create names them."""
    return err.http_status in (400, 403, 422) and "tag" in err.message.lower()


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

def wait(client_factory: Callable[[float], Client], session_id: str, *, timeout_s: float, interval_s: float,
         max_interval_s: float = 60, progress: Note = _quiet, sleep: Callable[[float], None] = time.sleep,
         monotonic: Callable[[], float] = time.monotonic, dry_run: bool = False) -> dict:
    """Poll until the session needs someone, is done for now, asleep or ended; never sends a write.
    Each poll is get_session's request, so that is what a dry run shows."""
    if dry_run:
        return get_session(client_factory(60.0), session_id, dry_run=True)
    start = monotonic()
    polls, delay, last = 0, max(0.01, interval_s), None
    while True:
        client = client_factory(max(1.0, min(60.0, timeout_s - (monotonic() - start) + 1)))
        session = get_session(client, session_id)
        polls += 1
        cls = status_class(session)
        state = (session.get("status"), session.get("status_detail"))
        if state != last:
            # API words on stderr, outside any fence: plain words only
            progress(f"[{monotonic() - start:6.1f}s] {session_id}: {word(state[0])}"
                     + (f" ({word(state[1])})" if state[1] else "") + f" - {cls.replace('_', ' ')}")
            last = state
        elapsed = monotonic() - start
        if cls in STOP_CLASSES:
            return dict(session, wait={"outcome": cls, "polls": polls, "elapsed_s": round(elapsed, 2)})
        if elapsed + delay > timeout_s:
            return dict(session, wait={"outcome": "timeout", "polls": polls, "elapsed_s": round(elapsed, 2)})
        sleep(delay)
        delay = min(max_interval_s, max(delay, delay * 1.5))
