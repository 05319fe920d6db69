"""Session operations, callable in process (scripts, MCP server) on a Client and Settings."""

from __future__ import annotations

import time
from typing import Callable

from . import ids
from .errors import ApiError, AuthError, DevinError, InvalidInput, NotFound, UnknownOutcome

ORG = "/organizations/{org_id}"
SESSIONS = ORG + "/sessions"
SESSION = SESSIONS + "/{devin_id}"
ENT_SESSIONS = "/enterprise/sessions"
ENT_SESSION = ENT_SESSIONS + "/{devin_id}"

ACTIVE_STATUSES = frozenset({"new", "claimed", "running", "suspended", "resuming"})
BILLING_SUSPENSIONS = frozenset({"usage_limit_exceeded", "out_of_credits", "out_of_quota", "no_quota_allocation",
                                 "payment_declined", "org_usage_limit_exceeded", "total_session_limit_exceeded"})
STOP_CLASSES = {"needs_user", "done_for_now", "asleep", "ended"}
PAGE_MAX = 200
LIST_ALL_CAP = 10_000
DEDUP_MIN_CHECKED = 1_000
CURSOR_MAX = 2048


def status_class(session: dict) -> str:
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


def is_active(session: dict) -> bool:
    return session.get("status") in ACTIVE_STATUSES and not session.get("is_archived")


def derive_title(prompt: str, limit: int = 80) -> str:
    """The first `limit` characters of the prompt, cut at a word boundary, on one line."""
    from .output import sanitize
    text = " ".join(sanitize(prompt).split())
    if len(text) <= limit:
        return text
    cut = text[: limit + 1].rsplit(" ", 1)[0]
    return (cut if 0 < len(cut) <= limit else text[:limit]).rstrip()


# -- reading -------------------------------------------------------------------------------------

def _own(client, item) -> bool:
    return isinstance(item, dict) and item.get("org_id") == client.settings.org_id


def _page_items(data) -> tuple[list, bool, str | None]:
    if not isinstance(data, dict) or not isinstance(data.get("items"), list):
        raise ApiError("the API answered a list call without an items array")
    cursor = data.get("end_cursor")
    if cursor is not None and (not isinstance(cursor, str) or len(cursor) > CURSOR_MAX):
        raise ApiError("the API answered with an unusable page cursor")
    return data["items"], bool(data.get("has_next_page")) and cursor is not None, cursor


def iter_pages(client, template: str, params: dict, *, path=None, max_items: int, action="") -> dict:
    """Follow cursors up to max_items; drop items of other orgs; stop on a repeated cursor."""
    items, dropped, seen = [], 0, set()
    cursor, has_next = None, True
    while has_next and len(items) < max_items:
        query = dict(params, first=min(PAGE_MAX, max_items - len(items)))
        if cursor:
            query["after"] = cursor
        data = client.call("GET", template, path=path, params=query, action=action).data
        page, has_next, cursor = _page_items(data)
        for item in page:
            if "org_id" in item or template.startswith("/enterprise"):
                if not _own(client, item):
                    dropped += 1
                    continue
            items.append(item)
        if has_next:
            if cursor in seen:
                raise ApiError("the API repeated a page cursor; stopped paging")
            seen.add(cursor)
    return {"items": items[:max_items], "has_next_page": has_next or len(items) > max_items,
            "end_cursor": cursor if has_next else None, "dropped_foreign": dropped}


def get_session(client, session_id: str) -> dict:
    """GET one session; some principals get 403/404 there yet see it through the filtered list."""
    try:
        session = client.call("GET", SESSION, path={"devin_id": session_id}, action="get_session").data
    except (NotFound, AuthError) as first:
        page = client.call("GET", SESSIONS, params={"session_ids": [session_id], "first": 1},
                           action="get_session").data
        items, _, _ = _page_items(page)
        found = [s for s in items if isinstance(s, dict) and s.get("session_id") == session_id and _own(client, s)]
        if not found:
            raise first
        session = found[0]
    if not isinstance(session, dict) or str(session.get("session_id", "")).lower() != session_id:
        raise ApiError("the API answered with something that is not this session")
    if session.get("org_id") not in (None, client.settings.org_id):
        raise NotFound(f"session {session_id} is not in organization {client.settings.org_id}")
    return session


def list_sessions(client, *, limit: int = 10, fetch_all: bool = False, tags=(), created_after=None,
                  created_before=None, enterprise: bool = False) -> dict:
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
        template = ENT_SESSIONS
    else:
        template = SESSIONS
    max_items = LIST_ALL_CAP if fetch_all else limit
    return iter_pages(client, template, params, max_items=max_items, action="list_sessions")


