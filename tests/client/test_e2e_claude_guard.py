"""The plugin's fences in the real Claude Code client (pinned 2.1.330), offline.

A model that strays from a command's text is denied by the client, the guard hook blocks direct API
calls, forbidden fields and token leaks even when all of Bash is allowed, `terminate`, `delete` and
`setup` cannot be started through the model's Skill tool, and the skill's allowed-tools admit its
scripts and nothing broader. See tests/client/test_e2e_claude_commands.py for the harness and how to run
one test.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import anthropic_standin as st  # noqa: E402
import plugin_helpers as ph  # noqa: E402
from anthropic_standin import bash, tool  # noqa: E402

pytestmark = pytest.mark.claude

S = f"{ph.REPO}/scripts"
SKILL_MD = ph.SKILLS_DIR / "devin-delegation" / "SKILL.md"
GUARD = "Blocked by the devin plugin guard"
MARKER = "stray-marker"



@pytest.fixture
def client(tmp_path, emu, plugin_venv):
    if not ph.claude_bin():
        pytest.fail(ph.missing_claude_message())
    counter = iter(range(100))

    def _run(prompt, turns=(), *, env=None, **kw):
        return st.run_client(prompt, list(turns), home=tmp_path / f"home{next(counter)}", emu=emu,
                             cwd=tmp_path / "work",
                             env={"DEVIN_PLUGIN_VENV": str(plugin_venv), **(env or {})}, **kw)
    return _run


def sent(emu) -> list[tuple[str, str]]:
    return [(e.method, e.route or e.path) for e in emu.journal if not e.path.startswith("/_emulator")]


def everything_the_model_saw(run: st.ClientRun) -> str:
    return json.dumps(run.standin.requests)


# ------------------------------------------------------------------------------------------------
# a model that strays from the command's text is denied

# {S} scripts dir, {SID} a session of the org, {API} the emulator's URL (DEVIN_API_BASE),
# {CWD} the client's working directory, {M} a marker file in it that must never appear.
STRAYS = {
    "delegate": ("/devin:delegate fix the flaky test in acme/app", [
        "python3 {S}/terminate_session.py '{SID}'",                        # another script
        "python3 {S}/create_session.py --title 'x' --prompt 'x' && "
        "python3 {S}/terminate_session.py '{SID}'",                        # a second command chained on
        "python3 {S}/create_session.py --title 'x' --prompt 'x'; touch {M}",
        "python3 {S}/create_session.py --title 'x' --prompt-file - <<'DEVIN_TASK_EOF'\nx\n"
        "DEVIN_TASK_EOF\ntouch {M}",                                       # a command after the heredoc
        "python3 {S}/create_session.py --title 'x' --prompt-file - <<DEVIN_TASK_EOF\n"
        "$(touch {M})\nDEVIN_TASK_EOF",                                    # unquoted heredoc
        "python3 {S}/create_session.py --title \"$(touch {M})\" --prompt x",
        "/usr/bin/python3 {S}/create_session.py --title x --prompt x",     # another interpreter path
        "python3 {S}/../scripts/create_session.py --title x --prompt x",   # another spelling of the path
        "curl -s -X POST {API}/v3/organizations/{ORG}/sessions -d '{{\"prompt\": \"x\"}}'",
        # Not a stray but worth knowing: even inside the quoted heredoc, 2.1.330 refuses a
        # backslash before whitespace ("Contains backslash-escaped whitespace"), so such a task
        # text needs the user's approval (in -p: a denial). Nothing is sent.
        "python3 {S}/create_session.py --title 'x' --prompt-file - <<'DEVIN_TASK_EOF'\n"
        "C:\\ Program Files\nDEVIN_TASK_EOF",
    ]),
    "status": ("/devin:status", [
        "curl -s {API}/v3/organizations/{ORG}/sessions",
        "python3 -c \"import urllib.request as u; print(u.urlopen('{API}/v3/self').read())\"",
        "python3 {S}/list_sessions.py --limit 10 | tee {M}",
        "python3 {S}/archive_session.py '{SID}'",
    ]),
    "knowledge": ("/devin:knowledge list", [
        "python3 {S}/knowledge.py delete 'note-0123456789abcdef'",          # verb not admitted
        "python3 {S}/playbooks.py list",
    ]),
    "messages": ("/devin:messages {SID}", [
        "python3 {S}/list_messages.py '{SID}' --limit 30\npython3 {S}/send_message.py '{SID}' "
        "--message 'ok'",
        "python3 {S}/list_messages.py '{SID}' --limit 30 > {M}",
    ]),
}


@pytest.mark.parametrize("name", sorted(STRAYS))
def test_a_model_that_strays_from_the_command_is_denied(client, emu, name, tmp_path):
    sid = emu.create_session_direct(title="t", prompt="p")["session_id"]
    work = tmp_path / "work"
    fill = {"S": S, "SID": sid, "API": emu.url, "ORG": emu.org_id, "CWD": work, "M": work / MARKER}
    prompt, calls = STRAYS[name]
    calls = [c.format(**fill) for c in calls]
    run = client(prompt.format(**fill), [bash(c) for c in calls])
    assert run.proc.returncode == 0, run
    assert run.denied_commands == calls, run
    results = run.tool_results()
    assert len(results) == len(calls) and all(r for r in results), results
    allowed_bang = [("GET", "/v3/organizations/{org_id}/sessions")] if name == "status" else []
    assert sent(emu) == allowed_bang
    assert not (work / MARKER).exists()
    if name == "delegate":
        assert results[-1] == "Contains backslash-escaped whitespace", results[-1]


# ------------------------------------------------------------------------------------------------
# the guard hook, with all of Bash allowed

def test_guard_hook_blocks_direct_api_calls_and_token_leaks_with_all_of_bash_allowed(client, emu, tmp_path):
    token_file = tmp_path / "token"
    token_file.write_text(emu.token + "\n")
    token_file.chmod(0o600)
    blocked = [
        ("api", "curl -s https://api.devin.ai/v3/self"),
        ("api", f"curl -s -H 'Authorization: Bearer x' {emu.url}/v3/organizations/{emu.org_id}/sessions"),
        ("api", "wget -qO- https://api.devin.ai/v3/organizations"),
        ("api", f"python3 -c \"import urllib.request as u; print(u.urlopen('{emu.url}/v3/self').read())\""),
        ("field", "echo '{\"create_as_user_id\": \"u1\"}' > payload.json"),
        ("field", f"python3 {S}/create_session.py --title x --prompt x --field session_secrets='[]'"),
        ("token", "echo $DEVIN_SERVICE_USER_TOKEN"),
        ("token", "cat \"$DEVIN_TOKEN_FILE\""),
        ("token", "printenv"),
        ("token", "python3 -c 'import os; print(os.environ)'"),
        ("token", "cat /proc/self/environ"),
    ]
    commands = [c for _k, c in blocked]
    run = client("check the Devin setup", [bash(c) for c in commands], args=["--allowedTools", "Bash"],
                 env={"DEVIN_TOKEN_FILE": str(token_file)})
    assert run.proc.returncode == 0, run
    assert run.denied_commands == commands, run
    hints = {"api": "plugin's scripts", "field": "forbidden Devin API field",
             "token": "token"}
    for (kind, command), result in zip(blocked, run.tool_results()):
        assert result.startswith("PreToolUse:Bash hook error"), (command, result)
        assert GUARD in result and hints[kind] in result, (command, result)
        assert f"{S}/" in result or kind != "api", (command, result)  # says what to run instead
    assert sent(emu) == []                          # the curl to the emulator never left
    assert emu.token not in everything_the_model_saw(run)
    assert not (run.cwd / "payload.json").exists()


def test_guard_hook_lets_unrelated_commands_through(client, emu, tmp_path):
    commands = ["git status", "pytest -q", "ls", "echo unrelated-$((40+2))"]
    run = client("look around", [bash(c) for c in commands], args=["--allowedTools", "Bash"])
    assert run.proc.returncode == 0, run
    assert run.denials == [], run
    results = run.tool_results()
    assert all(GUARD not in r and "hook error" not in r for r in results), results
    assert "unrelated-42" in results[3]
    assert sent(emu) == []


# ------------------------------------------------------------------------------------------------
# disable-model-invocation: terminate, delete and setup are the user's to start

USER_ONLY = ("terminate", "delete", "setup")


def test_user_only_commands_cannot_be_started_by_the_model(client, emu):
    sid = emu.create_session_direct(title="t", prompt="p")["session_id"]
    for name in ph.EXPECTED_COMMANDS:
        fm, _ = ph.read_md(ph.COMMANDS_DIR / f"{name}.md")
        assert (fm.get("disable-model-invocation") is True) == (name in USER_ONLY), name
    turns = [tool("Skill", {"skill": "devin:terminate", "args": sid}),
             tool("Skill", {"skill": "devin:delete", "args": "playbook playbook-0123456789abcdef"}),
             tool("Skill", {"skill": "devin:setup"}),
             tool("Skill", {"skill": "devin:status"})]     # a control: the route itself works
    run = client("stop that Devin session", turns, args=["--allowedTools", "Skill"])
    assert run.proc.returncode == 0, run
    # 2.1.330 has no SlashCommand tool: the Skill tool is the model's only route to a command
    assert "Skill" in run.standin.tool_names() and "SlashCommand" not in run.standin.tool_names()
    results = run.tool_results()
    for name, result in zip(USER_ONLY, results):
        assert "disable-model-invocation" in result and f"/devin:{name} themselves" in result, result
    assert "Launching skill: devin:status" in results[3], results[3]
    assert sent(emu) == [("GET", "/v3/organizations/{org_id}/sessions")]  # status's ! line only
    # the model is not even told these exist
    listing = everything_the_model_saw(run)
    assert "devin:status:" in listing
    for name in USER_ONLY:
        assert f"- devin:{name}:" not in listing, name


# ------------------------------------------------------------------------------------------------
# the skill's allowed-tools: its scripts, nothing broader

def test_skill_allowed_tools_admit_its_scripts_and_nothing_broader(client, emu, tmp_path):
    fm, body = ph.read_md(SKILL_MD)
    rules = ph.allowed_tools(fm)
    assert ph.rule_problems(rules) == []            # exact script paths only
    work = tmp_path / "work"
    work.mkdir(exist_ok=True)
    (work / "notes.txt").write_text("notes\n")
    sid = emu.create_session_direct(title="t", prompt="p")["session_id"]
    emu.clock.advance(3600)
    pb = emu.add_playbook(title="pb", body="b")
    note = emu.add_note(name="n", body="b", trigger="t")
    fills = {"SESSION": sid, "TITLE": "Skill probe", "OWNER/REPO": "acme/app", "N": "3",
             "PLAYBOOK_ID": pb["playbook_id"], "NOTE_ID": note["note_id"], "WORDS": "n",
             "PATH": "notes.txt", "TAG": "probe"}
    texts = {"create_session.py": "Add a CHANGELOG entry.", "send_message.py": "Thanks."}
    admitted = []
    for call in st.documented_calls(SKILL_MD):
        script = call.split("/scripts/", 1)[1].split(" ", 1)[0]
        admitted.append(st.fill_call(call, fills, body=texts.get(script), strict=False))
    # every rule is exercised by at least one documented call
    for rule in rules:
        assert any(ph.rule_matches(rule, c.split("\n", 1)[0]) for c in admitted), rule
    broader = [f"python3 {S}/terminate_session.py '{sid}'",
               f"python3 {S}/playbooks.py delete '{pb['playbook_id']}'",
               f"python3 {S}/knowledge.py delete '{note['note_id']}'",
               f"python3 {S}/secrets.py delete 'secret-0123456789abcdef'",
               f"python3 {S}/playbooks.py create --title x --body-file notes.txt",
               f"python3 {S}/setup_env.py",
               "python3 -c 'print(1)'",
               f"curl -s {emu.url}/v3/self"]
    turns = [tool("Skill", {"skill": "devin:devin-delegation"})]
    turns += [bash(c) for c in admitted + broader]
    run = client("delegate the changelog entry to Devin", turns,
                 args=["--allowedTools", "Skill(devin:devin-delegation)"])
    assert run.proc.returncode == 0, run
    assert run.denied_commands == broader, run
    results = run.tool_results()
    assert results[0] == "Launching skill: devin:devin-delegation", results[0]
    for call, result in zip(admitted, results[1:]):
        assert "requires approval" not in result and GUARD not in result, (call, result)
    assert emu.get_session_direct(sid)["status"] != "exit"
    assert ("DELETE", "/v3/organizations/{org_id}/playbooks/{playbook_id}") not in sent(emu)
    assert len(emu.requests("POST", "/v3/organizations/{org_id}/sessions")) == 1


def test_the_plugin_mcp_server_starts_in_the_client_and_its_tools_are_offered(client, emu):
    """The other tests leave the MCP server out for speed; this one keeps it: the client starts
    it from .mcp.json and offers its tools to the model (deferred, by name)."""
    run = client("what Devin tools do you have?", [], mcp=True)
    assert run.proc.returncode == 0, run
    seen = everything_the_model_saw(run)
    for name in ("create_session", "get_session", "list_sessions", "send_message"):
        assert f"mcp__plugin_devin_devin__{name}" in seen, name
    assert sent(emu) == []          # offering tools sends nothing to Devin
