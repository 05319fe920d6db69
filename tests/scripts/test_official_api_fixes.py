"""What the official v3 API says and the project used to get wrong (issue 13), through the scripts
and the MCP tools, against the emulator that now serves it the same way."""

from __future__ import annotations

import json
import os

import pytest

from conftest import base_env

R_ORG = "/v3/organizations/{org_id}"
R_SESSION = R_ORG + "/sessions/{devin_id}"
R_ENT = "/v3/enterprise/sessions"


def new_session(emu, **kw):
    return emu.seed_sessions(emu.org_id, 1, title_prefix="t", status=kw.get("status", "running"),
                             status_detail=kw.get("status_detail", "finished"))[0]


# -- unarchive -------------------------------------------------------------------------------------

def test_unarchive_script(emu, run):
    sid = new_session(emu)
    assert run("archive_session.py", sid).rc == 0
    r = run("unarchive_session.py", sid, "--json")
    assert r.rc == 0, r.all
    assert r.json["is_archived"] is False and r.json["outcome"] == "unarchived"
    r = run("unarchive_session.py", sid, "--json")
    assert r.json["outcome"] == "not_archived" and len(emu.requests("POST", R_SESSION + "/unarchive")) == 1
    dry = run("unarchive_session.py", sid, "--dry-run", "--json").json["request"]
    assert dry["method"] == "POST" and dry["url"].endswith(f"/sessions/{sid}/unarchive")


def test_a_message_to_an_archived_session_is_refused_unless_unarchive(emu, run):
    sid = new_session(emu)
    run("archive_session.py", sid)
    r = run("send_message.py", sid, "--message", "are you there?")
    assert r.rc == 2 and "archived" in r.err and "--unarchive" in r.err
    assert emu.requests("POST", R_SESSION + "/messages") == []
    r = run("send_message.py", sid, "--json", "--unarchive", "--message", "go on")
    assert r.rc == 0, r.all
    order = [e.path.rsplit("/", 1)[-1] for e in emu.journal if e.method == "POST"]
    assert order[-2:] == ["unarchive", "messages"]
    session = run("get_session.py", sid, "--json").json
    assert session["is_archived"] is False and session["status"] in ("resuming", "running")  # woken
    dry = run("send_message.py", sid, "--dry-run", "--json", "--unarchive", "--message", "x").json
    assert dry["unarchive_first"]["url"].endswith("/unarchive")


def test_enterprise_fallback_keeps_the_attachment_urls(emu, run):
    from devin_emulator import ALL_PERMISSIONS
    ent = emu.add_token(org_id=None, permissions=ALL_PERMISSIONS, enterprise=True)
    sid = new_session(emu, status_detail="working")
    emu.set_fault("POST", R_SESSION + "/messages", "status", status=403)
    r = run("send_message.py", sid, "--json", "--message", "see file", "--attachment-url",
            "https://example.com/a.txt", env={"DEVIN_SERVICE_USER_TOKEN": ent})
    assert r.rc == 0, r.all
    assert emu.requests("POST", R_ENT + "/{devin_id}/messages")[0].json == {
        "message": "see file", "attachment_urls": ["https://example.com/a.txt"]}


def test_user_usage_limit_is_a_billing_suspension(emu, run):
    sid = new_session(emu, status="suspended", status_detail="user_usage_limit_exceeded")
    r = run("send_message.py", sid, "--message", "hello")
    assert r.rc == 0 and "will not wake it" in r.err


# -- create fields -----------------------------------------------------------------------------------

@pytest.mark.parametrize("mode", ["lite", "ultra", "fusion", "fast", "normal"])
def test_every_documented_devin_mode_is_sent(emu, run, mode):
    r = run("create_session.py", "--json", "--prompt", f"task in {mode}", "--field", f"devin_mode={mode}",
            "--field", "resumable=false")
    assert r.rc == 0, r.all
    assert emu.requests("POST", R_ORG + "/sessions")[0].json["devin_mode"] == mode
    assert emu.requests("POST", R_ORG + "/sessions")[0].json["resumable"] is False