def list_messages(client, session_id: str, *, limit: int | None = None, after: str | None = None,
                  max_items: int = 5000) -> dict:
    items, seen = [], set()
    cursor, has_next = after, True
    while has_next and len(items) < max_items:
        query = {"first": PAGE_MAX}
        if cursor:
            query["after"] = cursor
        data = client.call("GET", SESSION + "/messages", path={"devin_id": session_id}, params=query,
                           action="list_messages").data
        page, has_next, new_cursor = _page_items(data)
        items.extend(page)
        if new_cursor:
            cursor = new_cursor
        if has_next:
            if cursor in seen:
                raise ApiError("the API repeated a page cursor; stopped paging")
            seen.add(cursor)
    if limit is not None:
        items = items[-limit:] if limit else []
    return {"items": items, "has_next_page": has_next, "end_cursor": cursor}


# -- creating ------------------------------------------------------------------------------------

def find_active_by_title(client, title: str, *, days: float, min_checked: int = DEDUP_MIN_CHECKED,
                         since: float | None = None, any_status: bool = False) -> tuple[dict | None, dict]:
    """Newest-first search of the org's recent sessions for an active one with this exact title."""
    created_after = int((since if since is not None else time.time() - days * 86400))
    params = {"created_after": created_after}
    checked, cursor, seen, has_next = 0, None, set(), True
    while has_next and checked < min_checked:
        query = dict(params, first=PAGE_MAX)
        if cursor:
            query["after"] = cursor
        data = client.call("GET", SESSIONS, params=query, action="dedup").data
        page, has_next, cursor = _page_items(data)
        for item in page:
            checked += 1
            if not _own(client, item) or item.get("title") != title:
                continue
            if isinstance(item.get("created_at"), (int, float)) and item["created_at"] < created_after:
                continue
            if any_status or is_active(item):
                return item, {"checked": checked, "complete": True}
        if has_next:
            if cursor in seen:
                break
            seen.add(cursor)
    return None, {"checked": checked, "complete": not has_next}


def create_session(client, policy, payload: dict, *, force_new: bool = False, dedup_days: float = 7,
                   settle_s: float = 2.0, dry_run: bool = False,
                   note: Callable[[str], None] = lambda m: None) -> dict:
    """Create a session unless an active one with the same title exists; never create twice."""
    payload = dict(payload)
    if not payload.get("title") and isinstance(payload.get("prompt"), str):
        payload["title"] = derive_title(payload["prompt"], policy.limit("title_max_chars"))
    policy.check("session_create", payload)
    _check_ids_exist(client, payload, dry_run)
    req = client.build("POST", SESSIONS, body=payload, action="create_session", safe_to_repeat=False)
    if dry_run:
        return {"dry_run": True, "request": req.describe(),
                "dedup": None if force_new else {"title": payload["title"], "window_days": dedup_days}}
    title = payload["title"]
    started = time.time()
    from .locks import title_lock
    with title_lock(client.settings.state_dir, client.settings.org_id, title, client.remaining()):
        if not force_new:
            existing, info = find_active_by_title(client, title, days=dedup_days)
            if existing:
                existing = _earliest_if_young(client, title, existing, days=dedup_days, settle_s=settle_s)
                note(f"an active session with this title already exists ({existing.get('session_id')}); "
                     "returning it instead of creating another (use --force-new to create anyway)")
                return dict(existing, is_new_session=False)
            if not info["complete"]:
                note(f"dedup: stopped looking after the {info['checked']} most recent sessions of the "
                     f"last {dedup_days:g} days")
        try:
            session = client.send(req).data
        except UnknownOutcome as err:
            session = _reconcile_create(client, title, started, err, note)
    if not isinstance(session, dict) or not ids.SESSION_ID.fullmatch(str(session.get("session_id", ""))):
        raise ApiError("the API answered the create without a usable session id")
    if force_new:
        return dict(session, is_new_session=True)
    return converge(client, title, session, days=dedup_days, settle_s=settle_s, note=note)


def converge(client, title: str, mine: dict, *, days: float, settle_s: float,
             note: Callable[[str], None] = lambda m: None, sleep=time.sleep) -> dict:
    """Cross-machine dedup without server idempotency: after creating, look again (at once and after a
    settle delay); if an earlier active session has the same title, end ours and answer with that one.

    Every racer orders the candidates the same way (created_at, then session_id), so all of them
    name the same survivor; a racer created later always sees the earlier ones it loses to.
    """
    mine_id = mine["session_id"]
    winner, ended = mine, False
    for attempt in range(2):
        if attempt:
            if settle_s <= 0 or settle_s >= client.remaining() - 5:
                break
            sleep(settle_s)
        try:
            peers = active_with_title(client, title, days=days)
        except DevinError:
            break  # we created our session; failing to look again must not turn that into an error
        if not ended:
            peers.setdefault(mine_id, mine)
        if peers:
            winner = min(peers.values(), key=lambda s: (s.get("created_at") or 0, s.get("session_id")))
        if winner["session_id"] != mine_id and not ended:
            # An earlier session exists, so ours can never be the survivor: end it at once. The answer
            # waits for the last look, because an even earlier racer may show up only by then.
            note(f"another session with this title was created at the same time ({winner['session_id']}); "
                 f"ending ours ({mine_id}) and answering with the earliest one")
            try:
                client.call("DELETE", SESSION, path={"devin_id": mine_id}, action="dedup_converge")
            except DevinError as err:
                note(f"could not end the duplicate {mine_id}: {err.message}; end it by hand")
            ended = True
    if ended:
        return dict(winner, is_new_session=False, duplicate_ended=mine_id)
    return dict(mine, is_new_session=True)


