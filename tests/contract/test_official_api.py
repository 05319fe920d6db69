"""The official Devin v3 API as the oracle (issue 13): schemas/devin-api/v3-facts.json, assembled
from Cognition's published reference, decides.

- every request the scripts and the MCP tools send (a scenario that reaches every operation the
  plugin uses) matches an operation of the spec, with declared query parameters of the declared
  types and a body valid against the request schema, whose every field the schema names;
- every response the emulator gave to those requests is valid against the operation's response
  schema (success and error shapes alike);
- every field the payload policy allows exists in the spec, and every spec field of the bodies the
  plugin sends is allowed, gated, forbidden or deliberately not offered (the README's coverage table);
- every 403 names the permission the reference names.
"""

from __future__ import annotations

import io
import json
import re
import sys

import pytest
from requests.adapters import HTTPAdapter
from urllib3 import HTTPResponse

from conftest import ROOT, base_env

sys.path.insert(0, str(ROOT / "tools"))
from chaos import run_inprocess  # noqa: E402

FACTS = json.loads((ROOT / "schemas" / "devin-api" / "v3-facts.json").read_text())
OPS = FACTS["operations"]

# Spec fields of the bodies the plugin sends that the policy deliberately does not offer, and why.
NOT_OFFERED = {
    ("session_create", "create_as_user_id"): "forbidden: impersonation",
    ("session_create", "session_secrets"): "forbidden: inline secrets (stored secrets go by secret_ids)",
    ("session_message", "message_as_user_id"): "forbidden: impersonation",
}
POLICY_SCHEMAS = {"session_create": "SessionCreateRequest", "session_message": "SessionMessageCreateRequest",
                  "session_tags": "SessionTagsRequest", "playbook_write": "PlaybookCreateRequest",
                  "note_write": "KnowledgeNoteCreateRequest"}


def _validator(schema: dict):
    from jsonschema import Draft202012Validator
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012
    doc = dict(FACTS)
    registry = Registry().with_resource("urn:facts", Resource(doc, specification=DRAFT202012))
    text = json.dumps(schema).replace('"#/components/', '"urn:facts#/components/')
    return Draft202012Validator(json.loads(text), registry=registry)


