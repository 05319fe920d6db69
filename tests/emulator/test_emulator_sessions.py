"""Sessions at organization scope: create, list, get, terminate, archive, messages, tags, attachments."""

from __future__ import annotations

import re
import time

import emulator_fixtures  # noqa: F401  (puts lib/ on sys.path)
from emulator_fixtures import Client, assert_problem, assert_validation, client, emu  # noqa: F401

SID = re.compile(r"^devin-[0-9a-f]{32}$")


def test_self(client, emu):
    r = client.get("/v3/self")
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "application/json"
    body = r.json()
    assert body["principal_type"] == "service_user"
    assert body["org_id"] == emu.org_id
    assert body["service_user_id"] and body["service_user_name"]
    assert client.get("/v3beta1/self").json() == body


def test_default_identity(emu):
    assert emu.org_id == "org-emu0000000000001"
    assert emu.token.startswith("cog_emu_") and len(emu.token) == len("cog_emu_") + 40
    assert emu.url.startswith("http://127.0.0.1:")


def test_create_session_shape(client, emu):
    s = client.create("Fix the login bug\nDetails follow", tags=["a", "b", "a"], repos=["acme/web"],
                      max_acu_limit=5, knowledge_ids=[], secret_ids=None, devin_mode="fast",
                      structured_output_schema={"type": "object"})
    assert SID.match(s["session_id"])
    assert s["url"] == "https://app.devin.ai/sessions/" + s["session_id"][len("devin-"):]
    assert s["status"] == "new"
    assert s["org_id"] == emu.org_id
    assert s["tags"] == ["a", "b"]
    assert s["title"] == "Fix the login bug"
    assert s["created_at"] == s["updated_at"] == int(emu.clock.now())
    assert isinstance(s["created_at"], int)
    assert s["acus_consumed"] == 0 and s["pull_requests"] == []
    assert s["is_archived"] is False and s["origin"] == "api"
    assert "status_detail" not in s  # documented as get/list only
    stored = emu.get_session_direct(s["session_id"])
    assert stored["request"]["repos"] == ["acme/web"]
    assert stored["request"]["max_acu_limit"] == 5
    assert stored["request"]["secret_ids"] is None and stored["request"]["knowledge_ids"] == []
    full = client.session(s["session_id"])
    assert full["status_detail"] is None and "structured_output" in full


def test_create_keeps_explicit_title(client):
    assert client.create("x", title="My title")["title"] == "My title"


def test_create_validation(client):
    assert_validation(client.post("sessions", json={}), "prompt")
    assert_validation(client.post("sessions", json={"prompt": 5}), "prompt")
    assert_validation(client.post("sessions", json=["prompt"]))
    assert_validation(client.post("sessions"))  # no body at all
    assert_validation(client.post("sessions", json={"prompt": "x", "tags": "a"}), "tags")
    assert_validation(client.post("sessions", json={"prompt": "x", "max_acu_limit": 0}), "max_acu_limit")
    assert_validation(client.post("sessions", json={"prompt": "x", "devin_mode": "turbo"}), "devin_mode")
    assert_validation(client.post("sessions", json={"prompt": "x", "attachment_urls": ["nope"]}))
    assert_validation(client.post("sessions", json={
        "prompt": "x", "structured_output_schema": {"$ref": "http://evil/schema.json"}}))
    assert_validation(client.post("sessions", json={
        "prompt": "x", "structured_output_schema": {"description": "x" * 70000}}))
    r = client.post("sessions", data=b"{not json", headers={"Content-Type": "application/json"})
    assert_problem(r, 400, "not valid JSON")
    r = client.post("sessions", data=b'{"prompt": NaN}', headers={"Content-Type": "application/json"})
    assert_problem(r, 400)
    assert_problem(client.post("sessions", json={"prompt": "x", "platform": "amiga"}), 400, "linux")
    assert client.emu.sessions_in(client.emu.org_id) == []


def test_get_unknown_and_malformed_ids(client):
    assert_problem(client.get("sessions/devin-" + "0" * 32), 404)
    assert_problem(client.get("sessions/not-a-session"), 404)
    s = client.create()
    upper = "devin-" + s["session_id"][6:].upper()
    assert client.get(f"sessions/{upper}").json()["session_id"] == s["session_id"]


