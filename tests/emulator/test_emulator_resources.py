"""Other organization resources: playbooks, knowledge, secrets, attachments upload."""

from __future__ import annotations

import re

import pytest

import emulator_fixtures  # noqa: F401
from emulator_fixtures import Client, assert_problem, assert_validation, client, emu  # noqa: F401

ORG_B = "org-cccccccccccccccc"


@pytest.mark.parametrize("version", ["v3", "v3beta1"])
def test_playbooks_crud(emu, version):
    c = Client(emu, version=version)
    r = c.post("playbooks", json={"title": "Deploy", "body": "Steps...", "macro": "!deploy"})
    assert r.status_code == 200
    pb = r.json()
    assert re.match(r"^playbook-[0-9a-f]{32}$", pb["playbook_id"])
    assert pb["title"] == "Deploy" and pb["macro"] == "!deploy" and pb["org_id"] == emu.org_id
    pid = pb["playbook_id"]
    assert c.get(f"playbooks/{pid}").json() == pb
    upd = c.put(f"playbooks/{pid}", json={"body": "New steps"}).json()
    assert upd["body"] == "New steps" and upd["title"] == "Deploy"
    page = c.get("playbooks").json()
    assert set(page) == {"items", "has_next_page", "end_cursor", "total"}
    assert [p["playbook_id"] for p in page["items"]] == [pid]
    assert c.delete(f"playbooks/{pid}").status_code == 200
    assert_problem(c.get(f"playbooks/{pid}"), 404)
    assert_problem(c.delete(f"playbooks/{pid}"), 404)
    assert_validation(c.post("playbooks", json={"title": "x"}), "body")
    assert_validation(c.post("playbooks", json={"title": "x", "body": "y", "macro": "nobang"}), "macro")


def test_playbooks_paging_and_back_door(client, emu):
    ids = [emu.add_playbook(emu.org_id, title=f"p{i}", body="b")["playbook_id"] for i in range(5)]
    got, after = [], None
    while True:
        page = client.get("playbooks", params={"first": 2, **({"after": after} if after else {})}).json()
        got += [p["playbook_id"] for p in page["items"]]
        if not page["has_next_page"]:
            assert page["end_cursor"] is None
            break
        after = page["end_cursor"]
    assert got == ids
    emu.add_org(ORG_B)
    other = emu.add_playbook(ORG_B, title="b", body="b")
    assert_problem(client.get(f"playbooks/{other['playbook_id']}"), 404)


def test_knowledge_notes_and_folders(client, emu):
    folder = emu.add_folder(emu.org_id, name="infra")
    sub = emu.add_folder(emu.org_id, name="ci", parent_folder_id=folder["folder_id"])
    assert sub["path"] == "/infra/ci"
    r = client.post("knowledge/notes", json={"name": "Deploys", "body": "Use make deploy",
                                             "trigger": "when deploying", "folder_id": folder["folder_id"]})
    assert r.status_code == 200
    note = r.json()
    assert note["folder_path"] == "/infra" and note["is_enabled"] is True and note["access_type"] == "org"
    emu.add_note(emu.org_id, name="Style", body="Use black", trigger="python code")
    nid = note["note_id"]
    assert client.get(f"knowledge/notes/{nid}").json()["name"] == "Deploys"
    names = lambda r: [n["name"] for n in r.json()["items"]]  # noqa: E731
    assert names(client.get("knowledge/notes")) == ["Deploys", "Style"]
    # the API filters by folder_path; a folder_id is ignored (issue 13)
    assert names(client.get("knowledge/notes", params={"folder_path": "/infra"})) == ["Deploys"]
    assert names(client.get("knowledge/notes", params={"folder_id": folder["folder_id"]})) == ["Deploys", "Style"]
    assert names(client.get("knowledge/notes", params={"pinned_repo": "nobody/none"})) == []
    assert names(client.get("knowledge/notes", params={"search": "BLACK"})) == ["Style"]
    assert names(client.get("knowledge/notes", params={"first": 1})) == ["Deploys"]
    upd = client.put(f"knowledge/notes/{nid}", json={"trigger": "deploy time", "folder_id": sub["folder_id"]}).json()
    assert upd["trigger"] == "deploy time" and upd["folder_path"] == "/infra/ci"
    folders = client.get("knowledge/folders").json()  # the whole tree, not a page
    assert [f["path"] for f in folders["folders"]] == ["/infra", "/infra/ci"]
    assert [f["note_count"] for f in folders["folders"]] == [0, 1] and folders["root_note_count"] == 1
    assert client.delete(f"knowledge/notes/{nid}").status_code == 200
    assert_problem(client.get(f"knowledge/notes/{nid}"), 404)
    assert_validation(client.post("knowledge/notes", json={"name": "x", "body": "y"}), "trigger")
    assert_problem(client.post("knowledge/notes", json={"name": "x", "body": "y", "trigger": "t",
                                                        "folder_id": "folder-nope"}), 404)


