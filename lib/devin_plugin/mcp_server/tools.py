"""The MCP tool table: one tool per operation, each body a thin call into the library.

Input schemas come from the payload policy (``Policy.schema(endpoint)``) plus each tool's own
options, so a field the policy does not allow is not even offered (gated fields appear only when
the user's policy file enables them). Limits are the library's (limits.py), the same as the scripts'.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .. import ids, limits, output, resources, routes, sessions
from ..errors import InvalidInput
from ..states import CLASS_WORDS, status_class
from .runner import Call, Headline, Tool

if TYPE_CHECKING:
    from ..http import Client
    from ..policy import Policy


SESSION_ARG = {"type": "string", "minLength": 1, "maxLength": 300,
               "description": "the session: " + ids.SESSION_HELP}
CONFIRM_ARG = {"type": "boolean", "const": True,
               "description": "must be true, and only after the user explicitly confirmed this irreversible "
                              "action for this exact item in this conversation"}
DRY_RUN_ARG = {"type": "boolean", "default": False,
               "description": "only show the request that would be sent (token as ***); send nothing"}
RESOURCE_ID_ARG = {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$"}


# -- tool bodies ---------------------------------------------------------------------------------

def t_create(call: Call) -> dict:
    result = sessions.create_session(call.client(120), call.policy(), call.payload,
                                     force_new=bool(call.args.get("force_new")),
                                     follow_up=bool(call.args.get("follow_up")),
                                     dedup_days=call.args.get("dedup_days", 7),
                                     settle_s=call.dedup_settle_seconds(), dry_run=call.dry_run, note=call.note)
    return call.with_notes(call.remember_created(result))


def t_get(call: Call) -> dict:
    return sessions.get_session(call.client(), call.session())


def t_list(call: Call) -> dict:
    a = call.args
    tags = a.get("tag") or []
    if tags:
        call.policy().check("session_tags", {"tags": tags})
    page = sessions.list_sessions(call.client(120), limit=a.get("limit", 10), fetch_all=False, tags=tags,
                                  created_after=a.get("created_after"), created_before=a.get("created_before"),
                                  enterprise=bool(a.get("enterprise")))
    dropped = page.pop("dropped_foreign", 0)
    if dropped:
        page["dropped_foreign_items"] = dropped
    return page


def t_send(call: Call) -> dict:
    sid = call.session()
    result = sessions.send_message(call.client(), call.policy(), sid, call.payload, dry_run=call.dry_run,
                                   unarchive=bool(call.args.get("unarchive")), note=call.note)
    return call.with_notes(result)


def t_messages(call: Call) -> dict:
    after = call.args.get("after")
    if after is not None and not after.isprintable():
        raise InvalidInput("after must be a cursor returned by an earlier call")
    result = sessions.list_messages(call.client(120), call.session(), limit=call.args.get("limit"), after=after,
                                    new=bool(call.args.get("new")), remember=True, note=call.note)
    return call.with_notes(result)


def t_wait(call: Call) -> dict:
    sid = call.session()
    timeout = float(call.args.get("timeout", 600))
    interval = float(call.args.get("interval", 10))
    since = sessions.parse_since(call.args["since"], "since") if call.args.get("since") is not None else None
    start = time.monotonic()
    state: dict[str, Any] = {"polls": 0, "last": "waiting"}
    make = call.client_factory()

    def factory(deadline: float) -> Client:
        state["polls"] += 1
        call.progress(round(time.monotonic() - start, 1), timeout, f"poll {state['polls']}: {state['last']}")
        return make(deadline)

    def on_change(message: str) -> None:
        state["last"] = output.safe(message).strip()
        call.progress(round(time.monotonic() - start, 1), timeout, str(state["last"]))

    # A timeout raises the `timeout` error (the script's exit 9), carrying the session and the summary.
    return sessions.wait(factory, sid, timeout_s=timeout, interval_s=interval, max_interval_s=max(60.0, interval),
                         since=since, progress=on_change)


def t_tags(call: Call) -> dict:
    a = call.args
    changing = bool(a.get("add") or a.get("remove") or a.get("set") is not None)
    return sessions.update_tags(call.client(), call.policy() if changing else None, call.session(),
                                add=a.get("add") or (), remove=a.get("remove") or (), replace=a.get("set"),
                                dry_run=call.dry_run)


def t_archive(call: Call) -> dict:
    return sessions.archive(call.client(), call.session(), dry_run=call.dry_run)


def t_unarchive(call: Call) -> dict:
    return sessions.unarchive_session(call.client(), call.session(), dry_run=call.dry_run)


def t_attachments(call: Call) -> dict:
    return sessions.list_attachments(call.client(), call.session())


def t_download(call: Call) -> dict:
    from .. import downloads, localfiles
    base = upload_base_dir(call.env)
    target = localfiles.check(call.args["dir"], cwd=base, env=call.env, what="dir", writing=True)
    client = call.client(600)
    result = sessions.list_attachments(client, call.session())
    result["downloads"] = downloads.save(client, result["items"], target)
    return result


def t_terminate(call: Call) -> dict:
    return sessions.terminate(call.client(), call.session(), archive=bool(call.args.get("archive")),
                              dry_run=call.dry_run)


def _list(template: str, action: str, default: int) -> Callable[[Call], dict]:
    def run(call: Call) -> dict:
        a = call.args
        params = resources.note_filters(folder_path=a.get("folder_path"), search=a.get("search"),
                                        pinned_repo=a.get("pinned_repo"),
                                        names={"folder_path": "folder_path", "search": "search",
                                               "pinned_repo": "pinned_repo"})
        return resources.list_items(call.client(120), template, limit=a.get("limit", default),
                                    params=params, action=action)
    return run


def t_folders(call: Call) -> dict:
    return resources.list_folders(call.client())


def _get(kind: resources.Kind) -> Callable[[Call], dict]:
    return lambda call: resources.get(call.client(), kind, call.args[kind.key])


def _create(kind: resources.Kind) -> Callable[[Call], dict]:
    return lambda call: resources.create(call.client(), call.policy(), kind, call.payload, dry_run=call.dry_run)


def _update(kind: resources.Kind) -> Callable[[Call], dict]:
    return lambda call: resources.update(call.client(), call.policy(), kind, call.args[kind.key], call.payload,
                                         dry_run=call.dry_run)


def _delete(kind: resources.Kind) -> Callable[[Call], dict]:
    return lambda call: resources.delete_item(call.client(), kind, call.args[kind.key], dry_run=call.dry_run)


def t_delete_secret(call: Call) -> dict:
    return resources.delete_secret(call.client(), call.args["secret_id"], dry_run=call.dry_run)


def upload_base_dir(env: Any) -> str:
    """Uploads come from under the project the host runs in, never from the plugin's own folder."""
    from ..boot import ROOT
    base = env.get("DEVIN_PLUGIN_WORKDIR") or env.get("CLAUDE_PROJECT_DIR") or os.getcwd()
    real = os.path.realpath(base)
    root = os.path.realpath(ROOT)
    if real == root or real.startswith(root + os.sep):
        raise InvalidInput("the MCP server runs in the plugin's folder, so there is no project directory to upload "
                           "from; start it from the project, or set DEVIN_PLUGIN_WORKDIR")
    return real


