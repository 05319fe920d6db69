"""Every --dry-run prints, field for field, the request its real run sends (issue 12).

Each case runs the same command twice against the emulator: once with --dry-run (nothing may reach
the server), once for real; the real run's journal must hold a request with exactly the dry run's
method, path, query and body. Read-modify-write updates say which fields they copy from the current
object (their dry run cannot read it): for those the given fields must match and the copied ones be
the only others. The same holds for every MCP tool that takes dry_run.
"""

from __future__ import annotations

import json
import sys
from urllib.parse import urlsplit

import pytest

from conftest import ROOT, base_env

sys.path.insert(0, str(ROOT / "tools"))
from chaos import run_inprocess  # noqa: E402

def _query(params: dict) -> dict:
    return {k: [str(x) for x in (v if isinstance(v, list) else [v])] for k, v in (params or {}).items()}


def _matches(entry, req: dict, doc: dict) -> bool:
    if entry.method != req["method"] or entry.path != urlsplit(req["url"]).path:
        return False
    if entry.query != _query(req.get("params", {})):
        return False
    if req.get("file"):
        return f'filename="{req["file"]["name"]}"'.encode() in entry.body
    if "body" not in req:
        return entry.json is None
    copied = doc.get("copied_from_current")
    if copied is None and doc.get("reads_first"):
        return isinstance(entry.json, dict) and set(entry.json) == set(req["body"])  # tags computed from the read
    if copied is None:
        return entry.json == req["body"]
    given = {k: entry.json.get(k) for k in req["body"]}
    return given == req["body"] and set(entry.json) - set(req["body"]) <= set(copied)


@pytest.fixture
def world(emu, dirs):
    sid = emu.seed_sessions(emu.org_id, 3, title_prefix="seed", status="running", status_detail="working")[0]
    emu.update_session_direct(sid, tags=["keep", "old"])
    pb = emu.add_playbook(emu.org_id, title="Deploy", body="1. ship", macro="!deploy")
    note = emu.add_note(emu.org_id, name="DB", body="Use migrations.", trigger="db")
    secret = emu.add_secret(emu.org_id, key="K")
    (dirs["work"] / "notes.txt").write_text("hello\n")
    return {"sid": sid, "pb": pb["playbook_id"], "note": note["note_id"], "secret": secret["secret_id"]}


# (script, argv with {sid}/{pb}/{note}/{secret}, standard input)
CASES = [
    ("get_session.py", ["{sid}"], None),
    ("list_sessions.py", ["--limit", "5"], None),
    ("list_sessions.py", ["--all", "--tag", "keep", "--created-after", "1000", "--created-before", "99999999999"],
     None),
    ("list_sessions.py", ["--enterprise", "--limit", "3"], None),
    ("list_messages.py", ["{sid}", "--limit", "2"], None),
    ("wait_session.py", ["{sid}", "--timeout", "0.3", "--interval", "0.1"], None),
    ("create_session.py", ["--prompt-file", "-", "--title", "Fix the flaky test", "--tag", "ci", "--max-acu", "5",
                           "--playbook-id", "{pb}", "--knowledge-id", "{note}", "--secret-id", "{secret}"],
     "Fix tests/test_x.py\n"),
    ("create_session.py", ["--prompt", "one line task", "--force-new", "--field", "devin_mode=fast"], None),
    ("send_message.py", ["{sid}", "--message-file", "-", "--attachment-url", "https://example.com/a.txt"],
     "also check $(rm -rf /)\n"),
    ("update_tags.py", ["{sid}"], None),
    ("update_tags.py", ["{sid}", "--add", "new"], None),
    ("update_tags.py", ["{sid}", "--set", "a", "--set", "b"], None),
    ("update_tags.py", ["{sid}", "--remove", "old", "--add", "x"], None),
    ("archive_session.py", ["{sid}"], None),
    ("terminate_session.py", ["{sid}", "--archive"], None),
    ("playbooks.py", ["list", "--limit", "7"], None),
    ("playbooks.py", ["get", "{pb}"], None),
    ("playbooks.py", ["create", "--title", "T", "--body-file", "-", "--macro", "!t"], "body\n"),
    ("playbooks.py", ["update", "{pb}", "--title", "Deploy v2"], None),
    ("playbooks.py", ["delete", "{pb}"], None),
    ("knowledge.py", ["list", "--limit", "3", "--search", "DB"], None),
    ("knowledge.py", ["folders"], None),
    ("knowledge.py", ["get", "{note}"], None),
    ("knowledge.py", ["create", "--name", "N", "--trigger", "t", "--body", "b"], None),
    ("knowledge.py", ["update", "{note}", "--trigger", "always"], None),
    ("knowledge.py", ["delete", "{note}"], None),
    ("secrets.py", ["list", "--limit", "9"], None),
    ("secrets.py", ["delete", "{secret}"], None),
    ("upload_attachment.py", ["notes.txt"], None),
]


