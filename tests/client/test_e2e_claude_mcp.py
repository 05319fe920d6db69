"""The plugin's MCP server in the real Claude Code client (pinned 2.1.330), offline.

`claude -p PROMPT --plugin-dir <repo> --output-format json` with the loopback Anthropic stand-in
(tests/client/anthropic_standin.py) as the model and the Devin emulator as DEVIN_API_BASE; the client
starts the server from `.mcp.json` itself. What these tests pin down about 2.1.330:

- The plugin's tools are offered as `mcp__plugin_devin_devin__<tool>` and are *deferred*: the first
  request's `tools` array holds `ToolSearch` (and a `DeferredToolPlaceholder`), not the MCP tools;
  their names are listed in a system message. A `ToolSearch` call with `select:<full name>` returns
  `tool_reference` blocks, and from the next request on the tool is in the `tools` array.
- "ToolSearch select: ... No such tool available": that is what `--strict-mcp-config` gives (the
  harness's default for speed, `run_client(mcp=False)`): it drops the plugin's `.mcp.json` server,
  so ToolSearch says "No matching deferred tools found" and the call "No such tool available". The
  bare name (`get_session`) is not a tool either. Start-up timing is not the cause: in `-p` the
  client connects the server before the first model request (the names are already listed there).
- `-p` grants no MCP tool by default: without `--allowedTools mcp__plugin_devin_devin__<tool>` the
  call is a permission denial ("... but you haven't granted it yet") and nothing is sent.
- On success the model is shown the result's `structuredContent` as compact JSON, not its text
  content (the headline and the untrusted-data fence of the text are not shown); on `isError` it is
  shown the text (`devin: <kind>: <message>`).
- The sensitive `userConfig` token: `claude --plugin-dir <repo> plugin configure devin@inline
  --values-stdin` (a `--plugin-dir` plugin's id is `devin@inline`; no marketplace install needed)
  stores the token in `~/.claude/.credentials.json` (`pluginSecrets`, mode 0600, on Linux without a
  keychain) and the org id in `~/.claude/settings.json` (`pluginConfigs.<id>.options`); the client
  expands `${user_config.devin_token}` in `.mcp.json` into the server's env only.

Each test has its own emulator, stand-in and HOME; a missing client is a failure, never a skip.
Run: `python3 dev.py test tests/client/test_e2e_claude_mcp.py`.
"""

from __future__ import annotations

import json
import stat
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import anthropic_standin as st  # noqa: E402
import plugin_helpers as ph  # noqa: E402
from anthropic_standin import bash, tool  # noqa: E402

pytestmark = pytest.mark.claude

MCP = "mcp__plugin_devin_devin__"
GET = MCP + "get_session"
CREATE = MCP + "create_session"
SEND = MCP + "send_message"
LIST = MCP + "list_sessions"
PLUGIN_ID = "devin@inline"          # what the client calls a --plugin-dir plugin
GET_ROUTE = ("GET", "/v3/organizations/{org_id}/sessions/{devin_id}")
# Every credential variable, none of which the shell may hold (names as the server, the scripts
# and the client's hook hand-over spell them).
TOKEN_VARS = ("DEVIN_SERVICE_USER_TOKEN", "DEVIN_TOKEN_FILE", "DEVIN_API_KEY", "DEVIN_PLUGIN_TOKEN",
              "CLAUDE_PLUGIN_OPTION_DEVIN_TOKEN")
NO_TOKEN_ENV = {"DEVIN_SERVICE_USER_TOKEN": None, "DEVIN_TOKEN_FILE": None, "DEVIN_ORG_ID": None}



@pytest.fixture
def client(tmp_path, emu, plugin_venv):
    """run(prompt, turns, env=..., args=...): one client run with the plugin's MCP server on."""
    if not ph.claude_bin():
        pytest.fail(ph.missing_claude_message())

    def _run(prompt, turns=(), *, env=None, **kw):
        kw.setdefault("home", tmp_path / "home")
        return st.run_client(prompt, list(turns), emu=emu, cwd=tmp_path / "work", mcp=True,
                             env={"DEVIN_PLUGIN_VENV": str(plugin_venv), **(env or {})}, **kw)
    return _run


