"""Title dedup for creates: find the active sessions with the same title, tell the same task from a
different one, and converge after a race.

Devin's create has no idempotency key and its list has no title filter, but it filters by tag. So
every session this plugin creates carries two tags: one derived from its normalised title and one
from its prompt. Finding every candidate is then one filtered request whatever the size of the org,
and the prompt tag tells the same task from a different one without reading any message.

Sessions without the tags (made in the web app, Slack and the like, by other API clients, or by
versions of this plugin before the tags) are looked for by a bounded scan, described in `find`.

Every racer orders candidates the same way (created_at, then session_id), so all of them name the
same survivor.
"""

from __future__ import annotations

import hashlib
import time
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from . import ids, routes
from .errors import DevinError, UnknownOutcome
from .limits import PAGE_MAX
from .paging import first_page, pages
from .states import is_active

if TYPE_CHECKING:
    from .http import Client
    from .request import Request

TITLE_TAG = "dedup-title-"
PROMPT_TAG = "dedup-prompt-"
# Origins where a person starts the session; their volume grows with the team, not with its bots.
PEOPLE_ORIGINS = ("webapp", "slack", "teams", "linear", "jira", "cli", "desktop")
SCAN_MAX = 1_000         # untagged sessions of any origin looked at, newest first (the old design's bound)
TAGGED_MAX = 2_000       # sessions sharing one title tag: only a run of --force-new creates makes many
PEOPLE_MAX = 20_000      # sessions people started in the window; past this the search says it stopped
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


# -- what "the same" means ------------------------------------------------------------------------

def normal_title(title: str) -> str:
    """The dedup key: compatibility forms folded (a full-width letter is its letter), invisible
    characters removed, case and runs of white space ignored."""
    from .output import sanitize
    return " ".join(sanitize(unicodedata.normalize("NFKC", title)).split()).casefold()


def normal_prompt(prompt: str) -> str:
    """A prompt compared for sameness: runs of white space ignored, nothing else."""
    return " ".join(prompt.split())


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def title_tag(title: str) -> str:
    return TITLE_TAG + _digest(normal_title(title))


def prompt_tag(prompt: str) -> str:
    return PROMPT_TAG + _digest(normal_prompt(prompt))


def is_dedup_tag(tag: object) -> bool:
    return isinstance(tag, str) and tag.startswith((TITLE_TAG, PROMPT_TAG))


def with_tags(payload: dict) -> dict:
    """The payload with the two dedup tags added after the caller's own (each once)."""
    extra = [title_tag(payload["title"]), prompt_tag(payload["prompt"])]
    tags = list(payload.get("tags") or [])
    return dict(payload, tags=tags + [t for t in extra if t not in tags])


def without_tags(payload: dict) -> dict:
    """The payload as the caller gave it, for an organization that refuses the dedup tags."""
    ours = {title_tag(payload["title"]), prompt_tag(payload["prompt"])}
    tags = [t for t in payload.get("tags") or [] if t not in ours]
    out = {k: v for k, v in payload.items() if k != "tags"}
    return dict(out, tags=tags) if tags else out


def _own(client: Client, item: Any) -> bool:
    return isinstance(item, dict) and item.get("org_id") == client.settings.org_id


def _created(item: dict) -> float:
    created = item.get("created_at")
    return created if isinstance(created, (int, float)) and not isinstance(created, bool) else 0


def _order(item: dict) -> tuple:
    return _created(item), str(item.get("session_id"))


def _candidate(client: Client, item: Any, key: str, since: int, any_status: bool) -> bool:
    return (_own(client, item) and isinstance(item.get("title"), str) and normal_title(item["title"]) == key
            and isinstance(item.get("session_id"), str) and bool(ids.SESSION_ID.fullmatch(item["session_id"]))
            and _created(item) >= since and (any_status or is_active(item)))


# -- the requests ---------------------------------------------------------------------------------

def tag_request(client: Client, title: str, since: int) -> Request:
    """The request dedup sends first: the sessions carrying this title's tag, created in the window."""
    return first_page(client, "GET", routes.SESSIONS, max_items=PAGE_MAX, action="dedup",
                      params={"tags": [title_tag(title)], "created_after": since, "is_archived": "false"})


def _scan_request(client: Client, since: int, origins: Iterable[str] = ()) -> Request:
    params: dict = {"created_after": since, "is_archived": "false"}
    if origins:
        params["origins"] = list(origins)
    return first_page(client, "GET", routes.SESSIONS, params=params, max_items=PAGE_MAX, action="dedup")


@dataclass
class Search:
    """What a dedup look found: the active sessions with the title (earliest first), whether every
    session that could hold the title was looked at, and what it cost."""
    found: list[dict] = field(default_factory=list)
    complete: bool = True
    requests: int = 0
    gaps: list[str] = field(default_factory=list)


