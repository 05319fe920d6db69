"""Auth, RBAC, org isolation, enterprise scope, v3beta1 differences, v1, 404 vs 405."""

from __future__ import annotations

import pytest

import emulator_fixtures  # noqa: F401
from emulator_fixtures import Client, assert_problem, assert_validation, client, emu  # noqa: F401

from devin_emulator import ALL_PERMISSIONS

ORG_B = "org-bbbbbbbbbbbbbbbb"


def test_all_permissions_constant():
    assert ALL_PERMISSIONS >= {
        "ViewOrgSessions", "ManageOrgSessions", "UseDevinSessions", "UseDevinExpert", "ImpersonateOrgSessions",
        "ViewAccountSessions", "ManageAccountSessions", "ManageAccountPlaybooks", "ManageAccountKnowledge",
        "ReadAccountMeta", "ManageOrgSecrets"}
    # the names the official v3 reference uses (issue 13): no View/ManageOrgPlaybooks or ...Knowledge
    assert not {"ViewOrgPlaybooks", "ManageOrgPlaybooks", "ViewOrgKnowledge", "ManageOrgKnowledge"} & ALL_PERMISSIONS


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer cog_nope"}, {"Authorization": "Basic abc"},
                                     {"Authorization": "Bearer "}, {"Authorization": "cog_x"}])
def test_401_problem(emu, headers):
    c = Client(emu, token="")
    r = c.get("/v3/self", headers=dict(headers))
    assert_problem(r, 401)
    assert r.headers.get("WWW-Authenticate") == "Bearer"


def test_apk_token_refused_on_v3(emu):
    tok = emu.add_token(token="apk_user_abc123")
    assert_problem(Client(emu, tok).get("/v3/self"), 401)


def test_revoked_token(emu):
    tok = emu.add_token()
    c = Client(emu, tok)
    assert c.get("/v3/self").status_code == 200
    emu.revoke_token(tok)
    assert_problem(c.get("/v3/self"), 401)


def test_unknown_route_404_and_wrong_method_405(client):
    for path in ("/", "/v3", "/v2/sessions", "/v3/organizations", "/v3/organizations/x/nothing",
                 "/v3/enterprise/sessions/x/archive", "/v1/sessions"):
        r = client.get(path)
        assert r.status_code == 404 and r.json() == {"detail": "Not Found"}, path
        assert r.headers["Content-Type"] == "application/json"
    for method, path in (("PUT", "/v3/self"), ("DELETE", "sessions"), ("GET", "sessions/devin-x/archive"),
                         ("POST", "/v3/enterprise/sessions"), ("GET", "/v1/sessions/devin-x/tags"),
                         ("PATCH", "playbooks/p")):
        r = client.req(method, path)
        assert r.status_code == 405 and r.json() == {"detail": "Method Not Allowed"}, (method, path)
        assert "Allow" in r.headers
    # 404/405 come before authentication, as in FastAPI
    c = Client(client.emu, token="")
    assert c.get("/nope").json() == {"detail": "Not Found"}
    assert c.req("PUT", "/v3/self").status_code == 405


def test_trailing_slash_redirects(client):
    r = client.get("sessions/", allow_redirects=False)
    assert r.status_code == 307 and r.headers["Location"].endswith("/sessions")


def test_org_isolation(emu, client):
    emu.add_org(ORG_B)
    tok_b = emu.add_token(org_id=ORG_B)
    cb = Client(emu, tok_b, org_id=ORG_B)
    b_sess = cb.create("org B work")
    a_sess = client.create("org A work")
    # A never sees B's sessions in its list
    ids = {s["session_id"] for s in client.get("sessions").json()["items"]}
    assert ids == {a_sess["session_id"]}
    # A on B's path: 403 naming the issue, for every kind of route
    for method, path in (("GET", "sessions"), ("POST", "sessions"), ("GET", f"sessions/{b_sess['session_id']}"),
                         ("GET", "playbooks"), ("GET", "secrets")):
        r = client.req(method, f"{emu.url}/v3/organizations/{ORG_B}/{path}", json={"prompt": "x"})
        assert_problem(r, 403, ORG_B)
    # B's session id under A's org: 404, for get, terminate, archive, messages, tags
    sid = b_sess["session_id"]
    assert_problem(client.get(f"sessions/{sid}"), 404)
    assert_problem(client.delete(f"sessions/{sid}"), 404)
    assert_problem(client.post(f"sessions/{sid}/archive"), 404)
    assert_problem(client.post(f"sessions/{sid}/messages", json={"message": "x"}), 404)
    assert_problem(client.get(f"sessions/{sid}/messages"), 404)
    assert_problem(client.put(f"sessions/{sid}/tags", json={"tags": []}), 404)
    assert_problem(client.get(f"sessions/{sid}/attachments"), 404)
    assert client.get("sessions", params={"session_ids": sid}).json()["items"] == []
    assert cb.session(sid)["status"] == "new"  # untouched
    # an org token cannot use enterprise routes
    assert_problem(client.get("/v3/enterprise/sessions", params={"org_ids": emu.org_id}), 403, "enterprise")