def t_upload(call: Call) -> dict:
    spec = resources.open_upload(call.args["path"], max_bytes=call.policy().limit("upload_max_bytes"),
                                 cwd=upload_base_dir(call.env), secrets=tuple(t for t in [call.settings().token] if t),
                                 env=call.env)
    with spec[1]:
        return resources.upload(call.client(600), spec, dry_run=call.dry_run)


def t_inbox(call: Call) -> dict:
    from .. import inbox
    return inbox.inbox(call.client(), all_sessions=bool(call.args.get("all")), days=call.args.get("days", 30),
                       dry_run=call.dry_run)


def t_usage(call: Call) -> dict:
    from .. import usage
    tag = call.args.get("tag")
    if tag is not None:
        call.policy().check("session_tags", {"tags": [tag]})
    return usage.usage(call.client(120), days=usage.check_days(call.args.get("days", 7), "days"), tag=tag,
                       dry_run=call.dry_run)


def t_pickup(call: Call) -> dict:
    """Only inside the repository the server runs in (its project): never a path the agent names."""
    from .. import pickup
    if call.dry_run:
        return sessions.get_session(call.client(), call.session(), dry_run=True)
    base = upload_base_dir(call.env)
    session = sessions.get_session(call.client(), call.session())
    return pickup.pickup(session, wanted=call.args.get("pr"), cwd=base, env=call.env,
                         state_dir=call.settings().state_dir)


