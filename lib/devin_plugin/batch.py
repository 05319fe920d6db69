"""A batch of tasks: plan before spending, keep at most N sessions running, never start a task twice.

A batch file names the batch, optional `defaults` (create fields) and `tasks` (each a title, a prompt
and any create field). Every session the batch starts carries the tag `batch-<name>` next to the
dedup tags, so a rerun finds the batch's sessions in a few filtered requests and continues: a task
that already has a session in the batch is never started again, and a task whose title has an active
session elsewhere counts as started (the create's own dedup, the same as create_session.py).

"Running" for the cap means Devin is at it: starting, working or waiting for the user. A session that
finished its turn, sleeps or ended frees its slot.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from . import dedup, routes
from .errors import DevinError, InvalidInput, PolicyError
from .limits import PAGE_MAX
from .paging import collect, first_page
from .states import is_active, status_class

if TYPE_CHECKING:
    from .context import Context
    from .http import Client
    from .policy import Policy
    from .request import Request

NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,57}")
TASKS_MAX = 1_000
TAGS_PER_LOOK = 40            # title tags asked for in one list request (the filter matches any of them)
BATCH_SESSIONS_MAX = 5_000
RUNNING_CLASSES = ("starting", "working", "needs_user")
MODE_COST = {"fast": "about 4x the ACUs of normal (documented)"}
Note = Callable[[str], None]


@dataclass
class Task:
    title: str
    payload: dict
    state: str = "new"              # new, running, done, started, waiting, refused
    session_id: str | None = None
    detail: str | None = None


@dataclass
class Batch:
    name: str
    tasks: list[Task] = field(default_factory=list)

    @property
    def tag(self) -> str:
        return "batch-" + self.name


# -- the file -------------------------------------------------------------------------------------

def parse(doc: Any, policy: Policy) -> Batch:
    """The batch document, checked whole before anything is sent: every task through the create policy."""
    if not isinstance(doc, dict) or set(doc) - {"batch", "defaults", "tasks"}:
        extra = sorted(set(doc) - {"batch", "defaults", "tasks"}) if isinstance(doc, dict) else []
        raise InvalidInput("a batch file is an object with `batch`, optional `defaults` and `tasks`"
                           + (f"; unknown key(s): {', '.join(map(ascii, extra[:5]))}" if extra else ""))
    name = doc.get("batch")
    if not isinstance(name, str) or not NAME.fullmatch(name):
        raise InvalidInput(f"`batch` {ascii(name)[:80]}: allowed is 1-58 of letters, digits, '.', '_' and '-', "
                           "starting with a letter or digit (it becomes the tag batch-<name>)")
    defaults = doc.get("defaults") or {}
    if not isinstance(defaults, dict) or {"title", "prompt"} & set(defaults):
        raise InvalidInput("`defaults` is an object of create fields (not title or prompt)")
    tasks = doc.get("tasks")
    if not isinstance(tasks, list) or not tasks or len(tasks) > TASKS_MAX:
        raise InvalidInput(f"`tasks` is a list of 1 to {TASKS_MAX} objects with `title` and `prompt`")
    batch, seen = Batch(name), dict[str, int]()
    for i, raw in enumerate(tasks, 1):
        if not isinstance(raw, dict) or not isinstance(raw.get("title"), str) or not isinstance(raw.get("prompt"), str):
            raise InvalidInput(f"task {i}: an object with a `title` and a `prompt` (strings)")
        where = f"task {i} ({ascii(raw['title'][:60])})"
        try:
            payload, _filled = policy.apply_create_defaults({**defaults, **raw})  # the caps the create will send
            payload["tags"] = list(dict.fromkeys([*(payload.get("tags") or []), batch.tag]))
            policy.check("session_create", payload)
            policy.check("session_create", dedup.with_tags(payload))
        except (PolicyError, InvalidInput) as err:
            raise type(err)(f"{where}: {err.message}. Nothing was sent.") from None
        key = dedup.normal_title(raw["title"])
        if key in seen:
            raise InvalidInput(f"{where}: the same title as task {seen[key]} (case and spaces ignored); titles are "
                               "the dedup key, so each task needs its own. Nothing was sent.")
        seen[key] = i
        batch.tasks.append(Task(raw["title"], payload))
    return batch


def check_budget(batch: Batch, budget: float | None) -> float:
    """The sum of the tasks' caps; with a budget, every task needs a cap and the sum must fit."""
    caps = [t.payload.get("max_acu_limit") for t in batch.tasks]
    if budget is not None:
        missing = [t.title for t, c in zip(batch.tasks, caps, strict=True) if not isinstance(c, int)]
        if missing:
            raise InvalidInput(f"--budget-acu needs a max_acu_limit on every task; without one: "
                               f"{', '.join(ascii(m[:40]) for m in missing[:5])}"
                               f"{' and more' if len(missing) > 5 else ''}. Nothing was sent.")
    total = float(sum(c for c in caps if isinstance(c, int)))
    if budget is not None and total > budget:
        raise InvalidInput(f"the tasks' max_acu_limit add up to {total:g} ACUs, over --budget-acu {budget:g}. "
                           "Nothing was sent.")
    return total