def sent(emu) -> list[tuple[str, str]]:
    return [(e.method, e.route or e.path) for e in emu.journal if not e.path.startswith("/_emulator")]


def results(run: st.ClientRun) -> list[dict]:
    """The tool_result blocks the model got back, in order (raw: content may be blocks)."""
    return run.standin.tool_results()


def text(block: dict) -> str:
    c = block.get("content")
    if isinstance(c, list):
        return "\n".join(b.get("text", "") for b in c if isinstance(b, dict))
    return str(c or "")


def select(*names: str) -> st.ToolUse:
    return tool("ToolSearch", {"query": "select:" + ",".join(names), "max_results": len(names)})


def configure(home: Path, values: dict | None = None) -> dict:
    """`claude --plugin-dir <repo> plugin configure devin@inline [--values-stdin]`, as a user
    would, in the throwaway HOME and with no Devin setting in the environment; returns the
    `--json` view afterwards."""
    binary = ph.claude_bin()
    env = ph.claude_env(home)
    assert not [k for k in env if k.startswith("DEVIN_")], "the configuring shell holds Devin settings"
    home.mkdir(parents=True, exist_ok=True)
    base = [binary, "--plugin-dir", str(ph.REPO), "plugin", "configure", PLUGIN_ID]
    if values is not None:
        proc = subprocess.run([*base, "--values-stdin"], input=json.dumps(values), capture_output=True,
                              text=True, timeout=60, env=env, cwd=str(home))
        assert proc.returncode == 0, proc.stderr
        assert "Configuration saved" in proc.stdout, proc.stdout
    proc = subprocess.run([*base, "--json"], capture_output=True, text=True, timeout=60, env=env,
                          cwd=str(home))
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


# ------------------------------------------------------------------------------------------------
# 1. the model calls the MCP tool; the emulator sees exactly that call

def test_the_model_calls_the_plugin_mcp_tool_and_the_emulator_sees_exactly_that_call(client, emu):
    sid = emu.create_session_direct(title="mcp probe", prompt="p")["session_id"]
    turns = [select(GET, LIST),
             tool(GET, {"session": sid}),
             tool(LIST, {"limit": 5}),           # offered, but not granted by --allowedTools
             tool("get_session", {"session": sid})]  # the server's own name is not a client tool
    run = client("what is the state of my Devin session?", turns, args=["--allowedTools", GET])
    assert run.proc.returncode == 0, run

    first, after_select = run.standin.main_requests[0], run.standin.main_requests[1]
    # deferred: not in the first tools array, named in a system message, loaded by ToolSearch
    assert "ToolSearch" in run.standin.tool_names(first)
    assert GET not in run.standin.tool_names(first)
    assert GET in json.dumps(first["messages"])
    assert GET in run.standin.tool_names(after_select) and LIST in run.standin.tool_names(after_select)

    got = results(run)
    assert len(got) == 4, got
    assert got[0]["content"] == [{"type": "tool_reference", "tool_name": GET},
                                 {"type": "tool_reference", "tool_name": LIST}], got[0]
    # the tool result came back to the model: the session as the emulator holds it
    assert not got[1].get("is_error"), got[1]
    shown = text(got[1])
    assert sid in shown and "mcp probe" in shown, shown
    if shown.lstrip().startswith("{"):      # 2.1.330 shows structuredContent, not the text content
        doc = json.loads(shown)
        assert doc["session_id"] == sid and doc["org_id"] == emu.org_id, doc
    assert got[2].get("is_error") and "haven't granted it yet" in text(got[2]), got[2]
    assert got[3].get("is_error") and "No such tool available: get_session" in text(got[3]), got[3]
    assert [d["tool_name"] for d in run.denials] == [LIST], run

    # exactly that one GET, for that session, in the org, with the token; nothing else
    assert sent(emu) == [GET_ROUTE], sent(emu)
    (entry,) = [e for e in emu.journal if not e.path.startswith("/_emulator")]
    assert entry.path == f"/v3/organizations/{emu.org_id}/sessions/{sid}"
    assert entry.headers.get("authorization") == f"Bearer {emu.token}"