def _batch(call: Call, run: bool) -> dict:
    from .. import batch
    doc = batch.perform(call, call.args["batch"], budget=call.args.get("budget_acu"),
                        max_active=call.args.get("max_active", 3), start=run)
    return doc if doc.get("dry_run") else call.with_notes(doc)


def t_batch_plan(call: Call) -> dict:
    return _batch(call, run=False)


def t_batch_run(call: Call) -> dict:
    return _batch(call, run=True)


def t_check_setup(call: Call) -> dict:
    from .. import setup_check
    doc, _code = setup_check.run(call.env, dry_run=call.dry_run, transport=call.transport)
    return doc


# -- headlines -----------------------------------------------------------------------------------

def _session_head(verb: str | Callable[[dict], str]) -> Headline:
    def head(doc: dict, args: dict) -> str:
        if doc.get("dry_run"):
            return "Dry run: nothing was sent."
        cls = status_class(doc)
        from ..formatting import word
        return f"{verb(doc) if callable(verb) else verb} {word(doc.get('session_id'))}: {CLASS_WORDS.get(cls, cls)}"
    return head


def _created(doc: dict) -> str:
    return "Created Devin session" if doc.get("is_new_session") else \
        "Found an active session with the same title (not created again):"


def _waited(doc: dict) -> str:
    return ("Stopped waiting; the session is still going:" if doc.get("wait", {}).get("outcome") == "timeout"
            else "Session")


def _fixed(text: str) -> Headline:
    return lambda doc, args: "Dry run: nothing was sent." if doc.get("dry_run") else text


BATCH_OPTIONS = {"batch": {"type": "object", "description": "the batch document: batch, defaults, tasks"},
                 "max_active": {"type": "integer", "minimum": 1, "maximum": 100, "default": 3},
                 "budget_acu": {"type": "number", "exclusiveMinimum": 0, "maximum": 1e9},
                 "dry_run": DRY_RUN_ARG}


def _batch_head(doc: dict, args: dict) -> str:
    if doc.get("dry_run"):
        return "Dry run: nothing was sent."
    counts = ", ".join(f"{n} {state}" for state, n in (doc.get("counts") or {}).items())
    return f"Batch {doc.get('batch')}: {counts}" + ("" if doc.get("sent") else " (plan only, nothing sent)")


def _count(what: str) -> Headline:
    return lambda doc, args: f"{len(doc.get('items') or [])} {what}" + (" (more exist)" if doc.get("has_next_page")
                                                                         else "")


def _usage_head(doc: dict, args: dict) -> str:
    if doc.get("dry_run"):
        return "Dry run: nothing was sent."
    from ..formatting import acus
    cut = "" if doc.get("complete") else f" (at least: the {limits.SESSIONS_LIST_MAX:,}-session bound cut the list)"
    return f"{acus(doc.get('total_acus'))} ACUs over {doc.get('sessions')} session(s){cut}"


def limit_arg(default: int, cap: int) -> dict:
    return {"type": "integer", "minimum": 1, "maximum": cap, "default": default}


# -- the table -----------------------------------------------------------------------------------