@pytest.mark.parametrize("method,path,body,perm", [
    ("GET", "sessions", None, "ViewOrgSessions"),
    ("POST", "sessions", {"prompt": "x"}, "ManageOrgSessions"),
    ("GET", "sessions/{sid}", None, "ViewOrgSessions"),
    ("DELETE", "sessions/{sid}", None, "ManageOrgSessions"),
    ("POST", "sessions/{sid}/archive", None, "ManageOrgSessions"),
    ("POST", "sessions/{sid}/messages", {"message": "x"}, "ManageOrgSessions"),
    ("GET", "sessions/{sid}/messages", None, "ViewOrgSessions"),
    ("GET", "sessions/{sid}/tags", None, "ViewOrgSessions"),
    ("POST", "sessions/{sid}/tags", {"tags": ["a"]}, "ManageOrgSessions"),
    ("PUT", "sessions/{sid}/tags", {"tags": ["a"]}, "ManageOrgSessions"),
    ("GET", "sessions/{sid}/attachments", None, "ViewOrgSessions"),
    ("GET", "playbooks", None, "ManageAccountPlaybooks"),
    ("POST", "playbooks", {"title": "t", "body": "b"}, "ManageAccountPlaybooks"),
    ("GET", "knowledge/notes", None, "ManageAccountKnowledge"),
    ("POST", "knowledge/notes", {"name": "n", "body": "b", "trigger": "t"}, "ManageAccountKnowledge"),
    ("GET", "knowledge/folders", None, "ManageAccountKnowledge"),
    ("POST", "sessions/{sid}/unarchive", None, "ManageOrgSessions"),
    ("GET", "secrets", None, "ManageOrgSecrets"),
    ("DELETE", "secrets/secret-x", None, "ManageOrgSecrets"),
    ("POST", "secrets", {"type": "key-value", "key": "k", "value": "v"}, "ManageOrgSecrets"),
    ("POST", "attachments", None, "UseDevinSessions"),
    ("GET", "/v3/enterprise/sessions", None, "ViewAccountSessions"),
    ("GET", "/v3beta1/enterprise/sessions", None, "ManageAccountSessions"),
    ("GET", "/v3/enterprise/sessions/{sid}", None, "ViewAccountSessions"),
    ("GET", "/v3/enterprise/sessions/{sid}/messages", None, "ViewAccountSessions"),
    ("POST", "/v3/enterprise/sessions/{sid}/messages", {"message": "x"}, "ManageAccountSessions"),
])
def test_rbac_403_names_missing_permission(emu, method, path, body, perm):
    sid = emu.create_session_direct(emu.org_id, prompt="p")["session_id"]
    enterprise = "/enterprise/" in path
    tok = emu.add_token(org_id=emu.org_id, permissions=ALL_PERMISSIONS - {perm}, enterprise=enterprise)
    c = Client(emu, tok)
    r = c.req(method, path.format(sid=sid), json=body)
    b = assert_problem(r, 403)
    assert b["detail"] == f"Missing permission: {perm}"
    # and with the permission it works
    tok_ok = emu.add_token(org_id=emu.org_id, permissions={perm}, enterprise=enterprise)
    r = Client(emu, tok_ok).req(method, path.format(sid=sid), json=body)
    assert r.status_code in (200, 403, 422), r.text
    if r.status_code == 403:  # only the secret-delete quirk answers 403 when permitted
        assert "secret" in r.json()["detail"]
    if r.status_code == 422:  # an upload without a multipart file: past the permission check
        assert path == "attachments"