def test_a_403_on_an_id_precheck_warns_and_the_create_goes_on(emu, run):
    from devin_emulator import ALL_PERMISSIONS
    pb = emu.add_playbook(emu.org_id, title="P", body="b")
    tok = emu.add_token(org_id=emu.org_id, permissions=set(ALL_PERMISSIONS) - {"ManageAccountPlaybooks"})
    r = run("create_session.py", "--json", "--prompt", "use the playbook", "--playbook-id", pb["playbook_id"],
            env={"DEVIN_SERVICE_USER_TOKEN": tok})
    assert r.rc == 0, r.all
    assert "warning" in r.err and "ManageAccountPlaybooks" in r.err
    assert emu.requests("POST", R_ORG + "/sessions")[0].json["playbook_id"] == pb["playbook_id"]
    r = run("create_session.py", "--json", "--prompt", "typo", "--playbook-id", "nope-123")
    assert r.rc == 2 and "does not exist" in r.err  # a 404 still refuses


def test_a_403_names_the_official_permission(emu, run):
    from devin_emulator import ALL_PERMISSIONS
    tok = emu.add_token(org_id=emu.org_id, permissions=set(ALL_PERMISSIONS) - {"ManageAccountKnowledge",
                                                                             "UseDevinSessions"})
    r = run("knowledge.py", "list", env={"DEVIN_SERVICE_USER_TOKEN": tok})
    assert r.rc == 4 and "ManageAccountKnowledge" in r.err


def test_422_field_errors_are_shown(emu, run):
    body = {"title": "Unprocessable Entity", "status": 422,
            "errors": [{"loc": ["body", "prompt"], "msg": "String should have at most 30000 characters"}]}
    emu.set_fault("POST", R_ORG + "/sessions", "status", status=422, body=body)
    r = run("create_session.py", "--json", "--prompt", "x", "--force-new")
    assert r.rc == 8 and "prompt: String should have at most 30000 characters" in r.json["error"]["message"]


def test_playbook_update_keeps_every_other_field(emu, run):
    schema = {"type": "object", "properties": {"ok": {"type": "boolean"}}}
    pb = emu.add_playbook(emu.org_id, title="P", body="b", macro="!p", structured_output_schema=schema)
    r = run("playbooks.py", "update", pb["playbook_id"], "--json", "--title", "P2")
    assert r.rc == 0, r.all
    assert emu.requests("PUT", R_ORG + "/playbooks/{playbook_id}")[0].json == {
        "title": "P2", "body": "b", "macro": "!p", "structured_output_schema": schema}


# -- attachments -----------------------------------------------------------------------------------

def test_list_and_download_attachments(emu, run, dirs):
    sid = new_session(emu)
    emu.add_attachment(emu.org_id, "report.md", b"# done\n", "text/markdown", session_id=sid, source="devin")
    emu.add_attachment(emu.org_id, "report.md", b"second\n", "text/markdown", session_id=sid, source="devin")
    r = run("list_attachments.py", sid, "--json")
    assert r.rc == 0 and [a["name"] for a in r.json["items"]] == ["report.md", "report.md"]
    out = dirs["work"] / "out"
    out.mkdir()
    (out / "report.md").write_text("mine, keep")
    r = run("list_attachments.py", sid, "--json", "--download", "out")
    assert r.rc == 0, r.all
    saved = sorted(os.path.basename(d["saved"]) for d in r.json["downloads"])
    assert saved == ["report-1.md", "report-2.md"]
    assert (out / "report.md").read_text() == "mine, keep"  # never overwritten
    assert {(out / n).read_bytes() for n in saved} == {b"# done\n", b"second\n"}
    presigned = [e for e in emu.journal if e.path.startswith("/_presigned/")]
    assert len(presigned) == 2 and all("Authorization" not in e.headers for e in presigned)
    api = emu.requests("GET", R_ORG + "/attachments/{attachment_id}/{file_name}")
    assert len(api) == 2 and all(e.headers.get("Authorization", "").startswith("Bearer ") for e in api)


@pytest.mark.parametrize("location", ["http://attacker.example/x", "ftp://files.example/x",
                                      "https://user:pw@files.example/x", "//evil.example/x", ""])