def test_list_newest_first_and_filters(client, emu):
    a = client.create("one", tags=["x"])
    emu.clock.advance(1)
    b = client.create("two", tags=["y"])
    emu.clock.advance(1)
    c = client.create("three", tags=["x", "z"])
    page = client.get("sessions").json()
    assert [s["session_id"] for s in page["items"]] == [c["session_id"], b["session_id"], a["session_id"]]
    assert page["has_next_page"] is False and page["end_cursor"] is None and page["total"] == 3
    assert "status_detail" in page["items"][0]
    ids = lambda r: {s["session_id"] for s in r.json()["items"]}  # noqa: E731
    assert ids(client.get("sessions", params={"tags": "x"})) == {a["session_id"], c["session_id"]}
    assert ids(client.get("sessions", params=[("tags", "y"), ("tags", "z")])) == {b["session_id"], c["session_id"]}
    assert ids(client.get("sessions", params=[("session_ids", a["session_id"]),
                                               ("session_ids", b["session_id"])])) == {a["session_id"], b["session_id"]}
    assert ids(client.get("sessions", params={"session_ids": b["session_id"], "first": 1})) == {b["session_id"]}
    assert ids(client.get("sessions", params={"created_after": a["created_at"] + 1})) == {
        b["session_id"], c["session_id"]}
    assert ids(client.get("sessions", params={"created_before": a["created_at"] + 1})) == {a["session_id"]}
    assert ids(client.get("sessions", params={"origins": "webapp"})) == set()
    assert len(ids(client.get("sessions", params={"origins": "api"}))) == 3
    su = client.get("/v3/self").json()["service_user_id"]
    assert len(ids(client.get("sessions", params={"service_user_ids": su}))) == 3
    assert ids(client.get("sessions", params={"user_ids": "someone"})) == set()
    assert ids(client.get("sessions", params={"playbook_id": "playbook-x"})) == set()
    emu.clock.advance(5)
    client.put(f"sessions/{a['session_id']}/tags", json={"tags": ["q"]})
    assert ids(client.get("sessions", params={"updated_after": int(emu.clock.now())})) >= {a["session_id"]}
    assert_validation(client.get("sessions", params={"created_after": "yesterday"}), "created_after")


def test_first_out_of_range(client):
    for bad in ("0", "201", "-1", "abc", ""):
        assert_validation(client.get("sessions", params={"first": bad}), "first")
    assert client.get("sessions", params={"first": 200}).status_code == 200
    assert client.get("sessions", params={"first": 1}).status_code == 200
    assert_problem(client.get("sessions", params={"after": "!!garbage!!"}), 400, "cursor")


def test_pagination_10000_sessions(client, emu):
    t0 = time.monotonic()
    seeded = emu.seed_sessions(emu.org_id, 10_000)
    assert time.monotonic() - t0 < 2.0
    assert len(set(seeded)) == 10_000
    seen: list[str] = []
    after = None
    pages = 0
    while True:
        params = {"first": 200}
        if after:
            params["after"] = after
        r = client.get("sessions", params=params)
        assert r.status_code == 200
        page = r.json()
        pages += 1
        seen.extend(s["session_id"] for s in page["items"])
        assert page["total"] == 10_000
        if not page["has_next_page"]:
            assert page["end_cursor"] is None
            break
        assert page["end_cursor"]
        after = page["end_cursor"]
    assert pages == 50
    assert len(seen) == len(set(seen)) == 10_000
    assert set(seen) == set(seeded)
    assert seen == list(reversed(seeded))  # newest first
    # default page size is 100
    assert len(client.get("sessions").json()["items"]) == 100


def test_terminate_twice_and_archive_query(client, emu):
    s = client.create()
    r = client.delete(f"sessions/{s['session_id']}")
    assert r.status_code == 200 and r.json()["status"] == "exit"
    r2 = client.delete(f"sessions/{s['session_id']}")
    assert r2.status_code == 200 and r2.json()["status"] == "exit"
    assert r2.json()["is_archived"] is False
    emu.clock.advance(100)
    assert client.session(s["session_id"])["status"] == "exit"
    t = client.create()
    r = client.delete(f"sessions/{t['session_id']}", params={"archive": "true"})
    assert r.json()["status"] == "exit" and r.json()["is_archived"] is True
    assert_validation(client.delete(f"sessions/{t['session_id']}", params={"archive": "maybe"}), "archive")
    assert_problem(client.delete("sessions/devin-" + "1" * 32), 404)