def test_secrets(client, emu):
    r = client.post("secrets", json={"type": "key-value", "key": "API_KEY", "value": "s3cr3t-value",
                                     "note": "for CI"})
    assert r.status_code == 200
    meta = r.json()
    assert "s3cr3t-value" not in r.text and "value" not in meta
    assert set(meta) == {"secret_id", "key", "note", "is_sensitive", "secret_type", "access_type",
                         "created_by", "created_at", "updated_at"}
    assert meta["is_sensitive"] is True and meta["secret_type"] == "key-value"
    emu.add_secret(emu.org_id, key="TOKEN2", value="other-value")
    page = client.get("secrets", params={"first": 1})
    assert page.status_code == 200
    assert "s3cr3t-value" not in page.text and "other-value" not in page.text
    assert page.json()["has_next_page"] is True and page.json()["total"] == 2
    nxt = client.get("secrets", params={"first": 1, "after": page.json()["end_cursor"]}).json()
    assert nxt["items"][0]["key"] == "TOKEN2" and nxt["end_cursor"] is None
    sid = meta["secret_id"]
    assert client.get(f"secrets/{sid}").status_code == 405  # no GET by id
    assert client.delete(f"secrets/{sid}").status_code == 200
    assert_problem(client.delete(f"secrets/{sid}"), 403)  # already deleted: 403, as upstream
    assert_problem(client.delete("secrets/secret-unknown"), 403)
    assert [s["key"] for s in client.get("secrets").json()["items"]] == ["TOKEN2"]
    assert_validation(client.post("secrets", json={"type": "password", "key": "k", "value": "v"}), "type")
    assert_validation(client.post("secrets", json={"type": "totp", "key": "k"}), "value")


def test_upload_attachment(client, emu):
    r = client.post("attachments", files={"file": ("report final.pdf", b"%PDF-1.4 data", "application/pdf")})
    assert r.status_code == 200 and r.headers["Content-Type"] == "application/json"
    att = r.json()
    assert set(att) == {"attachment_id", "name", "url"}
    assert att["name"] == "report final.pdf"
    assert re.match(r"^https://app\.devin\.ai/attachments/[0-9a-f-]{36}/report%20final\.pdf$", att["url"])
    entry = emu.requests("POST", "/v3/organizations/{org_id}/attachments")[-1]
    assert entry.headers["content-type"].startswith("multipart/form-data")
    assert b"%PDF-1.4 data" in entry.body


def test_upload_errors(client, emu):
    assert_validation(client.post("attachments", files={"other": ("a.txt", b"x")}), "file")
    assert_validation(client.post("attachments", json={"file": "x"}), "file")
    emu.max_attachment_bytes = 1000
    assert_problem(client.post("attachments", files={"file": ("big.bin", b"x" * 2000)}), 413)
    assert client.post("attachments", files={"file": ("ok.bin", b"x" * 1000)}).status_code == 200


def test_upload_over_the_wire_cap_is_413(client, emu):
    emu.max_attachment_bytes = 0  # wire cap becomes 1 MiB (+ 0)
    r = client.post("attachments", data=b"x" * (2 << 20),
                    headers={"Content-Type": "multipart/form-data; boundary=zz"})
    assert_problem(r, 413)


def test_json_body_cap(client, emu):
    emu.max_body_bytes = 1000
    assert_problem(client.post("sessions", json={"prompt": "x" * 5000}), 413)
    assert client.post("sessions", json={"prompt": "x" * 100}).status_code == 200
