"""tools/spec_diff.py on small hand-made facts files, and schemas/devin-api/v3-facts.json as a document:
every $ref resolves, every schema is a valid Draft 2020-12 schema, and the facts the plugin leans on are there."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from conftest import ROOT

sys.path.insert(0, str(ROOT / "tools"))
import spec_diff  # noqa: E402

FACTS = ROOT / "schemas" / "devin-api" / "v3-facts.json"
SESSIONS = "/v3/organizations/{org_id}/sessions"


def base() -> dict[str, Any]:
    """A two-operation facts file: create and list, sharing a Session component."""
    org = {"name": "org_id", "in": "path", "required": True, "schema": {"type": "string"}}
    return {
        "source": {"retrieved": "2026-12-03"},
        "refresh": "by hand",
        "operations": {
            "sessions.create": {
                "method": "POST", "path": SESSIONS, "permission": "ManageOrgSessions", "parameters": [org],
                "request": {"$ref": "#/components/Create"},
                "responses": {"200": {"$ref": "#/components/Session"}},
            },
            "sessions.list": {
                "method": "GET", "path": SESSIONS, "permission": "ViewOrgSessions",
                "parameters": [org, {"name": "first", "in": "query", "required": False,
                                     "schema": {"type": "integer", "minimum": 1, "maximum": 200}}],
                "request": None,
                "responses": {"200": {"type": "object", "required": ["items"], "properties": {
                    "items": {"type": "array", "items": {"$ref": "#/components/Session"}}}}},
            },
        },
        "components": {
            "Create": {"type": "object", "required": ["prompt"], "properties": {
                "prompt": {"type": "string"},
                "devin_mode": {"type": ["string", "null"], "enum": ["normal", "fast", None]}}},
            "Session": {"type": "object", "required": ["session_id", "status"], "properties": {
                "session_id": {"type": "string"},
                "status": {"type": "string", "enum": ["new", "running", "exit"]}}},
        },
    }


def write(tmp_path: Path, name: str, doc: Any) -> str:
    path = tmp_path / name
    path.write_text(doc if isinstance(doc, str) else json.dumps(doc), encoding="utf-8")
    return str(path)


def run(tmp_path: Path, old: Any, new: Any, capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, Any]]:
    code = spec_diff.main([write(tmp_path, "old.json", old), write(tmp_path, "new.json", new), "--json"])
    out = capsys.readouterr().out
    return code, json.loads(out) if code in (0, 1) else {}


def changes(result: dict[str, Any]) -> list[dict[str, Any]]:
    return [c for item in result["changed"] for c in item["changes"]]


# -- the diff ----------------------------------------------------------------------------------------------------

def test_identical_files_exit_0(tmp_path, capsys):
    code, result = run(tmp_path, base(), base(), capsys)
    assert code == 0 and result == {"identical": True, "added": [], "removed": [], "changed": []}


def test_identical_text_output(tmp_path, capsys):
    path = write(tmp_path, "a.json", base())
    assert spec_diff.main([path, path]) == 0
    assert capsys.readouterr().out.startswith("identical")


def test_added_and_removed_routes(tmp_path, capsys):
    new = base()
    del new["operations"]["sessions.list"]
    new["operations"]["sessions.get"] = {"method": "GET", "path": SESSIONS + "/{devin_id}",
                                         "permission": "ViewOrgSessions", "responses": {}}
    code, result = run(tmp_path, base(), new, capsys)
    assert code == 1
    assert result["added"] == [{"operation": f"GET {SESSIONS}/{{devin_id}}", "key": "sessions.get"}]
    assert result["removed"] == [{"operation": f"GET {SESSIONS}", "key": "sessions.list"}]
    assert result["changed"] == []


def test_changed_route_template_is_matched_and_reported(tmp_path, capsys):
    old = base()
    old["operations"]["sessions.get"] = {"method": "GET", "path": SESSIONS + "/{devin_id}", "responses": {}}
    new = copy.deepcopy(old)
    new["operations"]["sessions.get"]["path"] = SESSIONS + "/{session_id}"
    code, result = run(tmp_path, old, new, capsys)
    assert code == 1 and not result["added"] and not result["removed"]
    assert changes(result) == [{"where": "path", "path": "(root)", "kind": "changed",
                                "old": SESSIONS + "/{devin_id}", "new": SESSIONS + "/{session_id}"}]


def test_method_change_is_a_different_route(tmp_path, capsys):
    new = base()
    new["operations"]["sessions.create"]["method"] = "PUT"
    code, result = run(tmp_path, base(), new, capsys)
    assert code == 1
    assert [a["operation"] for a in result["added"]] == [f"PUT {SESSIONS}"]
    assert [r["operation"] for r in result["removed"]] == [f"POST {SESSIONS}"]


def test_request_field_added_and_removed(tmp_path, capsys):
    new = base()
    props = new["components"]["Create"]["properties"]
    props["resumable"] = {"type": "boolean"}
    del props["devin_mode"]
    code, result = run(tmp_path, base(), new, capsys)
    assert code == 1
    found = {(c["where"], c["path"], c["kind"]) for c in changes(result)}
    assert found == {("request", "resumable", "added"), ("request", "devin_mode", "removed")}


def test_enum_value_added_through_a_shared_component(tmp_path, capsys):
    new = base()
    new["components"]["Session"]["properties"]["status"]["enum"].append("suspended")
    code, result = run(tmp_path, base(), new, capsys)
    assert code == 1
    found = sorted((item["key"], c["where"], c["path"], c["attribute"], tuple(c["added"]), tuple(c["removed"]))
                   for item in result["changed"] for c in item["changes"])
    assert found == [("sessions.create", "response 200", "status", "enum", ("suspended",), ()),
                     ("sessions.list", "response 200", "items[].status", "enum", ("suspended",), ())]


def test_enum_value_removed_from_nullable_field(tmp_path, capsys):
    new = base()
    new["components"]["Create"]["properties"]["devin_mode"]["enum"] = ["normal", None]
    code, result = run(tmp_path, base(), new, capsys)
    assert changes(result) == [{"where": "request", "path": "devin_mode", "kind": "changed", "attribute": "enum",
                                "added": [], "removed": ["fast"]}]
    assert code == 1


def test_required_list_change(tmp_path, capsys):
    new = base()
    new["components"]["Create"]["required"] = ["prompt", "devin_mode"]
    code, result = run(tmp_path, base(), new, capsys)
    assert code == 1
    assert changes(result) == [{"where": "request", "path": "(root)", "kind": "changed", "attribute": "required",
                                "added": ["devin_mode"], "removed": []}]


def test_type_and_limit_changes(tmp_path, capsys):
    new = base()
    new["components"]["Create"]["properties"]["prompt"]["type"] = ["string", "null"]
    new["operations"]["sessions.list"]["parameters"][1]["schema"]["maximum"] = 100
    code, result = run(tmp_path, base(), new, capsys)
    assert code == 1
    found = {(c["where"], c["path"], c["attribute"]): c for c in changes(result)}
    assert found[("request", "prompt", "type")]["added"] == ["null"]
    assert (found[("parameter first (query)", "(root)", "maximum")]["old"],
            found[("parameter first (query)", "(root)", "maximum")]["new"]) == (200, 100)


def test_parameter_required_flag_and_new_parameter(tmp_path, capsys):
    new = base()
    params = new["operations"]["sessions.list"]["parameters"]
    params[1]["required"] = True
    params.append({"name": "folder_path", "in": "query", "schema": {"type": ["string", "null"]}})
    code, result = run(tmp_path, base(), new, capsys)
    assert code == 1
    found = {(c["where"], c["kind"], c.get("attribute")) for c in changes(result)}
    assert found == {("parameter first (query)", "changed", "(required)"),
                     ("parameter folder_path (query)", "added", None)}


def test_permission_change_single_and_list(tmp_path, capsys):
    new = base()
    new["operations"]["sessions.create"]["permission"] = ["ManageOrgSessions", "UseDevinSessions"]
    new["operations"]["sessions.list"]["permission"] = None
    code, result = run(tmp_path, base(), new, capsys)
    assert code == 1
    found = {item["key"]: item["changes"] for item in result["changed"]}
    assert found["sessions.create"] == [{"where": "permission", "path": "(root)", "kind": "changed",
                                         "old": ["ManageOrgSessions"],
                                         "new": ["ManageOrgSessions", "UseDevinSessions"]}]
    assert found["sessions.list"][0]["new"] is None


def test_response_status_added(tmp_path, capsys):
    new = base()
    new["operations"]["sessions.create"]["responses"]["422"] = {"type": "object"}
    code, result = run(tmp_path, base(), new, capsys)
    assert code == 1
    assert changes(result) == [{"where": "response 422", "path": "(root)", "kind": "added"}]


def test_annotations_and_prose_are_not_compared(tmp_path, capsys):
    new = base()
    new["components"]["Create"]["properties"]["prompt"].update(description="The task", unverified=True,
                                                                **{"x-note": "n"})
    new["source"] = {"retrieved": "2027-01-01"}
    code, _ = run(tmp_path, base(), new, capsys)
    assert code == 0


def test_recursive_ref_terminates(tmp_path, capsys):
    doc = base()
    doc["components"]["Session"]["properties"]["parent"] = {"$ref": "#/components/Session"}
    code, _ = run(tmp_path, doc, copy.deepcopy(doc), capsys)
    assert code == 0


def test_text_output_names_every_kind_of_change(tmp_path, capsys):
    new = base()
    new["operations"]["sessions.create"]["permission"] = "UseDevinSessions"
    new["components"]["Session"]["properties"]["status"]["enum"].append("error")
    new["operations"]["sessions.get"] = {"method": "GET", "path": SESSIONS + "/{devin_id}", "responses": {}}
    code = spec_diff.main([write(tmp_path, "o.json", base()), write(tmp_path, "n.json", new)])
    out = capsys.readouterr().out
    assert code == 1
    assert f"operations added:\n  + GET {SESSIONS}/{{devin_id}}  (sessions.get)" in out
    assert f"changed POST {SESSIONS}  (sessions.create):" in out
    assert 'permission: permission ["ManageOrgSessions"] -> ["UseDevinSessions"]' in out
    assert 'response 200 status: enum +["error"]' in out


# -- OpenAPI input ---------------------------------------------------------------------------------------------

def openapi_doc() -> dict[str, Any]:
    """The same two operations as base(), as an OpenAPI 3.0 document (nullable, components/schemas)."""
    org = {"name": "org_id", "in": "path", "required": True, "schema": {"type": "string"}}
    session = {"$ref": "#/components/schemas/Session"}
    return {
        "openapi": "3.0.3",
        "paths": {SESSIONS: {
            "parameters": [org],
            "post": {"operationId": "create", "requestBody": {"content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/Create"}}}},
                "responses": {"200": {"content": {"application/json": {"schema": session}}}}},
            "get": {"operationId": "list",
                    "parameters": [{"$ref": "#/components/parameters/First"}],
                    "responses": {"200": {"content": {"application/json": {"schema": {
                        "type": "object", "required": ["items"],
                        "properties": {"items": {"type": "array", "items": session}}}}}}}},
        }},
        "components": {
            "parameters": {"First": {"name": "first", "in": "query", "required": False,
                                     "schema": {"type": "integer", "minimum": 1, "maximum": 200}}},
            "schemas": {
                "Create": {"type": "object", "required": ["prompt"], "properties": {
                    "prompt": {"type": "string", "description": "prose is ignored"},
                    "devin_mode": {"type": "string", "nullable": True, "enum": ["normal", "fast", None]}}},
                "Session": {"type": "object", "required": ["session_id", "status"], "properties": {
                    "session_id": {"type": "string"}, "status": {"type": "string",
                                                                 "enum": ["new", "running", "exit"]}}},
            },
        },
    }


def test_facts_against_equivalent_openapi_is_identical(tmp_path, capsys):
    code, result = run(tmp_path, base(), openapi_doc(), capsys)
    assert code == 0, result


def test_openapi_change_is_found_against_facts(tmp_path, capsys):
    doc = openapi_doc()
    doc["components"]["schemas"]["Create"]["properties"]["resumable"] = {"type": "boolean"}
    code, result = run(tmp_path, base(), doc, capsys)
    assert code == 1
    assert [(c["where"], c["path"], c["kind"]) for c in changes(result)] == [("request", "resumable", "added")]


def test_openapi_permission_from_description(tmp_path, capsys):
    doc = openapi_doc()
    doc["paths"][SESSIONS]["get"]["description"] = "Requires the `ManageOrgSessions` permission."
    code, result = run(tmp_path, base(), doc, capsys)
    assert code == 1
    assert changes(result)[0]["where"] == "permission"


def test_openapi_yaml_input(tmp_path, capsys):
    yaml = pytest.importorskip("yaml")
    old = write(tmp_path, "old.json", base())
    new = write(tmp_path, "new.yaml", yaml.safe_dump(openapi_doc()))
    assert spec_diff.main([old, new]) == 0
    capsys.readouterr()


# -- bad input -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("bad", [
    "{not json", "[1, 2]", json.dumps({"operations": []}), json.dumps({"openapi": "3.1.0"}),
    json.dumps({"operations": {"x": {"method": "GET"}}, "components": {}}),
])
def test_bad_input_exits_2(tmp_path, capsys, bad):
    code = spec_diff.main([write(tmp_path, "bad.json", bad), write(tmp_path, "good.json", base())])
    assert code == 2
    assert "spec_diff:" in capsys.readouterr().err


def test_dangling_ref_exits_2(tmp_path, capsys):
    doc = base()
    doc["operations"]["sessions.create"]["request"] = {"$ref": "#/components/Missing"}
    assert spec_diff.main([write(tmp_path, "a.json", base()), write(tmp_path, "b.json", doc)]) == 2
    assert "does not resolve" in capsys.readouterr().err


def test_missing_file_exits_2_from_the_command_line(tmp_path):
    proc = subprocess.run([sys.executable, str(ROOT / "tools" / "spec_diff.py"), str(tmp_path / "nope.json"),
                           str(FACTS)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "cannot read" in proc.stderr


def test_command_line_exit_1_and_json(tmp_path):
    new = base()
    new["components"]["Session"]["required"] = ["session_id"]
    proc = subprocess.run([sys.executable, str(ROOT / "tools" / "spec_diff.py"), write(tmp_path, "o.json", base()),
                           write(tmp_path, "n.json", new), "--json"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    assert json.loads(proc.stdout)["identical"] is False


# -- the shipped facts file ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def facts() -> dict[str, Any]:
    return json.loads(FACTS.read_text(encoding="utf-8"))


def refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [r for value in node.values() for r in refs(value)]
    if isinstance(node, list):
        return [r for value in node for r in refs(value)]
    return []


def schemas_of(facts: dict[str, Any]) -> list[tuple[str, Any]]:
    out = [(f"components/{name}", schema) for name, schema in facts["components"].items()]
    for key, op in facts["operations"].items():
        out += [(f"{key} parameter {p['name']}", p["schema"]) for p in op["parameters"]]
        if op["request"] is not None:
            out.append((f"{key} request", op["request"]))
        out += [(f"{key} response {status}", schema) for status, schema in op["responses"].items()]
    return out


def test_facts_file_shape(facts):
    assert set(facts) >= {"source", "refresh", "operations", "components"}
    assert facts["source"]["retrieved"] == "2026-12-03"
    for key, op in facts["operations"].items():
        assert {"method", "path", "permission", "parameters", "request", "responses", "source",
                "retrieved"} <= set(op), key
        assert op["method"] in {"GET", "POST", "PUT", "PATCH", "DELETE"}, key
        assert op["path"].startswith(("/v3/", "/v1/")), key
        assert op["permission"] is None or isinstance(op["permission"], (str, list)), key
        for param in op["parameters"]:
            assert {"name", "in", "required", "schema"} <= set(param), (key, param)
            if param["in"] == "path":
                assert param["required"] is True and "{" + param["name"] + "}" in op["path"], (key, param)


def test_every_ref_resolves(facts):
    found = refs(facts)
    assert found
    for ref in found:
        assert ref.startswith("#/components/"), ref
        assert ref.removeprefix("#/components/") in facts["components"], ref


def test_every_schema_is_a_valid_draft_2020_12_schema(facts):
    from jsonschema import Draft202012Validator
    for where, schema in schemas_of(facts):
        try:
            Draft202012Validator.check_schema(schema)
        except Exception as exc:  # name the schema that failed
            raise AssertionError(f"{where}: {exc}") from exc


def validator(facts: dict[str, Any], name: str) -> Any:
    from jsonschema import Draft202012Validator
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012
    registry = Registry().with_resource("urn:devin-v3-facts", Resource(facts, specification=DRAFT202012))
    return Draft202012Validator({"$ref": f"urn:devin-v3-facts#/components/{name}"}, registry=registry)


def test_components_validate_instances_with_the_whole_file_as_root(facts):
    session = {"session_id": "devin-" + "a" * 32, "url": "https://app.devin.ai/sessions/" + "a" * 32,
               "status": "running", "status_detail": "waiting_for_user", "tags": [], "org_id": "org-1",
               "created_at": 1, "updated_at": 2, "acus_consumed": 0.5, "pull_requests": [
                   {"pr_url": "https://github.com/o/r/pull/1", "pr_state": None}], "origin": "api"}
    assert not list(validator(facts, "PaginatedResponse_SessionResponse_").iter_errors(
        {"items": [session], "has_next_page": False, "end_cursor": None}))
    assert list(validator(facts, "SessionResponse").iter_errors(dict(session, status="asleep")))
    assert not list(validator(facts, "SessionCreateRequest").iter_errors(
        {"prompt": "x", "devin_mode": "lite", "resumable": False, "knowledge_ids": None}))
    assert list(validator(facts, "SessionCreateRequest").iter_errors({"title": "no prompt"}))
    assert not list(validator(facts, "ProblemDetail").iter_errors(
        {"title": "Unprocessable", "status": 422, "errors": [{"loc": ["body", "prompt"], "msg": "required"}]}))
    assert not list(validator(facts, "SelfResponse").iter_errors(
        {"principal_type": "service_user", "service_user_id": "su-1", "service_user_name": "bot", "org_id": None}))


def test_the_facts_the_plugin_leans_on(facts):
    ops, comps = facts["operations"], facts["components"]
    assert comps["FolderTreeResponse"]["required"] == ["folders", "root_note_count"]
    assert set(comps["FolderSummary"]["properties"]) == {"folder_id", "name", "path", "note_count",
                                                          "parent_folder_id"}
    note_filters = {p["name"] for p in ops["knowledge.notes.list"]["parameters"]}
    assert "folder_path" in note_filters and "folder_id" not in note_filters
    assert comps["SessionAttachmentList"]["type"] == "array"
    assert ops["attachments.upload"]["permission"] == "UseDevinSessions"
    assert ops["playbooks.update"]["request"] == {"$ref": "#/components/PlaybookCreateRequest"}
    assert "structured_output_schema" in comps["PlaybookCreateRequest"]["properties"]
    assert "errors" in comps["ProblemDetail"]["properties"]
    first = next(p for p in ops["sessions.list"]["parameters"] if p["name"] == "first")["schema"]
    assert (first["minimum"], first["maximum"], first["default"]) == (1, 200, 100)
    assert ops["sessions.unarchive"].get("unverified") is True


def test_facts_file_diffs_identical_with_itself():
    assert spec_diff.main([str(FACTS), str(FACTS)]) == 0