def test_archive(client, emu):
    s = client.create()
    emu.clock.advance(60)  # running + finished
    r = client.post(f"sessions/{s['session_id']}/archive")
    assert r.status_code == 200
    body = r.json()
    assert body["is_archived"] is True
    assert body["status"] == "suspended"  # "archive and put it to sleep if currently running"
    assert client.session(s["session_id"])["status_detail"] == "user_request"
    again = client.post(f"sessions/{s['session_id']}/archive")
    assert again.status_code == 200 and again.json()["is_archived"] is True
    assert client.get(f"sessions/{s['session_id']}/unarchive").status_code == 405  # POST only
    # an archived session takes a message but is not woken (issue 13)
    assert client.post(f"sessions/{s['session_id']}/messages", json={"message": "hi"}).status_code == 200
    assert client.session(s["session_id"])["status"] == "suspended"
    back = client.post(f"sessions/{s['session_id']}/unarchive")
    assert back.status_code == 200 and back.json()["is_archived"] is False
    assert client.post(f"sessions/{s['session_id']}/messages", json={"message": "go on"}).status_code == 200
    assert client.session(s["session_id"])["status"] == "resuming"


def test_messages_roundtrip(client, emu):
    emu.script_replies(["Which branch should I use?", "OK, done."])
    s = client.create("Do the thing")
    sid = s["session_id"]
    emu.clock.advance(60)
    r = client.post(f"sessions/{sid}/messages", json={"message": "Please also add tests"})
    assert r.status_code == 200
    assert r.json()["session_id"] == sid and "status" in r.json()
    assert client.session(sid)["status_detail"] == "working"
    emu.clock.advance(emu.reply_after_s)
    assert client.session(sid)["status_detail"] == "waiting_for_user"
    client.post(f"sessions/{sid}/messages", json={"message": "main"})
    emu.clock.advance(emu.reply_after_s)
    assert client.session(sid)["status_detail"] == "finished"
    msgs = client.messages(sid)
    assert [m["source"] for m in msgs] == ["user", "devin", "devin", "user", "devin", "user", "devin"]
    assert msgs[0]["message"] == "Do the thing"
    assert msgs[-1]["message"] == "OK, done." and msgs[-3]["message"] == "Which branch should I use?"
    for m in msgs:
        assert set(m) == {"event_id", "message", "source", "created_at"} and isinstance(m["created_at"], int)
    times = [m["created_at"] for m in msgs]
    assert times == sorted(times)
    # paging through messages
    got, after = [], None
    while True:
        params = {"first": 2, **({"after": after} if after else {})}
        page = client.get(f"sessions/{sid}/messages", params=params).json()
        got += page["items"]
        if not page["has_next_page"]:
            assert page["end_cursor"] is None
            break
        after = page["end_cursor"]
    assert got == msgs
    assert_validation(client.get(f"sessions/{sid}/messages", params={"first": 500}), "first")
    assert_validation(client.post(f"sessions/{sid}/messages", json={}), "message")
    assert_validation(client.post(f"sessions/{sid}/messages", json={"message": "x", "attachment_urls": "u"}))
    assert_problem(client.post("sessions/devin-" + "2" * 32 + "/messages", json={"message": "x"}), 404)


def test_message_to_ended_session_is_conflict(client, emu):
    s = client.create()
    client.delete(f"sessions/{s['session_id']}")
    assert_problem(client.post(f"sessions/{s['session_id']}/messages", json={"message": "hi"}), 409, "exit")
    e = emu.create_session_direct(emu.org_id, prompt="p", status="error")
    assert_problem(client.post(f"sessions/{e['session_id']}/messages", json={"message": "hi"}), 409)


def test_message_as_user_needs_impersonation(client, emu):
    s = client.create()
    tok = emu.add_token(org_id=emu.org_id, permissions={"ViewOrgSessions", "ManageOrgSessions"})
    c2 = Client(emu, tok)
    r = c2.post(f"sessions/{s['session_id']}/messages", json={"message": "x", "message_as_user_id": "u1"})
    assert_problem(r, 403, "ImpersonateOrgSessions")


