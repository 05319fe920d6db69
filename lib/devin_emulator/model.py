"""The emulator's state: organizations, tokens, sessions (with a clock-driven life cycle),
playbooks, knowledge, secrets and attachments.  No HTTP here.

All public methods take ``self.lock``; the HTTP layer also holds it while a request runs.
"""

from __future__ import annotations

import collections
import copy
import itertools
import re
import threading
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from .http_util import ApiError, decode_cursor, encode_cursor
from .permissions import ALL_PERMISSIONS

DEFAULT_ORG_ID = "org-emu0000000000001"
SEEDER = "service-user-seeded"  # who made the objects a test adds directly (the API never says null)
SESSION_ID_RE = re.compile(r"^devin-[0-9a-f]{32}$")
STATUSES = ("new", "claimed", "running", "suspended", "resuming", "exit", "error")
BILLING_REASONS = frozenset({
    "usage_limit_exceeded", "out_of_credits", "out_of_quota", "no_quota_allocation",
    "payment_declined", "org_usage_limit_exceeded", "user_usage_limit_exceeded", "total_session_limit_exceeded",
})
# Fields of the public Session object (v3).  v3beta1 drops status_detail/origin/category
# and adds is_advanced.
SESSION_FIELDS = (
    "session_id", "url", "status", "status_detail", "org_id", "title", "tags", "created_at",
    "updated_at", "acus_consumed", "pull_requests", "user_id", "service_user_id", "is_archived",
    "parent_session_id", "child_session_ids", "structured_output", "playbook_id", "origin",
    "category",
)
BETA_FIELDS = tuple(f for f in SESSION_FIELDS if f not in ("status_detail", "origin", "category")) + (
    "is_advanced",)
ACU_PER_WORKING_SECOND = 1.0 / 900.0  # about 4 ACU per working hour


@dataclass
class Token:
    token: str
    org_id: str | None
    permissions: frozenset
    enterprise: bool = False
    user: str | None = None
    service_user_id: str | None = None
    service_user_name: str | None = None

    def principal(self) -> dict:
        if self.user is not None:
            return {"principal_type": "user", "user_id": self.user, "user_name": self.user,
                    "org_id": self.org_id}
        return {"principal_type": "service_user", "service_user_id": self.service_user_id,
                "service_user_name": self.service_user_name, "org_id": self.org_id}


class SessionRec:
    """One session: its public ``data`` plus life-cycle bookkeeping."""

    __slots__ = ("data", "messages", "next_at", "next_kind", "last_activity", "frozen",
                 "request", "attachment_urls", "work_since", "eval_at")

    def __init__(self, data: dict, last_activity: float):
        self.data = data
        self.messages: list[dict] = []
        self.next_at: float | None = None
        self.next_kind: str | None = None
        self.last_activity = last_activity
        self.frozen = False
        self.request: dict | None = None  # the create body as sent (v3 fields, secrets...)
        self.attachment_urls: list[str] = []
        self.work_since: float | None = None
        self.eval_at: float | None = None


def _title_from_prompt(prompt: str) -> str:
    line = next((ln.strip() for ln in prompt.splitlines() if ln.strip()), "")
    words = re.sub(r"\s+", " ", line).split(" ")[:8]
    title = " ".join(words).rstrip(".,;:!?")
    if not title:
        return "Untitled session"
    return (title[0].upper() + title[1:])[:80]


def paginate(items: list, keyfn, kind: str, first: int, after: str | None, descending: bool):
    """Cursor pagination over an already sorted list.  Returns a page dict (items raw)."""
    start = 0
    if after:
        ck = decode_cursor(kind, after)
        try:
            if descending:
                start = next((i for i, it in enumerate(items) if keyfn(it) < ck), len(items))
            else:
                start = next((i for i, it in enumerate(items) if keyfn(it) > ck), len(items))
        except TypeError:
            raise ApiError(400, "Invalid pagination cursor ('after')") from None
    page = items[start:start + first]
    has_next = start + first < len(items)
    end_cursor = encode_cursor(kind, list(keyfn(page[-1]))) if (has_next and page) else None
    return {"items": page, "has_next_page": has_next, "end_cursor": end_cursor,
            "total": len(items)}