def _earliest_if_young(client, title: str, found: dict, *, days: float, settle_s: float, sleep=time.sleep) -> dict:
    """A session found by dedup may be another machine's racer that is about to end itself for an earlier
    one; when it is young, look again after the settle delay and answer with the earliest active one."""
    created = found.get("created_at")
    if (settle_s <= 0 or not isinstance(created, (int, float)) or time.time() - created > settle_s + 60
            or settle_s >= client.remaining() - 5):
        return found
    sleep(settle_s)
    try:
        peers = active_with_title(client, title, days=days)
    except DevinError:
        return found
    if not peers:
        return found
    return min(peers.values(), key=lambda s: (s.get("created_at") or 0, s.get("session_id")))


def active_with_title(client, title: str, *, days: float, max_checked: int = DEDUP_MIN_CHECKED) -> dict:
    created_after = int(time.time() - days * 86400)
    page = iter_pages(client, SESSIONS, {"created_after": created_after}, max_items=max_checked, action="dedup")
    return {s["session_id"]: s for s in page["items"]
            if isinstance(s, dict) and s.get("title") == title and is_active(s) and s.get("session_id")}


def _reconcile_create(client, title: str, started: float, err: UnknownOutcome, note) -> dict:
    """After an ambiguous create, look before answering: a lost response must not become a lie."""
    note("the create's answer was lost; checking whether the session was created...")
    try:
        found, _ = find_active_by_title(client, title, days=0, since=started - 120, any_status=True)
    except DevinError:
        found = None
    if found:
        note(f"the session was created ({found.get('session_id')})")
        return found
    raise UnknownOutcome(err.message + ". No session with this title has appeared yet: run the same "
                         "create again with the same title in a minute; dedup will return the session if it "
                         "was created, and create it otherwise.", http_status=err.http_status)


def _check_ids_exist(client, payload: dict, dry_run: bool) -> None:
    """A typo in a playbook, note or secret id fails before a paid session starts."""
    from . import resources
    resources.check_ids_exist(client, payload, dry_run)


# -- changing ------------------------------------------------------------------------------------

def _route_missing(err: DevinError) -> bool:
    """FastAPI answers an unknown route with exactly {"detail": "Not Found"}, or 405 for a wrong method."""
    return (err.http_status == 405 or
            (isinstance(err, NotFound) and err.message.rstrip().endswith(": Not Found")))


def send_message(client, policy, session_id: str, payload: dict, *, dry_run: bool = False,
                 note: Callable[[str], None] = lambda m: None) -> dict:
    policy.check("session_message", payload)
    req = client.build("POST", SESSION + "/messages", path={"devin_id": session_id}, body=payload,
                       action="send_message", safe_to_repeat=False)
    if dry_run:
        return {"dry_run": True, "request": req.describe()}
    session = get_session(client, session_id)
    if status_class(session) == "ended":
        raise InvalidInput(f"session {session_id} has ended (status {session.get('status')}); a message "
                           "cannot reach it. Nothing was sent.")
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


def _message_enterprise(client, session_id, payload, first_error, note) -> dict:
    """Fall back to enterprise scope only for a session confirmed to belong to the configured org."""
    try:
        ent = client.call("GET", ENT_SESSION, path={"devin_id": session_id},
                          params={"org_id": client.settings.org_id}, action="send_message").data
    except DevinError:
        raise first_error from None
    if not _own(client, ent):
        raise NotFound(f"session {session_id} does not belong to organization {client.settings.org_id}; "
                       "nothing was sent")
    note("organization scope refused the message; sending it at enterprise scope for this org's session")
    req = client.build("POST", ENT_SESSION + "/messages", path={"devin_id": session_id},
                       body={"message": payload["message"]}, action="send_message", safe_to_repeat=False)
    return client.send(req).data


def _reconcile_message(client, session_id, text, started, err, note) -> dict:
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


def terminate(client, session_id: str, *, archive: bool = False, dry_run: bool = False) -> dict:
    params = {"archive": "true"} if archive else {}
    req = client.build("DELETE", SESSION, path={"devin_id": session_id}, params=params,
                       action="terminate_session")
    if dry_run:
        return {"dry_run": True, "request": req.describe()}
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