def test_tags(client):
    s = client.create(tags=["a"])
    sid = s["session_id"]
    assert client.get(f"sessions/{sid}/tags").json() == {"tags": ["a"]}
    assert client.post(f"sessions/{sid}/tags", json={"tags": ["b", "a", "c", "b"]}).json() == {"tags": ["a", "b", "c"]}
    assert client.put(f"sessions/{sid}/tags", json={"tags": ["z"]}).json() == {"tags": ["z"]}
    assert client.session(sid)["tags"] == ["z"]
    assert client.put(f"sessions/{sid}/tags", json={"tags": []}).json() == {"tags": []}
    assert_validation(client.put(f"sessions/{sid}/tags", json={"tags": [1]}), "tags")
    assert_validation(client.post(f"sessions/{sid}/tags", json={}), "tags")
    assert client.delete(f"sessions/{sid}/tags").status_code == 405


def test_session_attachments_bare_array(client):
    up = client.post("attachments", files={"file": ("notes.txt", b"hello", "text/plain")}).json()
    s = client.create(attachment_urls=[up["url"]])
    r = client.get(f"sessions/{s['session_id']}/attachments")
    assert r.status_code == 200
    arr = r.json()
    assert isinstance(arr, list) and len(arr) == 1
    assert arr[0]["attachment_id"] == up["attachment_id"] and arr[0]["name"] == "notes.txt"
    assert arr[0]["source"] == "user" and arr[0]["url"] == up["url"]
    client.post(f"sessions/{s['session_id']}/messages",
                json={"message": "see", "attachment_urls": ["https://example.com/x/y.png"]})
    arr = client.get(f"sessions/{s['session_id']}/attachments").json()
    # every listed attachment has an id (the spec requires it): a URL that is no upload is not listed
    assert [a["name"] for a in arr] == ["notes.txt"]
    empty = client.create()
    assert client.get(f"sessions/{empty['session_id']}/attachments").json() == []


def test_create_gated_fields_need_permissions(client, emu):
    tok = emu.add_token(org_id=emu.org_id, permissions={"ViewOrgSessions", "ManageOrgSessions"})
    c = Client(emu, tok)
    assert_problem(c.post("sessions", json={"prompt": "x", "create_as_user_id": "u1"}), 403, "ImpersonateOrgSessions")
    assert_problem(c.post("sessions", json={"prompt": "x", "bypass_approval": True}), 403, "UseDevinExpert")
    assert_problem(c.post("sessions", json={"prompt": "x", "advanced_mode": "analyze"}), 403, "UseDevinExpert")
    assert c.post("sessions", json={"prompt": "x", "bypass_approval": False}).status_code == 200
    # the all-permissions token may impersonate: the session then belongs to that user
    s = client.create(create_as_user_id="user-42")
    assert s["user_id"] == "user-42"


def test_personal_access_token(emu):
    tok = emu.add_token(org_id=emu.org_id, user="user-7")
    c = Client(emu, tok)
    me = c.get("/v3/self").json()
    assert me == {"principal_type": "user", "user_id": "user-7", "user_name": "user-7", "org_id": emu.org_id}
    s = c.create()
    assert s["user_id"] == "user-7" and s["service_user_id"] is None


def test_back_doors(emu):
    s = emu.create_session_direct(emu.org_id, prompt="p", status="running", status_detail="waiting_for_user",
                                  tags=["t"], origin="slack", lifecycle=False)
    assert emu.journal == []
    assert emu.get_session_direct(s["session_id"])["origin"] == "slack"
    emu.clock.advance(10_000)
    assert emu.get_session_direct(s["session_id"])["status"] == "running"  # frozen
    assert [x["session_id"] for x in emu.sessions_in(emu.org_id)] == [s["session_id"]]
    emu.update_session_direct(s["session_id"], status="suspended", status_detail="out_of_credits")
    assert emu.get_session_direct(s["session_id"])["status_detail"] == "out_of_credits"
    emu.add_message_direct(s["session_id"], "hello from devin")
    assert emu.messages_direct(s["session_id"])[-1]["message"] == "hello from devin"