def _resolve(schema: dict) -> dict:
    while "$ref" in schema:
        schema = FACTS["components"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def _operation(method: str, path: str):
    for key, op in OPS.items():
        if op["method"] != method:
            continue
        pattern = "^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(op["path"])) + "$"
        if re.match(pattern, path):
            return key, op
    return None, None


def _typed(values: list[str], schema: dict):
    schema = _resolve(schema)
    types = schema.get("type", [])
    types = types if isinstance(types, list) else [types]
    if "array" in types:
        return [_typed([v], schema.get("items", {})) for v in values]
    value = values[-1]
    if "integer" in types and re.fullmatch(r"-?\d+", value):
        return int(value)
    if "boolean" in types and value in ("true", "false"):
        return value == "true"
    return value


class Recorder:
    """A transport over the real loopback HTTPAdapter that keeps each answer's body (the seam)."""

    def __init__(self):
        self.inner, self.seen = HTTPAdapter(max_retries=0), []

    def send(self, request, **kw):
        resp = self.inner.send(request, **kw)
        data = resp.raw.read(decode_content=True)
        headers = {k: v for k, v in resp.headers.items() if k.lower() not in ("content-encoding", "transfer-encoding")}
        resp.raw = HTTPResponse(body=io.BytesIO(data), headers=headers, status=resp.status_code, preload_content=False)
        self.seen.append((request.method, request.path_url.split("?")[0], resp.status_code, data,
                          resp.headers.get("Content-Type", "")))
        return resp

    def close(self):
        self.inner.close()


@pytest.fixture(scope="module")
def scenario(tmp_path_factory):
    """Every operation the plugin uses, through its scripts and its MCP tools, recorded."""
    from devin_emulator import ALL_PERMISSIONS, Emulator, ManualClock
    from devin_plugin import config, mcp_server
    from devin_plugin import policy as policy_mod
    emu = Emulator(clock=ManualClock(1_800_000_000.0))
    emu.start()
    root = tmp_path_factory.mktemp("contract")
    dirs = {n: root / n for n in ("home", "state", "config", "data", "work")}
    for d in dirs.values():
        d.mkdir()
    env = base_env(dirs, emu)
    rec = Recorder()
    results = []

    def run(*args, stdin=None, token=None):
        e = dict(env, DEVIN_SERVICE_USER_TOKEN=token) if token else env
        r = run_inprocess(args[0], *args[1:], env=e, input=stdin, cwd=dirs["work"], transport=rec)
        results.append((args, r.rc, r.err))
        return r

    try:
        ent = emu.add_token(org_id=None, permissions=ALL_PERMISSIONS, enterprise=True)
        pb = emu.add_playbook(emu.org_id, title="P", body="b", macro="!p")
        folder = emu.add_folder(emu.org_id, name="Infra")
        note = emu.add_note(emu.org_id, name="N", body="b", trigger="t", folder_id=folder["folder_id"])
        secret = emu.add_secret(emu.org_id, key="K")
        (dirs["work"] / "f.txt").write_text("hello")
        (dirs["work"] / "out").mkdir()
        created = run("create_session.py", "--json", "--prompt-file", "-", "--title", "Contract", "--tag", "ci",
                      "--repo", "acme/web", "--max-acu", "5", "--playbook-id", pb["playbook_id"], "--knowledge-id",
                      note["note_id"], "--secret-id", secret["secret_id"], "--field", "devin_mode=lite",
                      "--field", "resumable=true", stdin="do it")
        sid = json.loads(created.out)["session_id"]
        emu.add_attachment(emu.org_id, "result.md", b"# ok", "text/markdown", session_id=sid, source="devin")
        run("create_session.py", "--json", "--prompt", "do it", "--title", "Contract")  # dedup finds it
        run("get_session.py", sid, "--json")
        run("list_sessions.py", "--json", "--limit", "3", "--tag", "ci", "--created-after", "1")
        run("list_sessions.py", "--json", "--enterprise", token=ent)
        run("send_message.py", sid, "--json", "--message", "more", "--attachment-url", "https://example.com/a")
        emu.set_fault("POST", "/v3/organizations/{org_id}/sessions/{devin_id}/messages", "status", status=403)
        run("send_message.py", sid, "--json", "--message", "via enterprise", token=ent)
        run("list_messages.py", sid, "--json")
        run("wait_session.py", sid, "--json", "--timeout", "0.2", "--interval", "0.1")
        run("update_tags.py", sid, "--json")
        run("update_tags.py", sid, "--json", "--add", "x")
        run("update_tags.py", sid, "--json", "--remove", "x")
        run("upload_attachment.py", "f.txt", "--json")
        run("list_attachments.py", sid, "--json", "--download", "out")
        run("archive_session.py", sid, "--json")
        run("unarchive_session.py", sid, "--json")
        run("terminate_session.py", sid, "--json")
        run("playbooks.py", "list", "--json")
        run("playbooks.py", "get", pb["playbook_id"], "--json")
        run("playbooks.py", "create", "--json", "--title", "T", "--body", "b", "--macro", "!t")
        run("playbooks.py", "update", pb["playbook_id"], "--json", "--title", "P2")
        run("playbooks.py", "delete", pb["playbook_id"], "--json")
        run("knowledge.py", "list", "--json", "--folder-path", folder["path"], "--search", "N")
        run("knowledge.py", "folders", "--json")
        run("knowledge.py", "get", note["note_id"], "--json")
        run("knowledge.py", "create", "--json", "--name", "M", "--trigger", "t", "--body", "b")
        run("knowledge.py", "update", note["note_id"], "--json", "--trigger", "always")
        run("knowledge.py", "delete", note["note_id"], "--json")
        run("secrets.py", "list", "--json")
        run("secrets.py", "delete", secret["secret_id"], "--json")
        run("check_setup.py", "--json")
        run("get_session.py", "devin-" + "f" * 32, "--json")  # an error shape: 404
        run("playbooks.py", "create", "--json", "--title", "T", "--body", "b", "--field", "x=1")  # refused locally
        # the MCP tools over the same transport
        menv = dict(env, DEVIN_PLUGIN_WORKDIR=str(dirs["work"]))
        tools = {t.name: t for t in mcp_server.tools(policy_mod.load(config.config_dir(menv)))}
        s2 = json.loads(run("create_session.py", "--json", "--prompt", "second", "--force-new").out)["session_id"]
        for name, args in [("create_session", {"prompt": "third", "title": "Third", "devin_mode": "fast"}),
                           ("get_session", {"session": s2}), ("list_sessions", {"limit": 2}),
                           ("send_message", {"session": s2, "message": "hi"}),
                           ("list_messages", {"session": s2}), ("update_tags", {"session": s2, "set": ["a"]}),
                           ("archive_session", {"session": s2}), ("unarchive_session", {"session": s2}),
                           ("list_attachments", {"session": s2}), ("list_knowledge_folders", {}),
                           ("list_playbooks", {}), ("list_knowledge", {"search": "x"}), ("list_secrets", {}),
                           ("upload_attachment", {"path": "f.txt"}),
                           ("terminate_session", {"session": s2, "confirm": True})]:
            doc, text, is_error = mcp_server.run_tool(tools[name], args, menv, transport=rec)
            results.append(((name,), 1 if is_error else 0, text))
        yield {"emu": emu, "rec": rec, "results": results}
    finally:
        emu.stop()


def test_the_scenario_ran_and_reached_every_operation_the_plugin_uses(scenario):
    fine = {"wait_session.py": (0, 9)}  # 9: the wait timed out while Devin works
    bad = [(args, rc, err[-300:]) for args, rc, err in scenario["results"]
           if rc not in fine.get(args[0], (0,))
           and args[:2] not in (("get_session.py", "devin-" + "f" * 32), ("playbooks.py", "create"))]
    assert [b for b in bad if not (b[0][0] == "playbooks.py" and "x=1" in b[0])] == []
    reached = {_operation(e.method, e.path)[0] for e in scenario["emu"].journal}
    unused_on_purpose = {"v1.sessions.tags.replace", "enterprise.sessions.messages.list"}
    assert set(OPS) - reached - unused_on_purpose == set()


def test_every_request_matches_its_operation(scenario):
    problems = []
    for e in scenario["emu"].journal:
        if e.path.startswith(("/_emulator", "/_presigned")):
            continue
        key, op = _operation(e.method, e.path)
        if op is None:
            problems.append(f"{e.method} {e.path}: no such operation in the official API")
            continue
        declared = {p["name"]: p for p in op.get("parameters", []) if p["in"] == "query"}
        for name, values in e.query.items():
            if name not in declared:
                problems.append(f"{key}: query parameter {name!r} is not in the spec")
                continue
            value = _typed(values, declared[name]["schema"])
            for err in _validator(declared[name]["schema"]).iter_errors(value):
                problems.append(f"{key}: query {name}={values}: {err.message}")
        if op.get("request") and e.json is not None and "multipart" not in e.headers.get("Content-Type", ""):
            for err in _validator(op["request"]).iter_errors(e.json):
                problems.append(f"{key}: body {list(err.absolute_path)}: {err.message}")
            props = _resolve(op["request"]).get("properties", {})
            extra = set(e.json) - set(props) if isinstance(e.json, dict) else set()
            if extra:
                problems.append(f"{key}: body fields not in the spec: {sorted(extra)}")
    assert problems == []


def test_every_emulator_response_matches_the_response_schema(scenario):
    problems, checked = [], 0
    for method, path, status, data, _ctype in scenario["rec"].seen:
        key, op = _operation(method, path)
        if op is None or 300 <= status < 400:
            continue
        schema = op["responses"].get(str(status)) or op["responses"].get(f"{str(status)[0]}XX")
        if schema is None:
            if status < 300:
                problems.append(f"{key}: no response schema for {status}")
            continue
        doc = json.loads(data) if data else None
        checked += 1
        for err in _validator(schema).iter_errors(doc):
            problems.append(f"{key} {status}: {list(err.absolute_path)}: {err.message}"[:300])
    assert problems == [], "\n".join(problems)
    assert checked > 40


@pytest.mark.parametrize("endpoint,component", sorted(POLICY_SCHEMAS.items()))
def test_policy_fields_and_spec_fields_cover_each_other(endpoint, component):
    from devin_plugin import policy as policy_mod
    from devin_plugin.fieldnames import is_forbidden
    pol = policy_mod.load(ROOT / "no-user-config")
    allowed = set(pol.fields(endpoint))
    spec = set(_resolve(FACTS["components"][component])["properties"])
    gated = set(pol.base["gated_fields"])
    beta_only = {"advanced_mode"}  # a v3beta1 create field, gated; not in the v3 schema
    assert allowed - spec - beta_only == set(), "the policy allows fields the official API does not have"
    for field in spec - allowed:
        assert is_forbidden(field) or (endpoint, field) in NOT_OFFERED, f"{endpoint}.{field} is neither allowed, " \
            "gated, forbidden nor listed as not offered"
    assert gated & allowed <= spec | beta_only


def test_every_403_names_the_permission_of_the_reference():
    from devin_plugin import routes
    missing = []
    for key, op in OPS.items():
        perm = op.get("permission")
        template = op["path"].split("/", 2)[2]  # drop /v3
        template = "/" + template
        template = template.replace("{uuid}", "{attachment_id}").replace("{name}", "{file_name}")
        if not perm or op["path"].startswith("/v1/"):
            continue
        ours = routes.PERMISSIONS.get((op["method"], template))
        if ours is None or perm not in ours:
            missing.append(f"{key}: reference {perm!r}, ours {ours!r}")
    assert missing == []


def test_the_contract_catches_a_field_the_spec_does_not_have(scenario):
    """The broken copy: a body field the API does not know is reported, not passed."""
    op = OPS["sessions.create"]
    props = _resolve(op["request"])["properties"]
    assert "titel" not in props and "title" in props
    assert list(_validator(op["request"]).iter_errors({"prompt": 1}))  # a wrong type fails