# -- what exists ----------------------------------------------------------------------------------

def _running(session: dict) -> bool:
    return status_class(session) in RUNNING_CLASSES


def first_look(client: Client, batch: Batch) -> Request:
    """The plan's first request: the sessions the batch started (its tag)."""
    return first_page(client, "GET", routes.SESSIONS, params={"tags": [batch.tag]}, max_items=BATCH_SESSIONS_MAX,
                      action="batch")


def look(client: Client, batch: Batch, *, dedup_days: float = 7) -> dict:
    """Mark each task from the API: done or running (a session of the batch with its title), running (an
    active session elsewhere with its title), or new. Costs 1 + ceil(untracked tasks / TAGS_PER_LOOK)
    requests, plus pages past 200 sessions."""
    requests = 0
    mine = collect(client, first_look(client, batch), max_items=BATCH_SESSIONS_MAX)
    requests += max(1, -(-len(mine["items"]) // PAGE_MAX))
    by_title: dict[str, list[dict]] = {}
    for s in mine["items"]:
        if isinstance(s, dict) and isinstance(s.get("title"), str) and isinstance(s.get("session_id"), str) \
                and batch.tag in (s.get("tags") or []):
            by_title.setdefault(dedup.normal_title(s["title"]), []).append(s)
    rest = []
    for t in batch.tasks:
        own = sorted(by_title.get(dedup.normal_title(t.title), []), key=lambda s: s.get("created_at") or 0)
        if own:
            live = [s for s in own if _running(s)]
            t.session_id = (live or own)[-1]["session_id"]
            t.state = "running" if live else "done"
        else:
            rest.append(t)
    since = int(time.time() - dedup_days * 86400)
    for i in range(0, len(rest), TAGS_PER_LOOK):
        group = rest[i:i + TAGS_PER_LOOK]
        page = collect(client, first_page(client, "GET", routes.SESSIONS, max_items=PAGE_MAX, action="batch",
                                          params={"tags": [dedup.title_tag(t.title) for t in group],
                                                  "created_after": since, "is_archived": "false"}),
                       max_items=PAGE_MAX * 5)
        requests += max(1, -(-len(page["items"]) // PAGE_MAX))
        active: dict[str, dict] = {}
        for s in page["items"]:
            if isinstance(s, dict) and isinstance(s.get("title"), str) and is_active(s):
                active.setdefault(dedup.normal_title(s["title"]), s)
        for t in group:
            s = active.get(dedup.normal_title(t.title))
            if s is not None:
                t.state, t.session_id = ("running" if _running(s) else "done"), s.get("session_id")
                t.detail = "an active session with this title exists outside the batch"
    return {"requests": requests, "batch_sessions": len(mine["items"])}


# -- running ---------------------------------------------------------------------------------------

def run(client: Client, policy: Policy, batch: Batch, *, max_active: int, create: Callable[[dict], dict],
        note: Note) -> int:
    """Start new tasks, in order, while fewer than `max_active` are running. Returns how many were started."""
    running = sum(1 for t in batch.tasks if t.state == "running")
    started = 0
    for t in batch.tasks:
        if t.state != "new":
            continue
        if running >= max_active:
            t.state = "waiting"
            continue
        try:
            made = create(t.payload)
        except (InvalidInput, PolicyError) as err:
            t.state, t.detail = "refused", err.message
            note(f"{t.title!r}: {err.message}")
            continue
        except DevinError as err:
            # Anything else (rate limit, lost answer) stops the run: a rerun continues, and dedup finds
            # a session the lost answer may have made.
            t.state, t.detail = "error", err.message
            note(f"stopped at {t.title!r}: {err.message}; run the same command again to continue")
            break
        t.session_id = made.get("session_id")
        t.state = "started" if made.get("is_new_session") else "running"
        running += 1
        started += t.state == "started"
    for t in batch.tasks:
        if t.state == "new":
            t.state = "waiting"
    return started


def as_doc(batch: Batch, *, total_caps: float, budget: float | None, max_active: int, sent: bool,
           looked: dict) -> dict:
    modes = sorted({str(t.payload.get("devin_mode")) for t in batch.tasks if t.payload.get("devin_mode")})
    notes = [f"devin_mode {m}: {MODE_COST[m]}" for m in modes if m in MODE_COST]
    items = []
    for t in batch.tasks:
        item: dict = {"title": t.title, "state": t.state, "max_acu_limit": t.payload.get("max_acu_limit")}
        if t.session_id:
            item["session_id"] = t.session_id
        if t.detail:
            item["detail"] = t.detail
        items.append(item)
    counts: dict[str, int] = {}
    for t in batch.tasks:
        counts[t.state] = counts.get(t.state, 0) + 1
    return {"batch": batch.name, "tag": batch.tag, "items": items, "counts": counts, "total_max_acu": total_caps,
            "budget_acu": budget, "max_active": max_active, "cost_notes": notes, "sent": sent,
            "plan_requests": looked.get("requests")}


def load_text(text: str, what: str) -> Any:
    """A batch file's document: JSON (strict: duplicate keys refused) when it starts with '{', else YAML
    without aliases (a few lines of aliases can expand to gigabytes) and without duplicate keys."""
    if text.lstrip().startswith("{"):
        from .http_json import loads_strict
        try:
            return loads_strict(text)
        except ValueError as exc:
            raise InvalidInput(f"{what} is not valid JSON ({exc})") from None
    import yaml

    class Strict(yaml.SafeLoader):
        def compose_node(self, parent: Any, index: Any) -> Any:
            if self.check_event(yaml.AliasEvent):
                raise InvalidInput(f"{what}: YAML aliases (*name) are not allowed in a batch file")
            return super().compose_node(parent, index)

        def construct_mapping(self, node: Any, deep: bool = False) -> Any:
            keys = [self.construct_object(k, deep=True) for k, _ in node.value]
            dup = next((k for i, k in enumerate(keys) if k in keys[:i]), None)
            if dup is not None:
                raise InvalidInput(f"{what}: the key {ascii(dup)[:60]} appears twice in one mapping")
            return super().construct_mapping(node, deep=deep)

    try:
        return yaml.load(text, Loader=Strict)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise InvalidInput(f"{what} is not valid YAML{where}") from None


def perform(ctx: Context, document: Any, *, budget: float | None, max_active: int, start: bool) -> dict:
    """The one way a batch is planned, previewed or run, for the script and the MCP tools alike: the
    whole document checked (policy, budget) before any request; with `ctx.dry_run` the first task's create
    and the plan's first look, nothing sent; else the plan, and with `start` the new tasks started."""
    from . import sessions
    policy = ctx.policy()
    parsed = parse(document, policy)
    total = check_budget(parsed, budget)
    ctx.settings()
    client = ctx.client(600)
    if ctx.dry_run:
        doc = sessions.create_session(client, policy, parsed.tasks[0].payload, dry_run=True)
        doc["batch"] = {"name": parsed.name, "tasks": len(parsed.tasks),
                        "looks_up": first_look(client, parsed).describe()}
        return doc
    looked = look(client, parsed)
    if start:
        def create(payload: dict) -> dict:
            made = sessions.create_session(client, policy, payload, settle_s=ctx.dedup_settle_seconds(),
                                           note=ctx.note)
            return ctx.remember_created(made)
        run(client, policy, parsed, max_active=max_active, create=create, note=ctx.note)
    return as_doc(parsed, total_caps=total, budget=budget, max_active=max_active, sent=start, looked=looked)