def _ids(case):
    return f"{case[0]}:{' '.join(case[1])[:40]}"


@pytest.mark.parametrize("script,argv,stdin", CASES, ids=[_ids(c) for c in CASES])
def test_the_dry_run_is_the_request_the_real_run_sends(emu, dirs, world, script, argv, stdin):
    env = base_env(dirs, emu)
    if "--enterprise" in argv:
        from devin_emulator.model import ALL_PERMISSIONS
        env["DEVIN_SERVICE_USER_TOKEN"] = emu.add_token(org_id=None, permissions=ALL_PERMISSIONS, enterprise=True)
    args = [a.format(**world) for a in argv]
    dry = run_inprocess(script, *args, "--dry-run", "--json", env=env, input=stdin, cwd=dirs["work"])
    assert dry.rc == 0, dry.all
    assert emu.journal == [], "a dry run sent something"
    doc = json.loads(dry.out)
    assert doc["dry_run"] is True
    req = doc["request"]
    real = run_inprocess(script, *args, "--json", env=env, input=stdin, cwd=dirs["work"])
    assert real.rc == (9 if script == "wait_session.py" else 0), real.all  # 9: the wait timed out (working)
    sent = [e for e in emu.journal if not e.path.startswith("/_emulator")]
    assert any(_matches(e, req, doc) for e in sent), (
        f"dry run: {json.dumps(req)}\nsent: " + "\n".join(f"{e.method} {e.path} {e.query} {e.json}" for e in sent))


TOOL_CASES = [
    ("create_session", {"prompt": "Fix it", "title": "Fix it", "tags": ["ci"], "max_acu_limit": 3}),
    ("send_message", {"session": "{sid}", "message": "more", "attachment_urls": ["https://example.com/a"]}),
    ("update_tags", {"session": "{sid}", "add": ["n"]}),
    ("update_tags", {"session": "{sid}", "remove": ["old"]}),
    ("archive_session", {"session": "{sid}"}),
    ("terminate_session", {"session": "{sid}", "confirm": True}),
    ("create_playbook", {"title": "T", "body": "b"}),
    ("update_playbook", {"playbook_id": "{pb}", "body": "new body"}),
    ("delete_playbook", {"playbook_id": "{pb}", "confirm": True}),
    ("create_knowledge_note", {"name": "n", "body": "b", "trigger": "t"}),
    ("update_knowledge_note", {"note_id": "{note}", "name": "renamed"}),
    ("delete_knowledge_note", {"note_id": "{note}", "confirm": True}),
    ("delete_secret", {"secret_id": "{secret}", "confirm": True}),
    ("upload_attachment", {"path": "notes.txt"}),
]


@pytest.mark.parametrize("name,args", TOOL_CASES, ids=[f"{n}:{sorted(a)}" for n, a in TOOL_CASES])
def test_every_mcp_dry_run_is_the_request_the_tool_sends(emu, dirs, world, name, args):
    from devin_plugin import config, mcp_server
    from devin_plugin import policy as policy_mod
    env = dict(base_env(dirs, emu), DEVIN_PLUGIN_WORKDIR=str(dirs["work"]))
    tool = {t.name: t for t in mcp_server.tools(policy_mod.load(config.config_dir(env)))}[name]
    filled = {k: (v.format(**world) if isinstance(v, str) else v) for k, v in args.items()}
    dry, text, is_error = mcp_server.run_tool(tool, dict(filled, dry_run=True), env)
    assert not is_error, text
    assert emu.journal == [], "a dry run sent something"
    _doc, text, is_error = mcp_server.run_tool(tool, filled, env)
    assert not is_error, text
    sent = [e for e in emu.journal if not e.path.startswith("/_emulator")]
    assert any(_matches(e, dry["request"], dry) for e in sent), (
        f"dry run: {json.dumps(dry['request'])}\nsent: " + "\n".join(f"{e.method} {e.path} {e.json}" for e in sent))
