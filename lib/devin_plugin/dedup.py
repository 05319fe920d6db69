"""Title dedup for creates: find an active session with the same title, and converge after a race.

Devin's create has no idempotency key, so the plugin looks before it creates (under a per-machine
lock) and looks again after creating (cross-machine convergence): every racer orders candidates
the same way (created_at, then session_id), so all of them name the same survivor.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from . import ids, routes
from .errors import DevinError, UnknownOutcome
from .limits import PAGE_MAX
from .paging import collect, first_page, pages
from .states import is_active

if TYPE_CHECKING:
    from .http import Client
    from .request import Request

DEDUP_MIN_CHECKED = 1_000
Note = Callable[[str], None]


def _quiet(message: str) -> None:
    """The default `note`: say nothing."""


def derive_title(prompt: str, limit: int = 80) -> str:
    """The first `limit` characters of the prompt, cut at a word boundary, on one line."""
    from .output import sanitize
    text = " ".join(sanitize(prompt).split())
    if len(text) <= limit:
        return text
    cut = text[: limit + 1].rsplit(" ", 1)[0]
    return (cut if 0 < len(cut) <= limit else text[:limit]).rstrip()


def _own(client: Client, item: Any) -> bool:
    return isinstance(item, dict) and item.get("org_id") == client.settings.org_id


def window_request(client: Client, created_after: int, *, max_items: int = PAGE_MAX) -> Request:
    """The request dedup sends first: the org's sessions created in the window, newest first."""
    return first_page(client, "GET", routes.SESSIONS, params={"created_after": created_after},
                      max_items=max_items, action="dedup")


def find_active_by_title(client: Client, title: str, *, days: float, min_checked: int = DEDUP_MIN_CHECKED,
                         since: float | None = None, any_status: bool = False) -> tuple[dict | None, dict]:
    """Newest-first search of the org's recent sessions for an active one with this exact title."""
    created_after = int(since if since is not None else time.time() - days * 86400)
    seen: list = []  # every item looked at; the pager asks how many are still wanted
    has_next = False
    for page, more, _cursor in pages(client, window_request(client, created_after),
                                     lambda: min_checked - len(seen), shrink=False, stop_on_repeat=True):
        has_next = more
        for item in page:
            seen.append(item)
            if not _own(client, item) or item.get("title") != title:
                continue
            if isinstance(item.get("created_at"), (int, float)) and item["created_at"] < created_after:
                continue
            if any_status or is_active(item):
                return item, {"checked": len(seen), "complete": True}
    return None, {"checked": len(seen), "complete": not has_next}


def active_with_title(client: Client, title: str, *, days: float, max_checked: int = DEDUP_MIN_CHECKED) -> dict:
    created_after = int(time.time() - days * 86400)
    page = collect(client, window_request(client, created_after, max_items=max_checked), max_items=max_checked)
    return {s["session_id"]: s for s in page["items"]
            if isinstance(s, dict) and s.get("title") == title and is_active(s)
            and isinstance(s.get("session_id"), str) and ids.SESSION_ID.fullmatch(s["session_id"])}


def _earliest(peers: dict) -> dict:
    return min(peers.values(), key=lambda s: (s.get("created_at") or 0, s.get("session_id")))


def converge(client: Client, title: str, mine: dict, *, days: float, settle_s: float,
             note: Note = _quiet, sleep: Callable[[float], None] = time.sleep,
             sweep_since: float | None = None) -> dict:
    """Cross-machine dedup without server idempotency: after creating, look again (at once and after a
    settle delay); if an earlier active session has the same title, end ours and answer with that one.

    A racer created later always sees the earlier ones it loses to.

    With `sweep_since` (the create took more than one attempt: an answer such as a 429 may have come
    after the server had already created a session), every other active session with this title
    created since then is one this call may have made without knowing its id: it is ended too. Ending
    non-survivors is what every racer does anyway, so this never ends the session that survives.
    """
    mine_id = mine["session_id"]
    winner, ended = mine, False
    peers: dict = {}
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
            winner = _earliest(peers)
        if winner["session_id"] != mine_id and not ended:
            # An earlier session exists, so ours can never be the survivor: end it at once. The answer
            # waits for the last look, because an even earlier racer may show up only by then.
            note(f"another session with this title was created at the same time ({winner['session_id']}); "
                 f"ending ours ({mine_id}) and answering with the earliest one")
            try:
                client.call("DELETE", routes.SESSION, path={"devin_id": mine_id}, action="dedup_converge")
            except DevinError as err:
                note(f"could not end the duplicate {mine_id}: {err.message}; end it by hand")
            ended = True
    swept = _sweep(client, peers, winner, mine, sweep_since, note) if sweep_since is not None else []
    if ended:
        out = dict(winner, is_new_session=False, duplicate_ended=mine_id)
    else:
        out = dict(mine, is_new_session=True)
    if swept:
        out["duplicates_ended"] = swept
    return out


def sweep_own(client: Client, title: str, mine: dict, *, since: float, days: float, note: Note) -> list[str]:
    """For a --force-new create that took more than one attempt: end the other sessions of this title that
    this principal made since the call started (an attempt answered with a 429 may have made one)."""
    try:
        peers = active_with_title(client, title, days=days)
    except DevinError:
        return []
    return _sweep(client, peers, mine, mine, since, note)


def _creator(session: dict) -> tuple:
    return session.get("user_id"), session.get("service_user_id")


def _sweep(client: Client, peers: dict, winner: dict, mine: dict, since: float, note: Note) -> list[str]:
    """End the sessions an earlier attempt of this create may have made: same title, created since it
    started, by the same principal (another user's session with the same title is left alone)."""
    ended = []
    for sid, s in sorted(peers.items()):
        created = s.get("created_at")
        if sid in (winner["session_id"], mine["session_id"]) or not isinstance(created, (int, float)) \
                or created < since - 5 or _creator(s) != _creator(mine):
            continue
        note(f"ending {sid}: a session with this title that an earlier attempt of this create may have made")
        try:
            client.call("DELETE", routes.SESSION, path={"devin_id": sid}, action="dedup_converge")
            ended.append(sid)
        except DevinError as err:
            note(f"could not end the duplicate {sid}: {err.message}; end it by hand")
    return ended


def earliest_if_young(client: Client, title: str, found: dict, *, days: float, settle_s: float,
                      sleep: Callable[[float], None] = time.sleep) -> dict:
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
    return _earliest(peers)


def reconcile_create(client: Client, title: str, started: float, err: UnknownOutcome, note: Note) -> dict:
    """After an ambiguous create, look before answering: a lost response must not become a lie."""
    note("the create's answer was lost; checking whether the session was created...")
    try:
        found, _ = find_active_by_title(client, title, days=0, since=started - 10, any_status=True)
    except DevinError:
        found = None
    if found:
        from .formatting import word
        note(f"the session was created ({word(found.get('session_id'))})")
        return found
    raise UnknownOutcome(err.message + ". No session with this title has appeared yet: run the same "
                         "create again with the same title in a minute; dedup will return the session if it "
                         "was created, and create it otherwise.", http_status=err.http_status)