def archive(client, session_id: str, *, dry_run: bool = False) -> dict:
    req = client.build("POST", SESSION + "/archive", path={"devin_id": session_id}, action="archive_session",
                       safe_to_repeat=True)  # archiving twice has the same effect as once
    if dry_run:
        return {"dry_run": True, "request": req.describe()}
    before = get_session(client, session_id)
    if before.get("is_archived"):
        return dict(before, outcome="already_archived")
    after = client.send(req).data
    if not isinstance(after, dict) or "is_archived" not in after:
        after = get_session(client, session_id)
    if not after.get("is_archived"):
        raise ApiError("the API accepted the archive but the session is not archived")
    return dict(after, outcome="archived")


# -- tags ----------------------------------------------------------------------------------------

V1_TAGS = "/sessions/{session_id}/tags"


def get_tags(client, session_id: str) -> dict:
    data = client.call("GET", SESSION + "/tags", path={"devin_id": session_id}, action="get_tags").data
    tags = data.get("tags") if isinstance(data, dict) else None
    if not isinstance(tags, list):
        raise ApiError("the API answered the tags call without a tags array")
    return {"tags": tags}


def update_tags(client, policy, session_id: str, *, add=(), remove=(), replace=None,
                dry_run: bool = False) -> dict:
    """add only: POST (append); replace: PUT; remove or add+remove: read, compute, PUT."""
    add, remove = list(dict.fromkeys(add)), list(dict.fromkeys(remove))
    if replace is not None and (add or remove):
        raise InvalidInput("--set replaces all tags; it cannot be combined with --add or --remove")
    if not add and not remove and replace is None:
        return get_tags(client, session_id)
    for group in (add, remove, replace or []):
        if group:
            policy.check("session_tags", {"tags": group})
    if replace is not None:
        method, new = "PUT", list(dict.fromkeys(replace))
    elif add and not remove:
        method, new = "POST", add
    else:
        method, new = "PUT", None
    if dry_run:
        body = {"tags": new if new is not None else "<current tags, adjusted>"}
        return {"dry_run": True, "request": client.build(method, SESSION + "/tags", path={"devin_id": session_id},
                                                          body=body, action="update_tags").describe()}
    get_session(client, session_id)  # 404 for a session outside the org before any write
    if new is None:
        current = get_tags(client, session_id)["tags"]
        new = [t for t in current if t not in remove] + [t for t in add if t not in current]
    policy.check("session_tags", {"tags": new})
    req = client.build(method, SESSION + "/tags", path={"devin_id": session_id}, body={"tags": new},
                       action="update_tags", safe_to_repeat=True)
    try:
        data = client.send(req).data
    except DevinError as err:
        if not _route_missing(err):
            raise
        data = _tags_v1(client, session_id, method, new, err)
    tags = data.get("tags") if isinstance(data, dict) else None
    return {"tags": tags if isinstance(tags, list) else get_tags(client, session_id)["tags"]}


def _tags_v1(client, session_id, method, tags, v3_error) -> dict:
    """The legacy fallback, tried only when the v3 route itself is missing."""
    if method == "POST":
        current = get_tags(client, session_id)["tags"]
        tags = current + [t for t in tags if t not in current]
    req = client.build("PUT", V1_TAGS, path={"session_id": session_id}, body={"tags": tags}, version="v1",
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

def wait(client_factory, session_id: str, *, timeout_s: float, interval_s: float, max_interval_s: float = 60,
         progress: Callable[[str], None] = lambda m: None, sleep=time.sleep, monotonic=time.monotonic) -> dict:
    """Poll until the session needs someone, is done for now, asleep or ended; never sends a write."""
    start = monotonic()
    polls, delay, last = 0, max(0.01, interval_s), None
    while True:
        client = client_factory(max(1.0, min(60.0, timeout_s - (monotonic() - start) + 1)))
        session = get_session(client, session_id)
        polls += 1
        cls = status_class(session)
        state = (session.get("status"), session.get("status_detail"))
        if state != last:
            progress(f"[{monotonic() - start:6.1f}s] {session_id}: {state[0]}"
                     + (f" ({state[1]})" if state[1] else "") + f" - {cls.replace('_', ' ')}")
            last = state
        elapsed = monotonic() - start
        if cls in STOP_CLASSES:
            return dict(session, wait={"outcome": cls, "polls": polls, "elapsed_s": round(elapsed, 2)})
        if elapsed + delay > timeout_s:
            return dict(session, wait={"outcome": "timeout", "polls": polls, "elapsed_s": round(elapsed, 2)})
        sleep(delay)
        delay = min(max_interval_s, max(delay, delay * 1.5))