def test_a_download_redirect_elsewhere_is_not_followed(emu, run, dirs, location):
    sid = new_session(emu)
    emu.add_attachment(emu.org_id, "a.txt", b"a", "text/plain", session_id=sid, source="devin")
    emu.set_fault("GET", R_ORG + "/attachments/{attachment_id}/{file_name}", "redirect", status=307,
                  location=location)
    r = run("list_attachments.py", sid, "--json", "--download", ".")
    assert r.rc == 8 and "not followed" in r.json["downloads"][0]["error"]
    assert os.listdir(dirs["work"]) == []
    assert [e for e in emu.journal if "attacker" in e.path or e.path.startswith("/_presigned")] == []


@pytest.mark.parametrize("name", ["../../etc/passwd", "..", "/abs", "a/b", "x\x1b[31m", ".hidden", "a\\..\\b"])
def test_hostile_attachment_names_never_escape_the_directory(emu, run, dirs, name):
    sid = new_session(emu)
    emu.add_attachment(emu.org_id, name, b"data", None, session_id=sid, source="devin")
    out = dirs["work"] / "out"
    out.mkdir()
    r = run("list_attachments.py", sid, "--json", "--download", "out")
    assert r.rc in (0, 8), r.all
    for d in r.json["downloads"]:
        if d.get("saved"):
            assert os.path.dirname(d["saved"]) == str(out)
    assert sorted(p.name for p in dirs["work"].iterdir()) == ["out"]
    assert "\x1b" not in r.out


def test_a_download_over_the_cap_is_cut_and_removed(emu, dirs):
    import io
    import sys
    from conftest import ROOT
    sys.path.insert(0, str(ROOT / "tools"))
    from devin_plugin import config, downloads, sessions
    from devin_plugin.http import Client
    sid = new_session(emu)
    emu.add_attachment(emu.org_id, "big.bin", b"x" * 5000, None, session_id=sid, source="devin")
    client = Client(config.load(base_env(dirs, emu)))
    items = sessions.list_attachments(client, sid)["items"]
    res = downloads.save(client, items, str(dirs["work"]), max_bytes=1000)
    assert res[0]["saved"] is None and "limit 1000" in res[0]["error"]
    assert os.listdir(dirs["work"]) == []
    assert io  # keep the import list honest


# -- the MCP tools -----------------------------------------------------------------------------------

def test_the_mcp_tools(emu, dirs):
    from devin_plugin import config, mcp_server
    from devin_plugin import policy as policy_mod
    env = dict(base_env(dirs, emu), DEVIN_PLUGIN_WORKDIR=str(dirs["work"]))
    tools = {t.name: t for t in mcp_server.tools(policy_mod.load(config.config_dir(env)))}

    def call(name, **args):
        doc, text, is_error = mcp_server.run_tool(tools[name], args, env)
        return doc, is_error

    sid = new_session(emu)
    emu.add_attachment(emu.org_id, "out.txt", b"hello", "text/plain", session_id=sid, source="devin")
    call("archive_session", session=sid)
    doc, bad = call("send_message", session=sid, message="hi")
    assert bad and doc["error"]["kind"] == "invalid_input" and "archived" in doc["error"]["message"]
    doc, bad = call("send_message", session=sid, message="hi", unarchive=True)
    assert not bad and doc["is_archived"] is False
    call("archive_session", session=sid)
    doc, bad = call("unarchive_session", session=sid)
    assert not bad and doc["outcome"] == "unarchived"
    doc, bad = call("list_attachments", session=sid)
    assert not bad and doc["items"][0]["name"] == "out.txt" and doc["items"][0]["source"] == "devin"
    (dirs["work"] / "dl").mkdir()
    doc, bad = call("download_attachments", session=sid, dir="dl")
    assert not bad and (dirs["work"] / "dl" / "out.txt").read_bytes() == b"hello"
    doc, bad = call("download_attachments", session=sid, dir="../")
    assert bad and "outside the working directory" in doc["error"]["message"]
    doc, bad = call("list_knowledge_folders")
    assert not bad and doc["folders"] == [] and doc["root_note_count"] == 0
    assert json  # used by helpers above in other tests