def _read(client: Client, req: Request, title: str, since: int, limit: int, out: Search, *,
          any_status: bool = False) -> str | None:
    """Add the matching sessions of the pages of `req` (up to `limit` items) to `out.found`. Returns
    None when the list was read to its end, else the cursor to continue from."""
    key, cursor = normal_title(title), None
    seen: list = []  # every item looked at; the pager asks how many are still wanted
    have = {s["session_id"] for s in out.found}
    for page, has_next, end in pages(client, req, lambda: limit - len(seen), shrink=False, stop_on_repeat=True):
        out.requests += 1
        cursor = (end or "") if has_next else None
        for item in page:
            seen.append(item)
            if _candidate(client, item, key, since, any_status) and item["session_id"] not in have:
                have.add(item["session_id"])
                out.found.append(item)
    out.found.sort(key=_order)
    return cursor


def find(client: Client, title: str, *, since: float, tagged: bool = True, any_status: bool = False) -> Search:
    """The active sessions of the org with this title (ignoring case and white space) created since `since`.

    1. The title tag: every session this plugin made with the title, in one request at any org size.
       When it finds one, the search stops there.
    2. The window's newest page of sessions of any origin: in an org that creates fewer than a page
       (200) in the window, this is every session, whoever made it, and the search ends.
    3. Otherwise every session a person started (PEOPLE_ORIGINS) in the window: people, unlike bots and
       automations, create a bounded number. When it finds one, the search stops there.
    4. Otherwise the window's newest sessions of any origin up to SCAN_MAX, for untagged sessions made
       through the API or automations (other clients, versions of this plugin before the tags). What
       lies past them is not read, and the search says so (`gaps`).

    With `tagged=False` (the org refuses the tags) steps 2 to 4 are the whole search.
    """
    since = int(since)
    out = Search()

    def read_all(req: Request, limit: int, gap: str) -> None:
        """Read `req` to its end (up to `limit`); say what was left when the limit cut it."""
        if _read(client, req, title, since, limit, out, any_status=any_status) is not None:
            out.complete = False
            out.gaps.append(gap)

    if tagged:
        read_all(tag_request(client, title, since), TAGGED_MAX,
                 f"more than {TAGGED_MAX:,} sessions carry this title's tag; the newest were read")
        if out.found:
            return out
    scan = _scan_request(client, since)
    cursor = _read(client, scan, title, since, PAGE_MAX, out, any_status=any_status)
    if cursor is None:
        return out
    read_all(_scan_request(client, since, PEOPLE_ORIGINS), PEOPLE_MAX,
             f"people started more than {PEOPLE_MAX:,} sessions in the window; the newest were read")
    if out.found:
        return out
    if cursor and _read(client, client.derive(scan, params={"after": cursor}), title, since, SCAN_MAX - PAGE_MAX,
                        out, any_status=any_status) is None:
        return out
    out.complete = False
    out.gaps.append(f"sessions without the dedup tag created through the API or automations were read only "
                    f"among the window's {SCAN_MAX:,} newest sessions")
    return out


def peers(client: Client, title: str, *, since: float, tagged: bool) -> dict:
    """The active sessions with this title, by id: the tagged ones (racers of this plugin always
    carry the tag), or without tags the window's newest SCAN_MAX."""
    out = Search()
    req = tag_request(client, title, int(since)) if tagged else _scan_request(client, int(since))
    _read(client, req, title, int(since), TAGGED_MAX if tagged else SCAN_MAX, out)
    return {s["session_id"]: s for s in out.found}


# -- the same task? -------------------------------------------------------------------------------

def same_task(client: Client, session: dict, prompt: str) -> bool | None:
    """Whether `session` was started with this prompt. A different prompt tag answers no at once; a
    matching one is only a hint (anyone in the org can tag a session), so the first message decides.
    None when it cannot be read."""
    tags = [t for t in session.get("tags") or () if isinstance(t, str)]
    if prompt_tag(prompt) not in tags and any(t.startswith(PROMPT_TAG) for t in tags):
        return False
    try:
        page = client.send(first_page(client, "GET", routes.SESSION_MESSAGES, max_items=1, action="dedup",
                                      path={"devin_id": session["session_id"]})).data
    except DevinError:
        return None
    items = page.get("items") if isinstance(page, dict) else None
    first = items[0] if isinstance(items, list) and items and isinstance(items[0], dict) else None
    if first is None or first.get("source") != "user" or not isinstance(first.get("message"), str):
        return None
    return normal_prompt(first["message"]) == normal_prompt(prompt)


# -- after creating -------------------------------------------------------------------------------

def _earliest(found: dict) -> dict:
    return min(found.values(), key=_order)