def test_strict_mcp_config_is_what_makes_toolsearch_say_no_such_tool(tmp_path, emu, plugin_venv):
    """The reported "ToolSearch select: ... No such tool available": `--strict-mcp-config` (without
    `--mcp-config`) drops the plugin's own server, so there is nothing to select."""
    if not ph.claude_bin():
        pytest.fail(ph.missing_claude_message())
    sid = emu.create_session_direct(title="t", prompt="p")["session_id"]
    run = st.run_client("what is the state of my Devin session?", [select(GET), tool(GET, {"session": sid})],
                        home=tmp_path / "home", emu=emu, cwd=tmp_path / "work", mcp=False,
                        env={"DEVIN_PLUGIN_VENV": str(plugin_venv)}, args=["--allowedTools", GET])
    assert run.proc.returncode == 0, run
    assert "--strict-mcp-config" in run.proc.args
    got = results(run)
    assert text(got[0]) == "No matching deferred tools found", got[0]
    assert got[1].get("is_error") and f"No such tool available: {GET}" in text(got[1]), got[1]
    assert MCP not in json.dumps(run.standin.main_requests[0])    # no tool of the plugin is offered
    assert sent(emu) == []


def test_the_compact_tools_in_the_real_client(client, emu):
    """DEVIN_PLUGIN_MCP_TOOLS=compact (what the Gemini and Agent Plugins manifests choose with --tools):
    the client lists four tools, the model reaches an operation through devin_read, is told which tool an
    irreversible one belongs to, and devin_confirmed still wants confirm: true; one GET is all that is sent."""
    read, confirmed = MCP + "devin_read", MCP + "devin_confirmed"
    sid = emu.create_session_direct(title="compact probe", prompt="p")["session_id"]
    turns = [select(read, confirmed),
             tool(read, {"operation": "get_session", "arguments": {"session": sid}}),
             tool(read, {"operation": "terminate_session", "arguments": {"session": sid, "confirm": True}}),
             tool(confirmed, {"operation": "terminate_session", "arguments": {"session": sid}})]
    run = client("what is the state of my Devin session?", turns, env={"DEVIN_PLUGIN_MCP_TOOLS": "compact"},
                 args=["--allowedTools", read, "--allowedTools", confirmed])
    assert run.proc.returncode == 0, run
    first = json.dumps(run.standin.main_requests[0]["messages"])
    for name in ("devin_read", "devin_change", "devin_confirmed", "devin_describe"):
        assert MCP + name in first, name
    assert GET not in first and CREATE not in first

    got = results(run)
    assert len(got) == 4, got
    assert not got[1].get("is_error"), got[1]
    assert sid in text(got[1]) and "compact probe" in text(got[1])
    assert got[2].get("is_error") and "call devin_confirmed with operation terminate_session" in text(got[2])
    assert got[3].get("is_error") and "confirm: true" in text(got[3]), got[3]
    assert sent(emu) == [GET_ROUTE], sent(emu)


# ------------------------------------------------------------------------------------------------
# 2. the token given as sensitive userConfig reaches the server and never the shell's environment (the
#    SessionStart hook writes it to ~/.config/devin/token, which the README's sandbox settings hide:
#    tests/client/test_e2e_claude_sandbox.py)

ENV_DUMP = """\
import json, os
json.dump(dict(os.environ), open("shell_env.json", "w"))
print(sorted(k for k in os.environ if k.startswith(("DEVIN", "CLAUDE_PLUGIN"))))
"""