def test_enterprise_scope(emu):
    emu.add_org(ORG_B)
    a = emu.create_session_direct(emu.org_id, prompt="a")
    b = emu.create_session_direct(ORG_B, prompt="b")
    ent = Client(emu, emu.add_token(enterprise=True))
    assert ent.get("/v3/self").json()["org_id"] is None
    # the danger: no org_ids -> every org
    all_ids = {s["session_id"] for s in ent.get("/v3/enterprise/sessions").json()["items"]}
    assert all_ids == {a["session_id"], b["session_id"]}
    only_a = ent.get("/v3/enterprise/sessions", params={"org_ids": emu.org_id}).json()
    assert [s["session_id"] for s in only_a["items"]] == [a["session_id"]]
    assert only_a["total"] == 1
    both = ent.get("/v3/enterprise/sessions", params=[("org_ids", emu.org_id), ("org_ids", ORG_B)]).json()
    assert both["total"] == 2
    assert_validation(ent.get("/v3/enterprise/sessions", params={"first": 0}), "first")
    # get, with and without org_id
    assert ent.get(f"/v3/enterprise/sessions/{b['session_id']}").json()["org_id"] == ORG_B
    assert ent.get(f"/v3/enterprise/sessions/{b['session_id']}", params={"org_id": ORG_B}).status_code == 200
    assert_problem(ent.get(f"/v3/enterprise/sessions/{b['session_id']}", params={"org_id": emu.org_id}), 404)
    # messages: send auto-resumes, list is chronological
    emu.update_session_direct(a["session_id"], status="suspended", status_detail="inactivity")
    r = ent.post(f"/v3/enterprise/sessions/{a['session_id']}/messages", json={"message": "wake up"})
    assert r.status_code == 200 and r.json()["status"] == "resuming"
    msgs = ent.get(f"/v3/enterprise/sessions/{a['session_id']}/messages", params={"first": 10}).json()
    assert msgs["items"][-1]["message"] == "wake up"
    # enterprise token can also use org routes of any org
    assert ent.get(f"{emu.url}/v3/organizations/{ORG_B}/sessions").json()["total"] == 1
    assert_problem(ent.get(f"{emu.url}/v3/organizations/org-doesnotexist/sessions"), 404)
    # no create/terminate/archive at enterprise scope
    assert ent.post("/v3/enterprise/sessions", json={"prompt": "x"}).status_code == 405
    assert ent.delete(f"/v3/enterprise/sessions/{a['session_id']}").status_code == 405
    assert ent.post(f"/v3/enterprise/sessions/{a['session_id']}/archive").status_code == 404


def test_v3beta1_differences(emu):
    beta = Client(emu, version="v3beta1")
    s = beta.create("beta work", advanced_mode="analyze")
    assert "status_detail" not in s and "origin" not in s
    assert s["is_advanced"] is True
    got = beta.session(s["session_id"])
    assert "status_detail" not in got and "origin" not in got and "is_advanced" in got
    listed = beta.get("sessions").json()["items"][0]
    assert "status_detail" not in listed and "origin" not in listed
    v3 = Client(emu).session(s["session_id"])
    assert "status_detail" in v3 and v3["origin"] == "api" and "is_advanced" not in v3
    # messages and tags exist under v3beta1 too
    assert beta.post(f"sessions/{s['session_id']}/messages", json={"message": "x"}).status_code == 200
    assert beta.put(f"sessions/{s['session_id']}/tags", json={"tags": ["b"]}).json() == {"tags": ["b"]}
    # enterprise list: v3 needs ViewAccountSessions, v3beta1 ManageAccountSessions
    view_only = emu.add_token(enterprise=True, permissions={"ViewAccountSessions"})
    assert Client(emu, view_only).get("/v3/enterprise/sessions").status_code == 200
    assert_problem(Client(emu, view_only).get("/v3beta1/enterprise/sessions"), 403, "ManageAccountSessions")
    # v3beta1 does not validate the v3-only platform label
    assert beta.post("sessions", json={"prompt": "x", "platform": "amiga"}).status_code == 200


def test_v1_tags_refuses_cog_tokens(emu, client):
    s = client.create()
    r = client.put(f"/v1/sessions/{s['session_id']}/tags", json={"tags": ["x"]})
    assert r.status_code == 401
    assert r.headers["Content-Type"] == "application/json"
    assert set(r.json()) == {"detail"} and isinstance(r.json()["detail"], str)
    r = Client(emu, token="").put(f"/v1/sessions/{s['session_id']}/tags", json={"tags": ["x"]})
    assert r.status_code == 401
    # a registered apk_ key (v1) works there, and only there
    apk = emu.add_token(token="apk_" + "k" * 20)
    v1 = Client(emu, apk)
    r = v1.put(f"/v1/sessions/{s['session_id']}/tags", json={"tags": ["legacy"]})
    assert r.status_code == 200 and client.session(s["session_id"])["tags"] == ["legacy"]
    assert v1.put("/v1/sessions/devin-" + "9" * 32 + "/tags", json={"tags": []}).status_code == 404