def converge(client: Client, title: str, prompt: str, mine: dict, *, since: float, tagged: bool, settle_s: float,
             note: Note = _quiet, sleep: Callable[[float], None] = time.sleep,
             sweep_since: float | None = None) -> dict:
    """Cross-machine dedup without server idempotency: after creating, look again (at once and after a
    settle delay); if an earlier active session has the same title and the same task, end ours and
    answer with that one. A session with the same title and another task is not ours to end.

    A racer created later always sees the earlier ones it loses to.

    With `sweep_since` (the create took more than one attempt: an answer such as a 429 may have come
    after the server had already created a session), every other active session with this title and
    task, created since then by this principal, is one this call may have made without knowing its
    id: it is ended too. Ending non-survivors is what every racer does anyway, so this never ends the
    session that survives.
    """
    mine_id = mine["session_id"]
    winner, ended = mine, False
    found: dict = {}
    for attempt in range(2):
        if attempt:
            if settle_s <= 0 or settle_s >= client.remaining() - 5:
                break
            sleep(settle_s)
        try:
            found = peers(client, title, since=since, tagged=tagged)
        except DevinError:
            break  # we created our session; failing to look again must not turn that into an error
        same = {sid: s for sid, s in found.items()
                if sid == mine_id or (_order(s) < _order(mine) and same_task(client, s, prompt))}
        if not ended:
            same.setdefault(mine_id, mine)
        if same:
            winner = _earliest(same)
        if winner["session_id"] != mine_id and not ended:
            # An earlier session exists, so ours can never be the survivor: end it at once. The answer
            # waits for the last look, because an even earlier racer may show up only by then.
            note(f"another session with this title and task was created at the same time "
                 f"({winner['session_id']}); ending ours ({mine_id}) and answering with the earliest one")
            _end(client, mine_id, note)
            ended = True
    swept = _sweep(client, found, winner, mine, prompt, sweep_since, note) if sweep_since is not None else []
    out = dict(winner, is_new_session=False, duplicate_ended=mine_id) if ended else dict(mine, is_new_session=True)
    if swept:
        out["duplicates_ended"] = swept
    return out


def _end(client: Client, session_id: str, note: Note) -> bool:
    try:
        client.call("DELETE", routes.SESSION, path={"devin_id": session_id}, action="dedup_converge")
        return True
    except DevinError as err:
        note(f"could not end the duplicate {session_id}: {err.message}; end it by hand")
        return False


def sweep_own(client: Client, title: str, prompt: str, mine: dict, *, since: float, tagged: bool,
              note: Note) -> list[str]:
    """For a --force-new create that took more than one attempt: end the other sessions of this title
    and task that this principal made since the call started (an attempt answered with a 429 may have
    made one)."""
    try:
        found = peers(client, title, since=since - 10, tagged=tagged)
    except DevinError:
        return []
    return _sweep(client, found, mine, mine, prompt, since, note)


def _creator(session: dict) -> tuple:
    return session.get("user_id"), session.get("service_user_id")


def _sweep(client: Client, found: dict, winner: dict, mine: dict, prompt: str, since: float,
           note: Note) -> list[str]:
    """End the sessions an earlier attempt of this create may have made: same title and task, created
    since it started, by the same principal (another user's session with the same title is left alone)."""
    ended = []
    for sid, s in sorted(found.items()):
        if sid in (winner["session_id"], mine["session_id"]) or not _created(s) or _created(s) < since - 5 \
                or _creator(s) != _creator(mine) or not same_task(client, s, prompt):
            continue
        note(f"ending {sid}: a session with this title that an earlier attempt of this create may have made")
        if _end(client, sid, note):
            ended.append(sid)
    return ended


def earliest_if_young(client: Client, title: str, prompt: str, found: dict, *, since: float, tagged: bool,
                      settle_s: float, sleep: Callable[[float], None] = time.sleep) -> dict:
    """A session found by dedup may be another machine's racer that is about to end itself for an earlier
    one; when it is young, look again after the settle delay and answer with the earliest active one
    with the same task."""
    created = found.get("created_at")
    if (settle_s <= 0 or not isinstance(created, (int, float)) or time.time() - created > settle_s + 60
            or settle_s >= client.remaining() - 5):
        return found
    sleep(settle_s)
    try:
        again = peers(client, title, since=since, tagged=tagged)
    except DevinError:
        return found
    same = {sid: s for sid, s in again.items() if sid != found["session_id"] and _order(s) < _order(found)
            and same_task(client, s, prompt)}
    same[found["session_id"]] = again.get(found["session_id"], found)
    return _earliest(same)


def made_since(client: Client, title: str, prompt: str, started: float, *, tagged: bool) -> dict | None:
    """The earliest session with this title and task made since a create started (any status): what an
    attempt whose answer was lost or refused after the fact may have made."""
    try:
        search = find(client, title, since=started - 10, tagged=tagged, any_status=True)
    except DevinError:
        return None
    for s in search.found:
        if same_task(client, s, prompt):
            return s
    return None


def reconcile_create(client: Client, title: str, prompt: str, started: float, err: UnknownOutcome, note: Note,
                     *, tagged: bool) -> dict:
    """After an ambiguous create, look before answering: a lost response must not become a lie."""
    note("the create's answer was lost; checking whether the session was created...")
    found = made_since(client, title, prompt, started, tagged=tagged)
    if found:
        from .formatting import word
        note(f"the session was created ({word(found.get('session_id'))})")
        return found
    raise UnknownOutcome(err.message + ". No session with this title has appeared yet: run the same "
                         "create again with the same title in a minute; dedup will return the session if it "
                         "was created, and create it otherwise.", http_status=err.http_status)