def test_the_sensitive_user_config_token_reaches_the_mcp_server_and_never_the_shell(client, emu, tmp_path):
    home, work = tmp_path / "home", tmp_path / "work"
    work.mkdir()
    (work / "env_dump.py").write_text(ENV_DUMP)     # the shell's view, printed by names only
    sid = emu.create_session_direct(title="t", prompt="p")["session_id"]
    turns = [select(GET), tool(GET, {"session": sid}), bash("python3 env_dump.py")]
    args = ["--allowedTools", GET, "--allowedTools", "Bash"]

    # control: nothing configured and no token anywhere in the environment -> nothing to send with
    before = configure(home)
    assert sorted(before["unconfigured"]) == ["devin_org_id", "devin_token"], before
    assert before["schema"]["devin_token"]["sensitive"] is True
    run = client("what is the state of my Devin session?", turns[:2], args=args, env=NO_TOKEN_ENV)
    assert run.proc.returncode == 0, run
    got = results(run)
    assert got[1].get("is_error") and text(got[1]).startswith("devin: config:"), got[1]
    assert sent(emu) == []

    # as a user would: the token (sensitive) and the org id as the plugin's options
    after = configure(home, {"devin_token": emu.token, "devin_org_id": emu.org_id})
    assert sorted(after["configured"]) == ["devin_org_id", "devin_token"], after
    assert emu.token not in json.dumps(after)       # the view never echoes the secret
    claude_dir = home / ".claude"
    stored = {p.name: p.read_text() for p in [claude_dir / "settings.json", home / ".claude.json"]
              if p.exists()}
    assert emu.org_id in stored["settings.json"]
    assert not [n for n, body in stored.items() if emu.token in body], "token stored in plain settings"
    if sys.platform.startswith("linux"):            # no keychain: the client's 0600 credentials file
        creds = claude_dir / ".credentials.json"
        assert stat.S_IMODE(creds.stat().st_mode) == 0o600
        assert json.loads(creds.read_text())["pluginSecrets"][PLUGIN_ID]["devin_token"] == emu.token

    run = client("what is the state of my Devin session?", turns, args=args, env=NO_TOKEN_ENV)
    assert run.proc.returncode == 0, run
    assert run.denials == [], run
    got = results(run)
    assert not got[1].get("is_error") and sid in text(got[1]), got[1]
    # the server used the userConfig token and org: exactly one GET, with that bearer
    assert sent(emu) == [GET_ROUTE], sent(emu)
    (entry,) = [e for e in emu.journal if not e.path.startswith("/_emulator")]
    assert entry.path == f"/v3/organizations/{emu.org_id}/sessions/{sid}"
    assert entry.headers.get("authorization") == f"Bearer {emu.token}"

    # ... and the shell of the same session has neither the value nor any credential variable
    shell_env = json.loads((work / "shell_env.json").read_text())
    assert not [k for k, v in shell_env.items() if emu.token in v], "the token reached the shell"
    assert not set(TOKEN_VARS) & set(shell_env), sorted(shell_env)
    # the org id (not a secret) is handed to the scripts by the plugin's SessionStart hook, so that they
    # are confined to the same organization as the server
    assert shell_env.get("DEVIN_ORG_ID") == emu.org_id and "DEVIN_PLUGIN_ORG_ID" not in shell_env
    assert "DEVIN_API_BASE" in shell_env            # the dump is the session's real environment
    names = text(got[2])
    assert "DEVIN_API_BASE" in names and "TOKEN" not in names, names
    assert emu.token not in json.dumps(run.standin.requests)   # nor anything the model was shown


# ------------------------------------------------------------------------------------------------
# 3. a forbidden field through the MCP tool: a policy tool error, nothing sent

def test_a_forbidden_field_through_the_mcp_tool_is_a_policy_error_and_nothing_is_posted(client, emu):
    sid = emu.create_session_direct(title="t", prompt="p")["session_id"]
    turns = [select(CREATE, SEND, GET),
             tool(CREATE, {"prompt": "Fix the flaky test in acme/app.", "title": "flaky test",
                           "create_as_user_id": "user-0123456789"}),
             tool(CREATE, {"prompt": "Fix the flaky test in acme/app.", "title": "flaky test",
                           "session_secrets": [{"key": "K", "value": "v"}]}),
             tool(SEND, {"session": sid, "message": "hi", "message_as_user_id": "user-0123456789"}),
             tool(GET, {"session": sid})]            # a control: the server is live and can send
    run = client("delegate the flaky test to Devin", turns,
                 args=["--allowedTools", ",".join([CREATE, SEND, GET])])
    assert run.proc.returncode == 0, run
    assert run.denials == [], run
    got = results(run)
    assert len(got) == 5, got
    for block, field in zip(got[1:4], ("create_as_user_id", "session_secrets", "message_as_user_id")):
        assert block.get("is_error"), block
        msg = text(block)
        assert msg.startswith("devin: policy: ") and field in msg and "Nothing was sent" in msg, msg
    assert not got[4].get("is_error") and sid in text(got[4]), got[4]
    # the emulator saw no POST at all: only the control GET
    assert sent(emu) == [GET_ROUTE], sent(emu)
    assert emu.requests("POST") == []