class Store:
    """State and behaviour of the fake Devin service (no HTTP)."""

    def __init__(self, clock, rng):
        self.clock = clock
        self._idrng = rng
        self.lock = threading.RLock()
        # Life-cycle durations (seconds of emulator clock); tests may shorten them.
        self.claim_after_s = 2.0        # new -> claimed
        self.start_after_s = 5.0        # claimed -> running/working (Devin posts a first message)
        self.work_s = 30.0              # running/working -> running/finished ("done" message)
        self.reply_after_s = 10.0       # user message -> Devin reply
        self.resume_after_s = 3.0       # resuming -> running/working
        self.inactivity_s = 600.0       # running without activity -> suspended/inactivity
        self.lifecycle_enabled = True
        self.start_message = "Hi! I'm Devin. I've read your request and I'm starting on it now."
        self.done_message = "Done! I've finished the task. Let me know if you need anything else."
        self.default_reply = "Thanks, I've taken that into account and finished."
        self.platforms = ("linux", "windows")
        self.allowed_tags: dict[str, frozenset[str]] = {}   # org_id -> the only tags its sessions may carry
        self.max_body_bytes = 10 * 2 ** 20
        self.max_attachment_bytes = 100 * 2 ** 20
        self._replies: collections.deque[str] = collections.deque()
        self.orgs: dict[str, dict] = {}
        self.tokens: dict[str, Token] = {}
        self.sessions: dict[str, SessionRec] = {}
        self.org_sessions: dict[str, list[SessionRec]] = {}
        self.playbooks: dict[str, dict] = {}
        self.notes: dict[str, dict] = {}
        self.folders: dict[str, dict] = {}
        self.secrets: dict[str, dict] = {}
        self._secret_values: dict[str, str] = {}
        self.attachments: dict[str, dict] = {}  # by url
        self._attachment_data: dict[str, bytes] = {}  # by attachment_id
        self._presigned: dict[str, str] = {}  # presigned key -> attachment_id
        self._su_counter = 0
        self._seq = itertools.count(1)  # creation order of playbooks/notes/folders/secrets

    # ---- ids and time --------------------------------------------------------------------
    def _hex(self, nbytes: int = 16) -> str:
        return f"{self._idrng.getrandbits(nbytes * 8):0{nbytes * 2}x}"

    def _uuid(self) -> str:
        return str(uuid.UUID(int=self._idrng.getrandbits(128), version=4))

    def now(self) -> float:
        return self.clock.now()

    # ---- orgs and tokens -----------------------------------------------------------------
    def add_org(self, org_id: str | None = None, name: str | None = None) -> str:
        with self.lock:
            if org_id is None:
                org_id = "org-" + self._hex(8)
            if org_id not in self.orgs:
                self.orgs[org_id] = {"org_id": org_id, "name": name or org_id}
                self.org_sessions.setdefault(org_id, [])
            return org_id

    def add_token(self, org_id: str | None = None, permissions: Iterable[str] = ALL_PERMISSIONS,
                  enterprise: bool = False, token: str | None = None,
                  user: str | None = None) -> str:
        import secrets as _secrets
        with self.lock:
            if enterprise:
                org = None
            else:
                org = self.add_org(org_id if org_id is not None else DEFAULT_ORG_ID)
            if token is None:
                token = "cog_emu_" + _secrets.token_urlsafe(30)
            self._su_counter += 1
            su_id = None if user else "service-user-" + self._hex(8)
            su_name = None if user else f"emulator-{'enterprise' if enterprise else 'org'}-user-{self._su_counter}"
            self.tokens[token] = Token(token, org, frozenset(permissions), bool(enterprise), user,
                                       su_id, su_name)
            return token

    def revoke_token(self, token: str) -> None:
        with self.lock:
            self.tokens.pop(token, None)

    # ---- scripted replies ----------------------------------------------------------------
    def script_replies(self, replies: Iterable[str]) -> None:
        with self.lock:
            self._replies.extend(str(r) for r in replies)

    # ---- sessions: creation ----------------------------------------------------------------
    def _make_session(self, org_id: str, now: float, fields: dict, *, post_prompt: bool = True,
                      last_activity: float | None = None) -> SessionRec:
        self.add_org(org_id)
        hexid = self._hex(16)
        prompt = fields.get("prompt")
        created = int(fields.get("created_at", int(now)))
        data: dict[str, Any] = {
            "session_id": "devin-" + hexid,
            "url": "https://app.devin.ai/sessions/" + hexid,
            "status": "new",
            "status_detail": None,
            "org_id": org_id,
            "title": None,
            "tags": [],
            "created_at": created,
            "updated_at": created,
            "acus_consumed": 0.0,
            "pull_requests": [],
            "user_id": None,
            "service_user_id": None,
            "is_archived": False,
            "parent_session_id": None,
            "child_session_ids": [],
            "structured_output": None,
            "playbook_id": None,
            "origin": "api",
            "category": None,
            "prompt": prompt,
        }
        for k, v in fields.items():
            if k in ("lifecycle", "messages"):
                continue
            data[k] = copy.deepcopy(v)
        if data.get("title") is None:
            data["title"] = _title_from_prompt(prompt or "")
        data["tags"] = list(dict.fromkeys(data.get("tags") or []))
        la = float(last_activity if last_activity is not None else max(float(data["updated_at"]), now))
        rec = SessionRec(data, la)
        if fields.get("lifecycle") is False:
            rec.frozen = True
        if post_prompt and prompt:
            self._post(rec, "user", prompt, float(created), touch=False)
        for m in fields.get("messages") or ():
            self._post(rec, m.get("source", "devin"), m["message"],
                       float(m.get("created_at", created)), touch=False)
        st, det = data["status"], data.get("status_detail")
        if st == "new":
            self._schedule(rec, "claim", created + self.claim_after_s)
        elif st == "claimed":
            self._schedule(rec, "start", la + self.start_after_s)
        elif st == "running" and det in (None, "working"):
            rec.work_since = la
            self._schedule(rec, "finish", la + self.work_s)
        elif st == "resuming":
            self._schedule(rec, "resume", la + self.resume_after_s)
        self.sessions[data["session_id"]] = rec
        self.org_sessions[org_id].append(rec)
        return rec

    def create_session_direct(self, org_id: str | None = None, **fields) -> dict:
        """Back door: create a session without HTTP (nothing journaled)."""
        with self.lock:
            rec = self._make_session(org_id or DEFAULT_ORG_ID, self.now(), fields)
            return self._direct_view(rec)

    def seed_sessions(self, org_id: str | None, n: int, *, title_prefix: str = "seeded",
                      status: str = "running", status_detail: str | None = "finished",
                      tags: Iterable[str] = (), created_at_start: float | None = None,
                      spacing_s: float = 60, origin: str = "api",
                      service_user_id: str | None = None) -> list[str]:
        org_id = org_id or DEFAULT_ORG_ID
        with self.lock:
            now = self.now()
            if created_at_start is None:
                created_at_start = now - (n - 1) * spacing_s
            tags = list(tags)
            ids = []
            for i in range(n):
                created = int(created_at_start + i * spacing_s)
                rec = self._make_session(
                    org_id, now,
                    {"prompt": f"{title_prefix} task {i}", "title": f"{title_prefix} {i}",
                     "status": status, "status_detail": status_detail, "tags": tags,
                     "created_at": created, "updated_at": created, "origin": origin,
                     "service_user_id": service_user_id},
                    post_prompt=False, last_activity=max(float(created), now))
                ids.append(rec.data["session_id"])
            return ids

    def get_session_direct(self, session_id: str) -> dict:
        with self.lock:
            rec = self.sessions[session_id.lower()]
            self._evaluate(rec, self.now())
            return self._direct_view(rec)

    def sessions_in(self, org_id: str | None = None) -> list[dict]:
        with self.lock:
            now = self.now()
            out = []
            for rec in self.org_sessions.get(org_id or DEFAULT_ORG_ID, []):
                self._evaluate(rec, now)
                out.append(self._direct_view(rec))
            return out

    def update_session_direct(self, session_id: str, **fields) -> dict:
        """Back door: overwrite fields (e.g. status='suspended', status_detail='out_of_credits').
        A status change cancels any pending life-cycle step and reschedules from the new state."""
        with self.lock:
            rec = self.sessions[session_id.lower()]
            now = self.now()
            self._evaluate(rec, now)
            if "lifecycle" in fields:
                rec.frozen = fields.pop("lifecycle") is False
            for k, v in fields.items():
                rec.data[k] = copy.deepcopy(v)
            if "status" in fields:
                rec.next_at = rec.next_kind = None
                rec.last_activity = now
                st, det = rec.data["status"], rec.data.get("status_detail")
                if st == "new":
                    self._schedule(rec, "claim", now + self.claim_after_s)
                elif st == "claimed":
                    self._schedule(rec, "start", now + self.start_after_s)
                elif st == "running" and det in (None, "working"):
                    rec.work_since = now
                    self._schedule(rec, "finish", now + self.work_s)
                elif st == "resuming":
                    self._schedule(rec, "resume", now + self.resume_after_s)
            rec.eval_at = None
            return self._direct_view(rec)

    def add_message_direct(self, session_id: str, message: str, source: str = "devin") -> dict:
        with self.lock:
            rec = self.sessions[session_id.lower()]
            return dict(self._post(rec, source, message, self.now()))

    def messages_direct(self, session_id: str) -> list[dict]:
        with self.lock:
            rec = self.sessions[session_id.lower()]
            self._evaluate(rec, self.now())
            return [dict(m) for m in rec.messages]

    def _direct_view(self, rec: SessionRec) -> dict:
        d = copy.deepcopy(rec.data)
        d["request"] = copy.deepcopy(rec.request)
        d["attachment_urls"] = list(rec.attachment_urls)
        d["message_count"] = len(rec.messages)
        return d

    # ---- sessions: life cycle ---------------------------------------------------------------
    def _schedule(self, rec: SessionRec, kind: str, at: float) -> None:
        rec.next_kind, rec.next_at = kind, float(at)

    def _post(self, rec: SessionRec, source: str, text: str, t: float, touch: bool = True) -> dict:
        msg = {"event_id": "event-" + self._hex(16), "message": text, "source": source,
               "created_at": int(t)}
        rec.messages.append(msg)
        if touch:
            self._touch(rec, t)
        return msg

    def _touch(self, rec: SessionRec, t: float) -> None:
        rec.last_activity = max(rec.last_activity, t)
        rec.data["updated_at"] = max(rec.data["updated_at"], int(t))

    def _set(self, rec: SessionRec, t: float, status: str, detail: str | None) -> None:
        d = rec.data
        if rec.work_since is not None and not (status == "running" and detail == "working"):
            d["acus_consumed"] = round(d["acus_consumed"] + (t - rec.work_since) * ACU_PER_WORKING_SECOND, 4)
            rec.work_since = None
        elif status == "running" and detail == "working" and rec.work_since is None:
            rec.work_since = t
        d["status"], d["status_detail"] = status, detail
        self._touch(rec, t)

    def _next_reply(self) -> str:
        return self._replies.popleft() if self._replies else self.default_reply

    def _evaluate(self, rec: SessionRec, now: float) -> None:
        """Apply every life-cycle step due by ``now`` (lazy: runs on read)."""
        if rec.eval_at == now or rec.frozen or not self.lifecycle_enabled:
            return
        rec.eval_at = now
        d = rec.data
        while True:
            if rec.next_at is None:
                if d["status"] == "running" and self.inactivity_s is not None:
                    t = rec.last_activity + self.inactivity_s
                    if t <= now:
                        self._set(rec, t, "suspended", "inactivity")
                return
            if rec.next_at > now:
                return
            t, kind = rec.next_at, rec.next_kind
            rec.next_at = rec.next_kind = None
            if kind == "claim":
                self._set(rec, t, "claimed", None)
                self._schedule(rec, "start", t + self.start_after_s)
            elif kind == "start":
                self._set(rec, t, "running", "working")
                self._post(rec, "devin", self.start_message, t)
                self._schedule(rec, "finish", t + self.work_s)
            elif kind == "finish":
                self._set(rec, t, "running", "finished")
                self._post(rec, "devin", self.done_message, t)
                repos = (rec.request or {}).get("repos") or []
                if repos and not d["pull_requests"] and isinstance(repos[0], str):
                    d["pull_requests"].append(
                        {"pr_url": f"https://github.com/{repos[0]}/pull/{1 + self._idrng.randrange(999)}",
                         "pr_state": "open"})
            elif kind == "reply":
                text = self._next_reply()
                self._set(rec, t, "running", "waiting_for_user" if text.rstrip().endswith("?") else "finished")
                self._post(rec, "devin", text, t)
            elif kind == "resume":
                self._set(rec, t, "running", "working")
                self._schedule(rec, "reply", t + self.reply_after_s)

    # ---- sessions: operations used by the API -----------------------------------------------
    def find_session(self, session_id: str, org_id: str | None) -> SessionRec:
        sid = (session_id or "").lower()
        rec = self.sessions.get(sid) if SESSION_ID_RE.match(sid) else None
        if rec is None or (org_id is not None and rec.data["org_id"] != org_id):
            raise ApiError(404, f"Session {session_id} not found")
        self._evaluate(rec, self.now())
        return rec

    def api_create_session(self, org_id: str, body: dict, tok: Token) -> SessionRec:
        now = self.now()
        fields = {"prompt": body["prompt"], "title": body.get("title"), "tags": body.get("tags") or [],
                  "playbook_id": body.get("playbook_id"), "origin": "api",
                  "created_at": int(now), "updated_at": int(now)}
        if tok.user is not None:
            fields["user_id"] = tok.user
        else:
            fields["service_user_id"] = tok.service_user_id
        if body.get("create_as_user_id"):
            fields["user_id"] = body["create_as_user_id"]
        if body.get("advanced_mode") is not None:
            fields["advanced_mode"] = body["advanced_mode"]
        rec = self._make_session(org_id, now, fields)
        rec.request = copy.deepcopy(body)
        rec.attachment_urls.extend(body.get("attachment_urls") or [])
        return rec

    def api_send_message(self, rec: SessionRec, text: str, attachment_urls: list | None) -> None:
        now = self.now()
        d = rec.data
        st = d["status"]
        if st in ("exit", "error"):
            raise ApiError(409, f"Session {d['session_id']} has ended (status '{st}') and cannot receive messages")
        self._post(rec, "user", text, now)
        rec.attachment_urls.extend(attachment_urls or [])
        if d.get("is_archived"):
            return  # an archived session takes the message but is not woken by it
        rec.eval_at = None
        if st == "running":
            self._set(rec, now, "running", "working")
            self._schedule(rec, "reply", now + self.reply_after_s)
        elif st == "suspended":
            if d.get("status_detail") in BILLING_REASONS:
                return  # stays asleep: a billing/quota suspension is not woken by a message
            self._set(rec, now, "resuming", None)
            self._schedule(rec, "resume", now + self.resume_after_s)
        # new / claimed / resuming: recorded; Devin will pick it up as it starts

    def api_terminate(self, rec: SessionRec, archive: bool) -> None:
        now = self.now()
        if rec.data["status"] not in ("exit",):
            self._set(rec, now, "exit", None)
            rec.next_at = rec.next_kind = None
        if archive:
            rec.data["is_archived"] = True
            self._touch(rec, now)

    def api_archive(self, rec: SessionRec) -> None:
        now = self.now()
        if not rec.data["is_archived"]:
            rec.data["is_archived"] = True
            if rec.data["status"] in ("running", "resuming", "claimed", "new"):
                # "Archive session and put it to sleep if currently running"
                self._set(rec, now, "suspended", "user_request")
                rec.next_at = rec.next_kind = None
            self._touch(rec, now)

    def api_unarchive(self, rec: SessionRec) -> None:
        if rec.data["is_archived"]:
            rec.data["is_archived"] = False
            self._touch(rec, self.now())

    def list_sessions(self, org_ids: Iterable[str] | None, f: dict, first: int, after: str | None) -> dict:
        now = self.now()
        if org_ids is None:
            pools = list(self.org_sessions.values())
        else:
            pools = [self.org_sessions.get(o, []) for o in dict.fromkeys(org_ids)]
        sids = f.get("session_ids")
        tags = f.get("tags")
        origins = f.get("origins")
        uids = f.get("user_ids")
        suids = f.get("service_user_ids")
        pb, sch = f.get("playbook_id"), f.get("schedule_id")
        ca, cb = f.get("created_after"), f.get("created_before")
        ua, ub = f.get("updated_after"), f.get("updated_before")
        archived = f.get("is_archived")
        out = []
        for pool in pools:
            for rec in pool:
                self._evaluate(rec, now)
                d = rec.data
                if sids is not None and d["session_id"] not in sids:
                    continue
                if tags is not None and not any(t in d["tags"] for t in tags):
                    continue
                if origins is not None and d.get("origin") not in origins:
                    continue
                if uids is not None and d.get("user_id") not in uids:
                    continue
                if suids is not None and d.get("service_user_id") not in suids:
                    continue
                if pb is not None and d.get("playbook_id") != pb:
                    continue
                if sch is not None and d.get("schedule_id") != sch:
                    continue
                if ca is not None and d["created_at"] < ca:
                    continue
                if cb is not None and d["created_at"] >= cb:
                    continue
                if ua is not None and d["updated_at"] < ua:
                    continue
                if ub is not None and d["updated_at"] >= ub:
                    continue
                if archived is not None and bool(d.get("is_archived")) != archived:
                    continue
                out.append(rec)
        out.sort(key=lambda r: (r.data["created_at"], r.data["session_id"]), reverse=True)
        return paginate(out, lambda r: (r.data["created_at"], r.data["session_id"]), "sessions",
                        first, after, descending=True)

    # ---- playbooks / knowledge / secrets / attachments ------------------------------------
    def add_playbook(self, org_id: str | None = None, **f) -> dict:
        with self.lock:
            org_id = self.add_org(org_id or DEFAULT_ORG_ID)
            now = int(self.now())
            pb = {"playbook_id": "playbook-" + self._hex(16), "title": f.get("title", "Playbook"),
                  "body": f.get("body", ""), "macro": f.get("macro"),
                  "structured_output_schema": f.get("structured_output_schema"), "access_type": "org",
                  "org_id": org_id, "created_by": f.get("created_by", SEEDER),
                  "updated_by": f.get("created_by", SEEDER),
                  "created_at": now, "updated_at": now, "_seq": next(self._seq)}
            pb.update({k: v for k, v in f.items() if k in pb and k not in ("org_id",)})
            self.playbooks[pb["playbook_id"]] = pb
            return dict(pb)

    def add_folder(self, org_id: str | None = None, name: str = "folder",
                   parent_folder_id: str | None = None, **f) -> dict:
        with self.lock:
            org_id = self.add_org(org_id or DEFAULT_ORG_ID)
            parent = self.folders.get(parent_folder_id) if parent_folder_id else None
            path = (parent["path"] + "/" if parent else "/") + name
            fo: dict[str, Any] = {"folder_id": "folder-" + self._hex(12), "name": name, "path": path,
                                  "parent_folder_id": parent_folder_id, "org_id": org_id,
                                  "created_at": int(self.now()), "_seq": next(self._seq)}
            fo.update({k: v for k, v in f.items() if k in fo})
            self.folders[fo["folder_id"]] = fo
            return dict(fo)

    def add_note(self, org_id: str | None = None, **f) -> dict:
        with self.lock:
            org_id = self.add_org(org_id or DEFAULT_ORG_ID)
            now = int(self.now())
            folder_id = f.get("folder_id")
            folder = self.folders.get(folder_id) if folder_id else None
            note = {"note_id": "note-" + self._hex(16), "name": f.get("name", "note"),
                    "body": f.get("body", ""), "trigger": f.get("trigger", ""),
                    "is_enabled": f.get("is_enabled", True), "folder_id": f.get("folder_id"),
                    "folder_path": folder["path"] if folder else "/",
                    "pinned_repo": f.get("pinned_repo"), "macro": f.get("macro"),
                    "access_type": "org", "org_id": org_id, "created_at": now, "updated_at": now,
                    "_seq": next(self._seq)}
            self.notes[note["note_id"]] = note
            return dict(note)

    def add_secret(self, org_id: str | None = None, key: str = "SECRET", value: str = "", **f) -> dict:
        with self.lock:
            org_id = self.add_org(org_id or DEFAULT_ORG_ID)
            now = int(self.now())
            s = {"secret_id": "secret-" + self._hex(16), "key": key, "note": f.get("note"),
                 "is_sensitive": f.get("is_sensitive", True),
                 "secret_type": f.get("secret_type", f.get("type", "key-value")),
                 "access_type": f.get("access_type", "org"), "created_by": f.get("created_by", SEEDER),
                 "created_at": now, "updated_at": now, "org_id": org_id, "_seq": next(self._seq)}
            self.secrets[s["secret_id"]] = s
            self._secret_values[s["secret_id"]] = value
            return dict(s)

    def add_attachment(self, org_id: str, name: str, data: bytes, content_type: str | None, *,
                       session_id: str | None = None, source: str = "user") -> dict:
        """An uploaded file, or (with session_id, source "devin") a file Devin produced in a session."""
        aid = self._uuid()
        from urllib.parse import quote
        url = f"https://app.devin.ai/attachments/{aid}/{quote(name)}"
        att = {"attachment_id": aid, "name": name, "url": url, "org_id": org_id, "source": source,
               "content_type": content_type, "size": len(data), "session_id": session_id}
        self.attachments[url] = att
        self._attachment_data[aid] = data
        return att

    def presign(self, att: dict) -> str:
        key = self._hex(16)
        self._presigned[key] = att["attachment_id"]
        return key

    def presigned_data(self, key: str) -> bytes | None:
        aid = self._presigned.get(key)
        return None if aid is None else self._attachment_data.get(aid)
