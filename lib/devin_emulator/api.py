"""Routes and request handlers of the emulated Devin API (v3, v3beta1, a sliver of v1)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any, overload
from urllib.parse import unquote

from . import permissions as P
from .http_util import ApiError, Response, json_response, validation_error, vloc
from .model import BETA_FIELDS, SESSION_FIELDS, SessionRec, Store, Token, paginate


class Request:
    __slots__ = ("method", "path", "route", "params", "query", "headers", "body", "version",
                 "token", "_json", "_json_done")

    def __init__(self, method, path, route, params, query, headers, body):
        self.method = method
        self.path = path
        self.route = route
        self.params = params
        self.query = query
        self.headers = headers
        self.body = body
        self.version = path.split("/", 2)[1] if path.count("/") >= 2 else ""
        self.token: Token | None = None
        self._json = None
        self._json_done = False

    def json(self) -> Any:
        """The parsed JSON body (None when empty); invalid JSON -> 400."""
        if not self._json_done:
            self._json_done = True
            if self.body.strip():
                try:
                    self._json = json.loads(self.body.decode("utf-8"),
                                            parse_constant=_reject_constant)
                except (ValueError, UnicodeDecodeError) as e:
                    raise ApiError(400, f"Request body is not valid JSON: {e}") from None
        return self._json


def _reject_constant(name):
    raise ValueError(f"invalid JSON constant {name}")


# ---- route table ---------------------------------------------------------------------------

class Route:
    def __init__(self, template: str):
        self.template = template
        pattern = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(template))
        self.regex = re.compile("^" + pattern + "$")
        self.methods: dict[str, Callable] = {}


ROUTES: list[Route] = []
_BY_TEMPLATE: dict[str, Route] = {}


def _add(template: str, method: str, fn: Callable) -> None:
    r = _BY_TEMPLATE.get(template)
    if r is None:
        r = _BY_TEMPLATE[template] = Route(template)
        ROUTES.append(r)
    r.methods[method] = fn


def match(path: str):
    """(Route, params) or (None, None)."""
    for r in ROUTES:
        m = r.regex.match(path)
        if m:
            return r, {k: unquote(v) for k, v in m.groupdict().items()}
    return None, None


def all_templates() -> list[str]:
    return [r.template for r in ROUTES]


# ---- helpers -------------------------------------------------------------------------------

def authenticate(store: Store, req: Request) -> Token:
    auth = req.headers.get("Authorization")
    if not auth:
        raise ApiError(401, "Missing Authorization header (expected 'Bearer <token>')",
                       headers={"WWW-Authenticate": "Bearer"})
    scheme, _, tok = auth.strip().partition(" ")
    tok = tok.strip()
    if scheme.lower() != "bearer" or not tok:
        raise ApiError(401, "Malformed Authorization header (expected 'Bearer <token>')",
                       headers={"WWW-Authenticate": "Bearer"})
    t = store.tokens.get(tok)
    if t is None or not tok.startswith("cog_"):
        raise ApiError(401, "Invalid or expired token", headers={"WWW-Authenticate": "Bearer"})
    return t


def request_token(req: Request) -> Token:
    """The caller's token, which ``dispatch`` sets (via ``authenticate``) before running any
    handler not in UNAUTHENTICATED.  None here is an emulator bug (a handler using the token
    while registered as unauthenticated): it fails as an internal error (500), as reading an
    attribute of None would."""
    tok = req.token
    if tok is None:
        raise RuntimeError(f"{req.method} {req.route}: handler needs an authenticated request")
    return tok


def need(tok: Token, *perms: str) -> None:
    missing = [p for p in perms if p not in tok.permissions]
    if missing:
        raise ApiError(403, "Missing permission: " + ", ".join(missing))


def org_scope(store: Store, req: Request, *perms: str) -> str:
    tok = request_token(req)
    org_id = req.params["org_id"]
    if tok.enterprise:
        if org_id not in store.orgs:
            raise ApiError(404, f"Organization {org_id} not found")
    elif tok.org_id != org_id:
        raise ApiError(403, f"This token belongs to organization {tok.org_id}, "
                            f"not {org_id}: it cannot access that organization")
    need(tok, *perms)
    return org_id


def enterprise_scope(req: Request, *perms: str) -> None:
    tok = request_token(req)
    if not tok.enterprise:
        raise ApiError(403, "Enterprise endpoints need an enterprise-level service user; "
                            "this token belongs to an organization")
    need(tok, *perms)


def q_one(req: Request, name: str) -> str | None:
    v = req.query.get(name)
    return v[-1] if v else None


@overload
def q_int(req: Request, name: str, default: int, lo: int | None = None, hi: int | None = None) -> int: ...


@overload
def q_int(req: Request, name: str, default: None = None, lo: int | None = None,
          hi: int | None = None) -> int | None: ...


def q_int(req: Request, name: str, default: int | None = None, lo: int | None = None,
          hi: int | None = None) -> int | None:
    raw = q_one(req, name)
    if raw is None:
        return default
    try:
        val = int(raw.strip())
    except ValueError:
        raise validation_error(vloc(["query", name], "Input should be a valid integer, unable to parse "
                                    "string as an integer", "int_parsing", raw)) from None
    if lo is not None and val < lo:
        raise validation_error(vloc(["query", name], f"Input should be greater than or equal to {lo}",
                                    "greater_than_equal", raw))
    if hi is not None and val > hi:
        raise validation_error(vloc(["query", name], f"Input should be less than or equal to {hi}",
                                    "less_than_equal", raw))
    return val


def q_bool(req: Request, name: str, default=False) -> bool:
    raw = q_one(req, name)
    if raw is None:
        return default
    low = raw.strip().lower()
    if low in ("true", "1", "yes", "on", "t", "y"):
        return True
    if low in ("false", "0", "no", "off", "f", "n"):
        return False
    raise validation_error(vloc(["query", name], "Input should be a valid boolean, unable to "
                                "interpret input", "bool_parsing", raw))


def q_list(req: Request, name: str) -> list[str] | None:
    v = req.query.get(name)
    return list(v) if v else None


def first_after(req: Request, default: int = 100) -> tuple[int, str | None]:
    return q_int(req, "first", default, 1, 200), q_one(req, "after")


def body_object(req: Request, required: bool = True) -> dict:
    data = req.json()
    if data is None:
        if not required:
            return {}
        raise validation_error(vloc(["body"], "Field required", "missing"))
    if not isinstance(data, dict):
        raise validation_error(vloc(["body"], "Input should be a valid dictionary or object to "
                                    "extract fields from", "model_attributes_type", data))
    return data


def _check(body: dict, name: str, kind: str, *, required=False, errors: list):
    if name not in body or body[name] is None:
        if required:
            errors.append(vloc(["body", name], "Field required", "missing"))
        return
    v = body[name]
    ok = {
        "str": isinstance(v, str),
        "bool": isinstance(v, bool),
        "int": isinstance(v, int) and not isinstance(v, bool),
        "dict": isinstance(v, dict),
        "strlist": isinstance(v, list) and all(isinstance(x, str) for x in v),
        "list": isinstance(v, list),
    }[kind]
    if not ok:
        msg = {"str": "Input should be a valid string", "bool": "Input should be a valid boolean",
               "int": "Input should be a valid integer", "dict": "Input should be a valid dictionary",
               "strlist": "Input should be a valid list of strings",
               "list": "Input should be a valid list"}[kind]
        typ = {"str": "string_type", "bool": "bool_type", "int": "int_type", "dict": "dict_type",
               "strlist": "list_type", "list": "list_type"}[kind]
        errors.append(vloc(["body", name], msg, typ, v))


def raise_if(errors: list) -> None:
    if errors:
        raise validation_error(*errors)


def page_json(page: dict, conv: Callable) -> Response:
    return json_response({"items": [conv(x) for x in page["items"]],
                          "has_next_page": page["has_next_page"],
                          "end_cursor": page["end_cursor"], "total": page["total"]})


def session_view(rec: SessionRec, version: str, full: bool = True) -> dict:
    """The public Session.  ``full``: get/list responses carry status_detail and
    structured_output; create/terminate/archive/message responses do not (as documented)."""
    d = rec.data
    out: dict[str, Any]
    if version == "v3beta1":
        out = {k: d.get(k) for k in BETA_FIELDS if k != "is_advanced"}
        out["is_advanced"] = d.get("advanced_mode") is not None
    else:
        out = {k: d.get(k) for k in SESSION_FIELDS}
        if not full:
            out.pop("status_detail", None)
            out.pop("structured_output", None)
    out["tags"] = list(out["tags"])
    out["pull_requests"] = [dict(p) for p in out["pull_requests"]]
    out["child_session_ids"] = list(out.get("child_session_ids") or [])
    return out


def message_view(m: dict) -> dict:
    return {"event_id": m["event_id"], "message": m["message"], "source": m["source"],
            "created_at": m["created_at"]}


def session_filters(req: Request, enterprise: bool) -> dict:
    f: dict[str, Any] = {}
    for name in ("session_ids", "tags", "origins", "user_ids", "service_user_ids"):
        values = q_list(req, name)
        if values is not None:
            f[name] = {x.lower() for x in values} if name == "session_ids" else set(values)
    for name in ("playbook_id", "schedule_id"):
        text = q_one(req, name)
        if text is not None:
            f[name] = text
    for name in ("created_after", "created_before", "updated_after", "updated_before"):
        when = q_int(req, name)
        if when is not None:
            f[name] = when
    if q_one(req, "is_archived") is not None:
        f["is_archived"] = q_bool(req, "is_archived")
    return f


def check_tags_allowed(store: Store, org_id: str, tags) -> None:
    """An organization may restrict which tags its sessions carry (store.allowed_tags)."""
    allowed = store.allowed_tags.get(org_id)
    for t in tags or ():
        if allowed is not None and t not in allowed:
            raise ApiError(400, f"Tag {t!r} is not in this organization's allowed tags")


# ---- /self ---------------------------------------------------------------------------------

def h_self(store: Store, req: Request) -> Response:
    return json_response(request_token(req).principal())


# ---- sessions (org scope) ------------------------------------------------------------------

ADVANCED_MODES = ("analyze", "create", "improve", "batch", "manage")
DEVIN_MODES = ("normal", "fast", "lite", "ultra", "fusion")


def h_create_session(store: Store, req: Request) -> Response:
    org_id = org_scope(store, req, P.MANAGE_ORG_SESSIONS)
    body = body_object(req)
    errs: list = []
    _check(body, "prompt", "str", required=True, errors=errs)
    for name in ("title", "playbook_id", "child_playbook_id", "create_as_user_id", "platform",
                 "devin_mode", "advanced_mode"):
        _check(body, name, "str", errors=errs)
    for name in ("tags", "repos", "knowledge_ids", "secret_ids", "attachment_urls", "session_links"):
        _check(body, name, "strlist", errors=errs)
    for name in ("bypass_approval", "structured_output_required", "idempotent"):
        _check(body, name, "bool", errors=errs)
    _check(body, "max_acu_limit", "int", errors=errs)
    _check(body, "structured_output_schema", "dict", errors=errs)
    _check(body, "session_secrets", "list", errors=errs)
    if isinstance(body.get("max_acu_limit"), int) and not isinstance(body["max_acu_limit"], bool) \
            and body["max_acu_limit"] <= 0:
        errs.append(vloc(["body", "max_acu_limit"], "Input should be greater than 0", "greater_than",
                         body["max_acu_limit"]))
    if isinstance(body.get("devin_mode"), str) and body["devin_mode"] not in DEVIN_MODES:
        errs.append(vloc(["body", "devin_mode"], "Input should be " + ", ".join(map(repr, DEVIN_MODES)),
                         "enum",
                         body["devin_mode"]))
    if isinstance(body.get("advanced_mode"), str) and body["advanced_mode"] not in ADVANCED_MODES:
        errs.append(vloc(["body", "advanced_mode"], "Input should be " + ", ".join(
            repr(m) for m in ADVANCED_MODES), "enum", body["advanced_mode"]))
    for u in body.get("attachment_urls") or []:
        if isinstance(u, str) and (len(u) > 2083 or not re.match(r"^https?://", u)):
            errs.append(vloc(["body", "attachment_urls"], "Input should be a valid URL", "url_parsing", u))
    schema = body.get("structured_output_schema")
    if isinstance(schema, dict):
        if len(json.dumps(schema)) > 64 * 1024:
            errs.append(vloc(["body", "structured_output_schema"],
                             "structured_output_schema must be at most 64 KB", "value_error"))
        elif _has_external_ref(schema):
            errs.append(vloc(["body", "structured_output_schema"],
                             "structured_output_schema must be self-contained (no external $ref)",
                             "value_error"))
    raise_if(errs)
    if req.version == "v3" and isinstance(body.get("platform"), str) \
            and body["platform"] not in store.platforms:
        raise ApiError(400, f"Unrecognised platform {body['platform']!r}; valid labels: "
                            + ", ".join(store.platforms))
    check_tags_allowed(store, org_id, body.get("tags"))
    tok = request_token(req)
    if body.get("create_as_user_id"):
        need(tok, P.IMPERSONATE_ORG_SESSIONS)
    if body.get("bypass_approval") or body.get("advanced_mode"):
        need(tok, P.USE_DEVIN_EXPERT)
    rec = store.api_create_session(org_id, body, tok)
    return json_response(session_view(rec, req.version, full=False))


def _has_external_ref(obj) -> bool:
    if isinstance(obj, dict):
        for k, v in obj.items():
            if k == "$ref" and isinstance(v, str) and not v.startswith("#"):
                return True
            if _has_external_ref(v):
                return True
    elif isinstance(obj, list):
        return any(_has_external_ref(x) for x in obj)
    return False


def h_list_sessions(store: Store, req: Request) -> Response:
    org_id = org_scope(store, req, P.VIEW_ORG_SESSIONS)
    first, after = first_after(req)
    page = store.list_sessions([org_id], session_filters(req, False), first, after)
    return page_json(page, lambda r: session_view(r, req.version))


def h_get_session(store: Store, req: Request) -> Response:
    org_id = org_scope(store, req, P.VIEW_ORG_SESSIONS)
    rec = store.find_session(req.params["devin_id"], org_id)
    return json_response(session_view(rec, req.version))


def h_terminate(store: Store, req: Request) -> Response:
    org_id = org_scope(store, req, P.MANAGE_ORG_SESSIONS)
    archive = q_bool(req, "archive", False)
    rec = store.find_session(req.params["devin_id"], org_id)
    store.api_terminate(rec, archive)
    return json_response(session_view(rec, req.version, full=False))


def h_archive(store: Store, req: Request) -> Response:
    org_id = org_scope(store, req, P.MANAGE_ORG_SESSIONS)
    rec = store.find_session(req.params["devin_id"], org_id)
    store.api_archive(rec)
    return json_response(session_view(rec, req.version, full=False))


def h_unarchive(store: Store, req: Request) -> Response:
    org_id = org_scope(store, req, P.MANAGE_ORG_SESSIONS)
    rec = store.find_session(req.params["devin_id"], org_id)
    store.api_unarchive(rec)
    return json_response(session_view(rec, req.version, full=False))


def _message_body(req: Request) -> tuple[str, list | None]:
    body = body_object(req)
    errs: list = []
    _check(body, "message", "str", required=True, errors=errs)
    _check(body, "attachment_urls", "strlist", errors=errs)
    _check(body, "message_as_user_id", "str", errors=errs)
    raise_if(errs)
    if body.get("message_as_user_id"):
        need(request_token(req), P.IMPERSONATE_ORG_SESSIONS)
    return body["message"], body.get("attachment_urls")


def h_send_message(store: Store, req: Request) -> Response:
    org_id = org_scope(store, req, P.MANAGE_ORG_SESSIONS)
    text, atts = _message_body(req)
    rec = store.find_session(req.params["devin_id"], org_id)
    store.api_send_message(rec, text, atts)
    return json_response(session_view(rec, req.version, full=False))


def h_list_messages(store: Store, req: Request) -> Response:
    org_id = org_scope(store, req, P.VIEW_ORG_SESSIONS)
    first, after = first_after(req)
    rec = store.find_session(req.params["devin_id"], org_id)
    return _messages_page(rec, first, after)


def _messages_page(rec: SessionRec, first: int, after: str | None) -> Response:
    idx = list(range(len(rec.messages)))
    page = paginate(idx, lambda i: (i,), "messages", first, after, descending=False)
    return page_json(page, lambda i: message_view(rec.messages[i]))


def _tags_body(req: Request) -> list:
    body = body_object(req)
    errs: list = []
    _check(body, "tags", "strlist", required=True, errors=errs)
    raise_if(errs)
    return body["tags"]


def h_get_tags(store: Store, req: Request) -> Response:
    org_id = org_scope(store, req, P.VIEW_ORG_SESSIONS)
    rec = store.find_session(req.params["devin_id"], org_id)
    return json_response({"tags": list(rec.data["tags"])})


def h_add_tags(store: Store, req: Request) -> Response:
    org_id = org_scope(store, req, P.MANAGE_ORG_SESSIONS)
    tags = _tags_body(req)
    check_tags_allowed(store, org_id, tags)
    rec = store.find_session(req.params["devin_id"], org_id)
    rec.data["tags"] = list(dict.fromkeys(list(rec.data["tags"]) + list(tags)))
    store._touch(rec, store.now())
    return json_response({"tags": list(rec.data["tags"])})


def h_put_tags(store: Store, req: Request) -> Response:
    org_id = org_scope(store, req, P.MANAGE_ORG_SESSIONS)
    tags = _tags_body(req)
    check_tags_allowed(store, org_id, tags)
    rec = store.find_session(req.params["devin_id"], org_id)
    rec.data["tags"] = list(dict.fromkeys(tags))
    store._touch(rec, store.now())
    return json_response({"tags": list(rec.data["tags"])})


def h_session_attachments(store: Store, req: Request) -> Response:
    org_id = org_scope(store, req, P.VIEW_ORG_SESSIONS)
    rec = store.find_session(req.params["devin_id"], org_id)
    out = [{k: a[k] for k in ("attachment_id", "name", "source", "url", "content_type")}
           for a in store.attachments.values() if a.get("session_id") == rec.data["session_id"]]
    for url in dict.fromkeys(rec.attachment_urls):
        att = store.attachments.get(url)
        if att is not None:  # a URL that is no upload of this deployment is not an attachment
            out.append({"attachment_id": att["attachment_id"], "name": att["name"], "source": "user",
                        "url": url, "content_type": att.get("content_type")})
    return json_response(out)


# ---- sessions (enterprise scope) -----------------------------------------------------------

def h_ent_list(store: Store, req: Request) -> Response:
    perm = P.MANAGE_ACCOUNT_SESSIONS if req.version == "v3beta1" else P.VIEW_ACCOUNT_SESSIONS
    enterprise_scope(req, perm)
    first, after = first_after(req)
    org_ids = q_list(req, "org_ids")
    page = store.list_sessions(org_ids, session_filters(req, True), first, after)
    return page_json(page, lambda r: session_view(r, req.version))


def h_ent_get(store: Store, req: Request) -> Response:
    enterprise_scope(req, P.VIEW_ACCOUNT_SESSIONS)
    rec = store.find_session(req.params["devin_id"], q_one(req, "org_id"))
    return json_response(session_view(rec, req.version))


def h_ent_list_messages(store: Store, req: Request) -> Response:
    enterprise_scope(req, P.VIEW_ACCOUNT_SESSIONS)
    first, after = first_after(req)
    rec = store.find_session(req.params["devin_id"], q_one(req, "org_id"))
    return _messages_page(rec, first, after)


def h_ent_send_message(store: Store, req: Request) -> Response:
    enterprise_scope(req, P.MANAGE_ACCOUNT_SESSIONS)
    text, atts = _message_body(req)
    rec = store.find_session(req.params["devin_id"], q_one(req, "org_id"))
    store.api_send_message(rec, text, atts)
    return json_response(session_view(rec, req.version, full=False))


# ---- playbooks -----------------------------------------------------------------------------

PLAYBOOK_OUT = ("playbook_id", "title", "body", "macro", "structured_output_schema", "access_type", "org_id",
                "created_by", "updated_by", "created_at", "updated_at")


def _find(coll: dict, key: str, org_id: str, what: str) -> dict:
    item = coll.get(key)
    if item is None or item.get("org_id") != org_id or item.get("_deleted"):
        raise ApiError(404, f"{what} {key} not found")
    return item


def _playbook_fields(req: Request, create: bool) -> dict:
    body = body_object(req)
    errs: list = []
    _check(body, "title", "str", required=create, errors=errs)
    _check(body, "body", "str", required=create, errors=errs)
    _check(body, "macro", "str", errors=errs)
    if "structured_output_schema" in body and body["structured_output_schema"] is not None \
            and not isinstance(body["structured_output_schema"], dict):
        errs.append(vloc(["body", "structured_output_schema"], "Input should be a valid dictionary", "dict_type",
                         body["structured_output_schema"]))
    if isinstance(body.get("macro"), str) and not body["macro"].startswith("!"):
        errs.append(vloc(["body", "macro"], "String should match pattern '^!'", "string_pattern_mismatch",
                         body["macro"]))
    raise_if(errs)
    return {k: body[k] for k in ("title", "body", "macro", "structured_output_schema") if k in body}


def _actor(tok: Token) -> str | None:
    return tok.user or tok.service_user_id


def h_list_playbooks(store: Store, req: Request) -> Response:
    org_id = org_scope(store, req, P.MANAGE_ACCOUNT_PLAYBOOKS)
    first, after = first_after(req)
    items = sorted((p for p in store.playbooks.values() if p["org_id"] == org_id),
                   key=lambda p: (p["created_at"], p["_seq"]))
    page = paginate(items, lambda p: (p["created_at"], p["_seq"]), "playbooks", first, after, False)
    return page_json(page, lambda p: {k: p.get(k) for k in PLAYBOOK_OUT})


def h_create_playbook(store: Store, req: Request) -> Response:
    org_id = org_scope(store, req, P.MANAGE_ACCOUNT_PLAYBOOKS)
    f = _playbook_fields(req, True)
    pb = store.add_playbook(org_id, created_by=_actor(request_token(req)), **f)
    return json_response({k: pb.get(k) for k in PLAYBOOK_OUT})


def h_get_playbook(store: Store, req: Request) -> Response:
    org_id = org_scope(store, req, P.MANAGE_ACCOUNT_PLAYBOOKS)
    pb = _find(store.playbooks, req.params["playbook_id"], org_id, "Playbook")
    return json_response({k: pb.get(k) for k in PLAYBOOK_OUT})


def h_put_playbook(store: Store, req: Request) -> Response:
    org_id = org_scope(store, req, P.MANAGE_ACCOUNT_PLAYBOOKS)
    f = _playbook_fields(req, False)
    pb = _find(store.playbooks, req.params["playbook_id"], org_id, "Playbook")
    pb.update(f)
    pb["updated_by"] = _actor(request_token(req))
    pb["updated_at"] = int(store.now())
    return json_response({k: pb.get(k) for k in PLAYBOOK_OUT})


def h_delete_playbook(store: Store, req: Request) -> Response:
    org_id = org_scope(store, req, P.MANAGE_ACCOUNT_PLAYBOOKS)
    pb = _find(store.playbooks, req.params["playbook_id"], org_id, "Playbook")
    del store.playbooks[pb["playbook_id"]]
    return json_response({k: pb.get(k) for k in PLAYBOOK_OUT})


# ---- knowledge -----------------------------------------------------------------------------

NOTE_OUT = ("note_id", "name", "body", "trigger", "is_enabled", "folder_id", "folder_path",
            "pinned_repo", "macro", "access_type", "org_id", "created_at", "updated_at")
FOLDER_OUT = ("folder_id", "name", "path", "parent_folder_id")


def _note_fields(req: Request, create: bool) -> dict:
    body = body_object(req)
    errs: list = []
    for name in ("name", "body", "trigger"):
        _check(body, name, "str", required=create, errors=errs)
    for name in ("pinned_repo", "folder_id", "macro"):
        _check(body, name, "str", errors=errs)
    _check(body, "is_enabled", "bool", errors=errs)
    raise_if(errs)
    return {k: body[k] for k in ("name", "body", "trigger", "pinned_repo", "folder_id", "macro",
                                 "is_enabled") if k in body}


def _check_folder(store: Store, org_id: str, f: dict) -> None:
    fid = f.get("folder_id")
    if fid is not None:
        _find(store.folders, fid, org_id, "Folder")


def h_list_notes(store: Store, req: Request) -> Response:
    org_id = org_scope(store, req, P.MANAGE_ACCOUNT_KNOWLEDGE)
    first, after = first_after(req)
    folder_path = q_one(req, "folder_path")  # the API has no folder_id filter: a folder_id is ignored
    pinned, search = q_one(req, "pinned_repo"), q_one(req, "search")
    items = []
    for n in store.notes.values():
        if n["org_id"] != org_id:
            continue
        if folder_path is not None and n.get("folder_path") != folder_path:
            continue
        if pinned is not None and n.get("pinned_repo") != pinned:
            continue
        if search and not any(search.lower() in (n.get(k) or "").lower()
                              for k in ("name", "body", "trigger")):
            continue
        items.append(n)
    items.sort(key=lambda n: (n["created_at"], n["_seq"]))
    page = paginate(items, lambda n: (n["created_at"], n["_seq"]), "notes", first, after, False)
    return page_json(page, lambda n: {k: n.get(k) for k in NOTE_OUT})


def h_create_note(store: Store, req: Request) -> Response:
    org_id = org_scope(store, req, P.MANAGE_ACCOUNT_KNOWLEDGE)
    f = _note_fields(req, True)
    _check_folder(store, org_id, f)
    n = store.add_note(org_id, **f)
    return json_response({k: n.get(k) for k in NOTE_OUT})


def h_get_note(store: Store, req: Request) -> Response:
    org_id = org_scope(store, req, P.MANAGE_ACCOUNT_KNOWLEDGE)
    n = _find(store.notes, req.params["note_id"], org_id, "Note")
    return json_response({k: n.get(k) for k in NOTE_OUT})


def h_put_note(store: Store, req: Request) -> Response:
    org_id = org_scope(store, req, P.MANAGE_ACCOUNT_KNOWLEDGE)
    f = _note_fields(req, False)
    n = _find(store.notes, req.params["note_id"], org_id, "Note")
    _check_folder(store, org_id, f)
    n.update(f)
    if "folder_id" in f:
        fo = store.folders.get(f["folder_id"]) if f["folder_id"] else None
        n["folder_path"] = fo["path"] if fo else "/"  # a root note is in "/"
    n["updated_at"] = int(store.now())
    return json_response({k: n.get(k) for k in NOTE_OUT})


def h_delete_note(store: Store, req: Request) -> Response:
    org_id = org_scope(store, req, P.MANAGE_ACCOUNT_KNOWLEDGE)
    n = _find(store.notes, req.params["note_id"], org_id, "Note")
    del store.notes[n["note_id"]]
    return json_response({k: n.get(k) for k in NOTE_OUT})


def h_list_folders(store: Store, req: Request) -> Response:
    """Not paginated: the whole tree, each folder with its note count, and the notes outside any folder."""
    org_id = org_scope(store, req, P.MANAGE_ACCOUNT_KNOWLEDGE)
    notes = [n for n in store.notes.values() if n["org_id"] == org_id and not n.get("_deleted")]
    items = sorted((f for f in store.folders.values() if f["org_id"] == org_id),
                   key=lambda f: (f["created_at"], f["_seq"]))
    folders = [dict({k: f.get(k) for k in FOLDER_OUT},
                    note_count=sum(1 for n in notes if n.get("folder_id") == f["folder_id"])) for f in items]
    return json_response({"folders": folders, "root_note_count": sum(1 for n in notes if not n.get("folder_id"))})


# ---- secrets -------------------------------------------------------------------------------

SECRET_OUT = ("secret_id", "key", "note", "is_sensitive", "secret_type", "access_type", "created_by",
              "created_at", "updated_at")
SECRET_TYPES = ("cookie", "key-value", "totp")


def h_list_secrets(store: Store, req: Request) -> Response:
    org_id = org_scope(store, req, P.MANAGE_ORG_SECRETS)
    first, after = first_after(req)
    items = sorted((s for s in store.secrets.values() if s["org_id"] == org_id and not s.get("_deleted")),
                   key=lambda s: (s["created_at"], s["_seq"]))
    page = paginate(items, lambda s: (s["created_at"], s["_seq"]), "secrets", first, after, False)
    return page_json(page, lambda s: {k: s.get(k) for k in SECRET_OUT})


def h_create_secret(store: Store, req: Request) -> Response:
    org_id = org_scope(store, req, P.MANAGE_ORG_SECRETS)
    body = body_object(req)
    errs: list = []
    _check(body, "type", "str", required=True, errors=errs)
    _check(body, "key", "str", required=True, errors=errs)
    _check(body, "value", "str", required=True, errors=errs)
    _check(body, "is_sensitive", "bool", errors=errs)
    _check(body, "note", "str", errors=errs)
    if isinstance(body.get("type"), str) and body["type"] not in SECRET_TYPES:
        errs.append(vloc(["body", "type"], "Input should be 'cookie', 'key-value' or 'totp'", "enum",
                         body["type"]))
    raise_if(errs)
    s = store.add_secret(org_id, key=body["key"], value=body["value"], note=body.get("note"),
                         is_sensitive=body.get("is_sensitive", True), secret_type=body["type"],
                         created_by=_actor(request_token(req)))
    return json_response({k: s.get(k) for k in SECRET_OUT})


def h_delete_secret(store: Store, req: Request) -> Response:
    org_id = org_scope(store, req, P.MANAGE_ORG_SECRETS)
    sid = req.params["secret_id"]
    s = store.secrets.get(sid)
    if s is None or s["org_id"] != org_id or s.get("_deleted"):
        # Upstream quirk: deleting an unknown or already-deleted secret answers 403.
        raise ApiError(403, f"You do not have access to secret {sid}")
    s["_deleted"] = True
    store._secret_values.pop(sid, None)
    return json_response({k: s.get(k) for k in SECRET_OUT})


# ---- attachments ---------------------------------------------------------------------------

def parse_multipart(content_type: str, body: bytes) -> list[dict]:
    m = re.search(r'boundary=(?:"([^"]+)"|([^;\s]+))', content_type or "", re.I)
    if not m:
        return []
    delim = b"--" + (m.group(1) or m.group(2)).encode("latin-1")
    parts = []
    for chunk in body.split(delim)[1:]:
        if chunk.startswith(b"--"):
            break
        if chunk.startswith(b"\r\n"):
            chunk = chunk[2:]
        head, sep, content = chunk.partition(b"\r\n\r\n")
        if not sep:
            continue
        if content.endswith(b"\r\n"):
            content = content[:-2]
        hdrs = {}
        for line in head.decode("utf-8", "replace").split("\r\n"):
            k, _, v = line.partition(":")
            hdrs[k.strip().lower()] = v.strip()
        disp = hdrs.get("content-disposition", "")
        name = re.search(r'(?:^|;)\s*name="([^"]*)"', disp)
        fname = re.search(r'filename="([^"]*)"', disp)
        parts.append({"name": name.group(1) if name else None,
                      "filename": fname.group(1) if fname else None,
                      "content_type": hdrs.get("content-type"), "data": content})
    return parts


def h_download_attachment(store: Store, req: Request) -> Response:
    """307 to a short-lived presigned URL on another "host" (here: an unauthenticated path)."""
    org_id = org_scope(store, req, P.VIEW_ORG_SESSIONS)
    att = next((a for a in store.attachments.values() if a["attachment_id"] == req.params["attachment_id"]
                and a["org_id"] == org_id and a["name"] == req.params["file_name"]), None)
    if att is None:
        raise ApiError(404, "Attachment not found")
    key = store.presign(att)
    base = getattr(store, "url", None) or ""
    return Response(307, b"", None, {"Location": f"{base}/_presigned/{key}"})


def h_presigned(store: Store, req: Request) -> Response:
    data = store.presigned_data(req.params["key"])
    if data is None:
        return Response(403, b"<Error>AccessDenied</Error>", "application/xml")
    return Response(200, data, "application/octet-stream")


def h_upload_attachment(store: Store, req: Request) -> Response:
    org_id = org_scope(store, req, P.USE_DEVIN_SESSIONS)
    ctype = req.headers.get("Content-Type", "")
    if not ctype.lower().startswith("multipart/form-data"):
        raise validation_error(vloc(["body", "file"], "Field required", "missing"))
    part = next((p for p in parse_multipart(ctype, req.body) if p["name"] == "file"), None)
    if part is None:
        raise validation_error(vloc(["body", "file"], "Field required", "missing"))
    if len(part["data"]) > store.max_attachment_bytes:
        raise ApiError(413, f"Attachment too large: {len(part['data'])} bytes "
                            f"(limit {store.max_attachment_bytes})")
    name = (part["filename"] or "file").replace("\\", "/").rsplit("/", 1)[-1] or "file"
    att = store.add_attachment(org_id, name, part["data"], part["content_type"])
    return json_response({"attachment_id": att["attachment_id"], "name": att["name"], "url": att["url"]})


# ---- v1 (legacy): only the tags route, which refuses cog_ tokens ------------------------------

def h_v1_tags(store: Store, req: Request) -> Response:
    auth = req.headers.get("Authorization") or ""
    tok = auth.partition(" ")[2].strip()
    t = store.tokens.get(tok)
    if not tok.startswith("apk_") or t is None:
        raise ApiError(401, "Invalid API key", legacy=True)
    body = body_object(req)
    errs: list = []
    _check(body, "tags", "strlist", required=True, errors=errs)
    raise_if(errs)
    try:
        rec = store.find_session(req.params["session_id"], t.org_id)
    except ApiError:
        raise ApiError(404, "Session not found", legacy=True) from None
    rec.data["tags"] = list(dict.fromkeys(body["tags"]))
    store._touch(rec, store.now())
    return json_response({"detail": "Tags updated successfully"})


# ---- table ---------------------------------------------------------------------------------

def _build() -> None:
    for v in ("v3", "v3beta1"):
        o = f"/{v}/organizations/{{org_id}}"
        s = o + "/sessions/{devin_id}"
        _add(f"/{v}/self", "GET", h_self)
        _add(o + "/sessions", "GET", h_list_sessions)
        _add(o + "/sessions", "POST", h_create_session)
        _add(s, "GET", h_get_session)
        _add(s, "DELETE", h_terminate)
        _add(s + "/archive", "POST", h_archive)
        _add(s + "/unarchive", "POST", h_unarchive)
        _add(s + "/messages", "GET", h_list_messages)
        _add(s + "/messages", "POST", h_send_message)
        _add(s + "/tags", "GET", h_get_tags)
        _add(s + "/tags", "POST", h_add_tags)
        _add(s + "/tags", "PUT", h_put_tags)
        _add(s + "/attachments", "GET", h_session_attachments)
        _add(o + "/playbooks", "GET", h_list_playbooks)
        _add(o + "/playbooks", "POST", h_create_playbook)
        _add(o + "/playbooks/{playbook_id}", "GET", h_get_playbook)
        _add(o + "/playbooks/{playbook_id}", "PUT", h_put_playbook)
        _add(o + "/playbooks/{playbook_id}", "DELETE", h_delete_playbook)
        _add(o + "/knowledge/notes", "GET", h_list_notes)
        _add(o + "/knowledge/notes", "POST", h_create_note)
        _add(o + "/knowledge/notes/{note_id}", "GET", h_get_note)
        _add(o + "/knowledge/notes/{note_id}", "PUT", h_put_note)
        _add(o + "/knowledge/notes/{note_id}", "DELETE", h_delete_note)
        _add(o + "/knowledge/folders", "GET", h_list_folders)
        _add(o + "/secrets", "GET", h_list_secrets)
        _add(o + "/secrets", "POST", h_create_secret)
        _add(o + "/secrets/{secret_id}", "DELETE", h_delete_secret)
        _add(o + "/attachments", "POST", h_upload_attachment)
        _add(o + "/attachments/{attachment_id}/{file_name}", "GET", h_download_attachment)
        e = f"/{v}/enterprise/sessions"
        _add(e, "GET", h_ent_list)
        _add(e + "/{devin_id}", "GET", h_ent_get)
        _add(e + "/{devin_id}/messages", "GET", h_ent_list_messages)
        _add(e + "/{devin_id}/messages", "POST", h_ent_send_message)
    _add("/v1/sessions/{session_id}/tags", "PUT", h_v1_tags)
    _add("/_presigned/{key}", "GET", h_presigned)


_build()

UNAUTHENTICATED = {h_v1_tags, h_presigned}


def dispatch(store: Store, req: Request, route: Route) -> Response:
    """Run the handler for a matched route (caller holds the store lock and did 404/405)."""
    fn = route.methods[req.method]
    if fn not in UNAUTHENTICATED:
        req.token = authenticate(store, req)
    return fn(store, req)