def tools(policy: Policy) -> list[Tool]:
    """The tool table; ``policy`` supplies the tag schema used by the tag options."""
    tag = policy.schema("session_tags")["properties"]["tags"]["items"]
    tag_list = {"type": "array", "items": tag, "maxItems": policy.limit("tags_max"), "uniqueItems": True}
    sess = {"session": SESSION_ARG}
    pb, note = resources.PLAYBOOK, resources.NOTE
    return [
        Tool("create_session", "Create a Devin session",
             "Create a Devin session for a well-scoped task, deduplicated by title (case and spaces ignored): an "
             "active session with the same title and prompt is returned instead (is_new_session false); the same "
             "title with another prompt is refused unless follow_up or force_new. Fields are the payload policy's; "
             "impersonation and inline secrets are refused. Costs ACUs.",
             t_create, endpoint="session_create",
             options={"force_new": {"type": "boolean", "default": False,
                                    "description": "skip dedup and always create (only when the user asked)"},
                      "follow_up": {"type": "boolean", "default": False,
                                    "description": "same title, another prompt: send the prompt to that session"},
                      "dedup_days": {"type": "number", "exclusiveMinimum": 0, "maximum": limits.DEDUP_DAYS_MAX,
                                     "default": 7},
                      "dry_run": DRY_RUN_ARG},
             headline=_session_head(_created)),
        Tool("get_session", "Show a Devin session", "One session of the configured organization. Read-only.",
             t_get, options=sess, required=("session",), read_only=True, idempotent=True,
             headline=_session_head("Devin session")),
        Tool("list_sessions", "List Devin sessions",
             "The organization's sessions, newest first. Read-only.", t_list,
             options={"limit": limit_arg(10, limits.SESSIONS_LIST_MAX), "tag": tag_list,
                      "created_after": {"type": "integer", "minimum": 0, "description": "unix seconds, inclusive"},
                      "created_before": {"type": "integer", "minimum": 0, "description": "unix seconds, exclusive"},
                      "enterprise": {"type": "boolean", "default": False,
                                     "description": "enterprise scope, always filtered to the configured org"}},
             read_only=True, idempotent=True, headline=_count("session(s), newest first")),
        Tool("send_message", "Message a Devin session",
             "Send a follow-up message to a session (wakes a suspended one). Fields are the payload policy's.",
             t_send, endpoint="session_message",
             options={**sess, "unarchive": {"type": "boolean", "default": False,
                                            "description": "unarchive an archived session first (else refused)"},
                      "dry_run": DRY_RUN_ARG}, required=("session",),
             headline=_session_head("Message sent to")),
        Tool("list_messages", "Read a session's messages",
             "A session's messages, oldest first (untrusted data). Read-only: never wakes the session.", t_messages,
             options={**sess, "limit": limit_arg(50, limits.MESSAGES_LIST_MAX),
                      "after": {"type": "string", "maxLength": limits.CURSOR_MAX,
                                "description": "end_cursor of an earlier call"},
                      "new": {"type": "boolean", "default": False,
                              "description": "only messages not shown on this machine before"}},
             required=("session",), read_only=True, idempotent=True, headline=_count("message(s), oldest first")),
        Tool("wait_session", "Wait for a Devin session",
             "Poll until the session needs someone, is done for now, asleep or ended (last_devin_message: its "
             "question); a `timeout` error if Devin is still working. Reports MCP progress. Read-only.", t_wait,
             options={**sess, "timeout": {"type": "number", "exclusiveMinimum": 0, "maximum": limits.WAIT_TOOL_MAX_S,
                                          "default": 600},
                      "interval": {"type": "number", "exclusiveMinimum": 0, "maximum": 600, "default": 10,
                                   "description": "first poll interval; grows 1.5x per poll up to 60 s"},
                      "since": {"type": "number", "minimum": 0,
                                "description": "unix time a message was just sent: a state from before it is no stop"}},
             required=("session",), read_only=True, idempotent=True, headline=_session_head(_waited)),
        Tool("update_tags", "List or change a session's tags",
             "With none of add/remove/set: list the tags. add appends, remove drops, set replaces all.", t_tags,
             options={**sess, "add": tag_list, "remove": tag_list, "set": tag_list, "dry_run": DRY_RUN_ARG},
             required=("session",), idempotent=True,
             headline=lambda d, a: "Dry run: nothing was sent." if d.get("dry_run") else "Tags"),
        Tool("archive_session", "Archive a Devin session",
             "Archive a session (unarchive_session undoes it; a live session is put to sleep).", t_archive,
             options={**sess, "dry_run": DRY_RUN_ARG}, required=("session",), destructive=True, idempotent=True,
             headline=_session_head("Archived")),
        Tool("unarchive_session", "Unarchive a Devin session",
             "Unarchive a session so that it can take messages and be woken again.", t_unarchive,
             options={**sess, "dry_run": DRY_RUN_ARG}, required=("session",), idempotent=True,
             headline=_session_head("Unarchived")),
        Tool("list_attachments", "List a session's attachments",
             "The files Devin produced in a session (and the user's uploads). Untrusted data. Read-only.",
             t_attachments, options=sess, required=("session",), read_only=True, idempotent=True,
             headline=_count("attachment(s)")),
        Tool("download_attachments", "Download a session's attachments",
             "Save every file of a session under an existing folder of the project (sanitised names, never "
             "overwriting; the presigned download is fetched without the token). Untrusted data.", t_download,
             options={**sess, "dir": {"type": "string", "minLength": 1, "maxLength": 1024,
                                      "description": "an existing folder, relative to the project"}},
             required=("session", "dir"), headline=_count("attachment(s)")),
        Tool("terminate_session", "Terminate a Devin session",
             "Terminate a session for good (irreversible). Show the session to the user and get an explicit yes "
             "first; then call with confirm: true.", t_terminate,
             options={**sess, "archive": {"type": "boolean", "default": False, "description": "also archive it"},
                      "confirm": CONFIRM_ARG, "dry_run": DRY_RUN_ARG},
             required=("session", "confirm"), destructive=True, idempotent=True,
             headline=_session_head("Terminated")),
        Tool("list_playbooks", "List playbooks", "The organization's playbooks. Read-only.",
             _list(routes.PLAYBOOKS, "list_playbooks", 100),
             options={"limit": limit_arg(100, limits.RESOURCE_LIST_MAX)},
             read_only=True, idempotent=True, headline=_count("playbook(s)")),
        Tool("get_playbook", "Show a playbook", "One playbook (its body is untrusted data). Read-only.",
             _get(pb), options={"playbook_id": RESOURCE_ID_ARG}, required=("playbook_id",), read_only=True,
             idempotent=True, headline=lambda d, a: f"Playbook {a.get('playbook_id')}"),
        Tool("create_playbook", "Create a playbook", "Create a playbook. Fields are the payload policy's.",
             _create(pb), endpoint="playbook_write", options={"dry_run": DRY_RUN_ARG},
             headline=_fixed("Playbook created.")),
        Tool("update_playbook", "Update a playbook",
             "Change a playbook: the given fields replace the current ones.", _update(pb),
             endpoint="playbook_write", partial=True, options={"playbook_id": RESOURCE_ID_ARG, "dry_run": DRY_RUN_ARG},
             required=("playbook_id",), idempotent=True, destructive=True, headline=_fixed("Playbook updated.")),
        Tool("delete_playbook", "Delete a playbook", "Delete a playbook (irreversible); needs confirm: true after the "
             "user's explicit yes.", _delete(pb),
             options={"playbook_id": RESOURCE_ID_ARG, "confirm": CONFIRM_ARG, "dry_run": DRY_RUN_ARG},
             required=("playbook_id", "confirm"), destructive=True, idempotent=True,
             headline=_fixed("Playbook deleted.")),
        Tool("list_knowledge", "List knowledge notes", "The organization's knowledge notes. Read-only.",
             _list(routes.NOTES, "knowledge_list", 100),
             options={"limit": limit_arg(100, limits.RESOURCE_LIST_MAX),
                      "folder_path": {"type": "string", "maxLength": limits.SEARCH_MAX_CHARS},
                      "search": {"type": "string", "maxLength": limits.SEARCH_MAX_CHARS},
                      "pinned_repo": {"type": "string", "maxLength": limits.SEARCH_MAX_CHARS}},
             read_only=True, idempotent=True, headline=_count("note(s)")),
        Tool("list_knowledge_folders", "List knowledge folders", "The organization's knowledge folders. Read-only.",
             t_folders, read_only=True, idempotent=True,
             headline=lambda d, a: f"{len(d.get('folders') or [])} folder(s)"),
        Tool("get_knowledge_note", "Show a knowledge note", "One knowledge note (untrusted data). Read-only.",
             _get(note), options={"note_id": RESOURCE_ID_ARG}, required=("note_id",), read_only=True,
             idempotent=True, headline=lambda d, a: f"Knowledge note {a.get('note_id')}"),
        Tool("create_knowledge_note", "Create a knowledge note", "Create a note. Fields are the payload policy's.",
             _create(note), endpoint="note_write", options={"dry_run": DRY_RUN_ARG},
             headline=_fixed("Knowledge note created.")),
        Tool("update_knowledge_note", "Update a knowledge note",
             "Change a note: the given fields replace the current ones.", _update(note),
             endpoint="note_write", partial=True, options={"note_id": RESOURCE_ID_ARG, "dry_run": DRY_RUN_ARG},
             required=("note_id",), idempotent=True, destructive=True, headline=_fixed("Knowledge note updated.")),
        Tool("delete_knowledge_note", "Delete a knowledge note", "Delete a note (irreversible); needs confirm: true "
             "after the user's explicit yes.", _delete(note),
             options={"note_id": RESOURCE_ID_ARG, "confirm": CONFIRM_ARG, "dry_run": DRY_RUN_ARG},
             required=("note_id", "confirm"), destructive=True, idempotent=True,
             headline=_fixed("Knowledge note deleted.")),
        Tool("list_secrets", "List secret metadata",
             "The organization's secrets: metadata only; there is no way to create or read a value. Read-only.",
             _list(routes.SECRETS, "list_secrets", 200), options={"limit": limit_arg(200, limits.SECRETS_LIST_MAX)},
             read_only=True, idempotent=True, headline=_count("secret(s), metadata only")),
        Tool("delete_secret", "Delete a secret", "Delete a stored secret (irreversible); needs confirm: true after the "
             "user's explicit yes.", t_delete_secret,
             options={"secret_id": RESOURCE_ID_ARG, "confirm": CONFIRM_ARG, "dry_run": DRY_RUN_ARG},
             required=("secret_id", "confirm"), destructive=True, idempotent=True, headline=_fixed("Secret deleted.")),
        Tool("upload_attachment", "Upload an attachment",
             "Upload a regular file under the project directory (symlinks out of it refused) and return the https "
             "URL to pass in attachment_urls.", t_upload,
             options={"path": {"type": "string", "minLength": 1, "maxLength": 4096,
                               "description": "relative to the project directory"}, "dry_run": DRY_RUN_ARG},
             required=("path",), headline=_fixed("Uploaded; pass the url in attachment_urls.")),
        Tool("inbox", "What needs you in Devin",
             "The token's own sessions (all: the whole org) that wait for an answer or an approval, have a pull "
             "request to review, are blocked (billing, quota) or failed; newest first, with the next step. Read-only.",
             t_inbox, options={"all": {"type": "boolean", "default": False},
                               "days": {"type": "number", "exclusiveMinimum": 0, "maximum": 365, "default": 30},
                               "dry_run": DRY_RUN_ARG},
             read_only=True, idempotent=True, headline=_count("session(s) need you")),
        Tool("usage", "ACUs used by Devin sessions",
             "ACUs consumed by the org's sessions created in the last `days` days (optionally one tag, e.g. a "
             "batch's): total_acus and each session's acus_consumed; `complete` false when the "
             f"{limits.SESSIONS_LIST_MAX:,}-session bound cut the list. Source: the sessions' acus_consumed (the API "
             "has no billing endpoint). Read-only.",
             t_usage, options={"days": {"type": "number", "exclusiveMinimum": 0, "maximum": 365, "default": 7},
                               "tag": tag, "dry_run": DRY_RUN_ARG},
             read_only=True, idempotent=True, headline=_usage_head),
        Tool("pickup_pr", "Bring a session's pull request home",
             "Fetch the session's pull request into a new git worktree next to the project's repository (branch "
             "devin/pr-N); never changes the project's branch, index or files, never pushes, runs nothing from the "
             "PR. Only for the repository the server runs in.",
             t_pickup, options={**sess, "pr": {"type": "string", "maxLength": 300,
                                               "description": "the PR's URL or number, when there are several"},
                                "dry_run": DRY_RUN_ARG},
             required=("session",), idempotent=True,
             headline=lambda doc, args: ("Dry run: nothing was sent." if doc.get("dry_run") else
                                         f"Worktree {doc.get('worktree')} on {doc.get('branch')}")),
        Tool("batch_plan", "Plan a batch of Devin tasks",
             "The plan of a batch (batch: {batch: NAME, defaults: {...}, tasks: [{title, prompt, ...}]}): each task "
             "new, running or done, the ACU caps and their total, cost notes. Sends no write. Read-only.",
             t_batch_plan, options=BATCH_OPTIONS, required=("batch",), read_only=True, idempotent=True,
             headline=_batch_head),
        Tool("batch_run", "Start a batch of Devin tasks",
             "Start the batch's new tasks until max_active of its sessions are running (never a task twice; "
             "rerun to continue). Costs ACUs: show the plan (batch_plan) and get the user's yes first; then call "
             "with confirm: true.",
             t_batch_run, options={**BATCH_OPTIONS, "confirm": CONFIRM_ARG}, required=("batch", "confirm"),
             headline=_batch_head),
        Tool("check_setup", "Check the Devin setup",
             "Check the configuration, the token, the organization and the permissions (GET requests only), and "
             "whether Claude Code's sandbox settings keep the token out of the agent's commands (what is missing).",
             t_check_setup, options={"dry_run": DRY_RUN_ARG}, read_only=True, idempotent=True,
             headline=lambda doc, args: str(doc.get("summary") or "Not ready: see the checks marked false.")),
    ]
