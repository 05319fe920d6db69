"""A new user's first minutes in the real Claude Code client (pinned 2.1.330), offline, from a fresh
HOME: marketplace add, install, and `claude mcp list` before anything is set up.

The plugin declares its MCP server, so the client starts it at once, before `/devin:setup` created the
Python environment. The server must connect anyway (no failure in `claude mcp list`) and say, through
its MCP instructions, what to run; a tool call gets the same sentence as an error.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/, for plugin_helpers
import plugin_helpers as ph  # noqa: E402

pytestmark = pytest.mark.claude

INIT = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}}


def installed(tmp_path: Path) -> tuple[Path, Path]:
    if not ph.claude_bin():
        pytest.fail(ph.missing_claude_message())
    copy = ph.copy_plugin(tmp_path / "repo")
    home = tmp_path / "home"
    market = json.loads((ph.REPO / ".claude-plugin" / "marketplace.json").read_text())["name"]
    for args in (["plugin", "marketplace", "add", str(copy)], ["plugin", "install", f"devin@{market}"]):
        done = ph.run_claude(args, home)
        assert done.returncode == 0, done.stdout + done.stderr
    return copy, home


def bare_python_env(home: Path) -> dict:
    """The client's environment with a python3 that has none of the plugin's dependencies."""
    env = ph.claude_env(home)
    env["PATH"] = "/usr/bin:/bin"
    env.pop("DEVIN_PLUGIN_VENV", None)
    return env


def test_a_fresh_install_lists_the_mcp_server_connected_and_says_what_to_run(tmp_path):
    copy, home = installed(tmp_path)
    env = bare_python_env(home)
    probe = subprocess.run(["python3", "-c", "import requests"], capture_output=True, env=env)
    if probe.returncode == 0:
        pytest.fail("/usr/bin/python3 has requests installed: this test needs a bare python3 (Debian's)")
    listed = subprocess.run([ph.claude_bin(), "mcp", "list"], capture_output=True, text=True, timeout=120,
                            env=env, cwd=str(home))
    assert listed.returncode == 0, listed.stderr
    (line,) = [x for x in listed.stdout.splitlines() if x.startswith("plugin:devin:devin:")]
    assert "Connected" in line and "Failed" not in line, listed.stdout
    # What the client was told: the server, started as the client starts it, before any setup.
    msgs = [INIT, {"jsonrpc": "2.0", "method": "notifications/initialized"},
            {"jsonrpc": "2.0", "id": 2, "method": "tools/list"},
            {"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": "get_session", "arguments": {}}}]
    proc = subprocess.run(["python3", str(copy / "scripts" / "mcp_server.py")], env=env, timeout=60,
                          input="".join(json.dumps(m) + "\n" for m in msgs), capture_output=True, text=True)
    init, tools, call = (json.loads(x) for x in proc.stdout.splitlines())
    assert "/devin:setup" in init["result"]["instructions"] and "--with-mcp" in init["result"]["instructions"]
    assert tools["result"] == {"tools": []}
    assert call["result"]["isError"] is True and "/devin:setup" in call["result"]["content"][0]["text"]


def test_with_the_environment_set_up_the_full_server_connects(tmp_path, plugin_venv):
    copy, home = installed(tmp_path)
    env = bare_python_env(home)
    env["DEVIN_PLUGIN_VENV"] = str(plugin_venv)
    listed = subprocess.run([ph.claude_bin(), "mcp", "list"], capture_output=True, text=True, timeout=120,
                            env=env, cwd=str(home))
    (line,) = [x for x in listed.stdout.splitlines() if x.startswith("plugin:devin:devin:")]
    assert "Connected" in line, listed.stdout
    msgs = [INIT, {"jsonrpc": "2.0", "method": "notifications/initialized"},
            {"jsonrpc": "2.0", "id": 2, "method": "tools/list"}]
    proc = subprocess.run(["python3", str(copy / "scripts" / "mcp_server.py")], env=env, timeout=60,
                          input="".join(json.dumps(m) + "\n" for m in msgs), capture_output=True, text=True)
    tools = [json.loads(x) for x in proc.stdout.splitlines() if '"id": 2' in x or '"id":2' in x]
    assert tools and len(tools[0]["result"]["tools"]) > 20, proc.stdout[:500] + proc.stderr[-500:]


def test_a_new_users_first_hour_from_a_marketplace_install(tmp_path, emu, plugin_venv):
    """Install, configure the token only as the plugin option, /devin:setup, claude mcp list, then
    /devin:status and /devin:delegate, all through the installed plugin (no --plugin-dir)."""
    import anthropic_standin as st
    from anthropic_standin import bash

    copy, home = installed(tmp_path)
    market = json.loads((ph.REPO / ".claude-plugin" / "marketplace.json").read_text())["name"]
    configure = subprocess.run([ph.claude_bin(), "plugin", "configure", f"devin@{market}", "--values-stdin"],
                               input=json.dumps({"devin_token": emu.token, "devin_org_id": emu.org_id}),
                               capture_output=True, text=True, timeout=60, env=ph.claude_env(home), cwd=str(home))
    assert configure.returncode == 0 and "Configuration saved" in configure.stdout, configure.stdout + configure.stderr
    only_option = {"DEVIN_SERVICE_USER_TOKEN": None, "DEVIN_TOKEN_FILE": None, "DEVIN_ORG_ID": None,
                   "DEVIN_PLUGIN_VENV": str(plugin_venv)}
    work = tmp_path / "work"

    def run(prompt, turns=()):
        done = st.run_client(prompt, list(turns), home=home, emu=emu, plugin=None, cwd=work, env=only_option)
        assert done.proc.returncode == 0 and not done.result.get("is_error"), done
        return done

    setup = run("/devin:setup")
    seen = setup.standin.seen()
    assert emu.org_id in seen and "token missing" not in seen.lower(), seen[-2000:]
    assert ("GET", "/v3/self") in [(e.method, e.path) for e in emu.journal]
    env = dict(bare_python_env(home), DEVIN_PLUGIN_VENV=str(plugin_venv))
    listed = subprocess.run([ph.claude_bin(), "mcp", "list"], capture_output=True, text=True, timeout=120,
                            env=env, cwd=str(home))
    (line,) = [x for x in listed.stdout.splitlines() if x.startswith("plugin:devin:devin:")]
    assert "Connected" in line, listed.stdout
    emu.create_session_direct(title="an earlier task", prompt="p")
    status = run("/devin:status")
    assert "an earlier task" in status.standin.seen()
    # The model writes the command's call with the installed plugin's folder in place of ${CLAUDE_PLUGIN_ROOT}:
    # the client shows the command to the model with that text substituted.
    text = run("/devin:delegate nothing yet").standin.seen()  # the stand-in answers without a call
    root = re.search(r"python3 (\S+)/scripts/create_session\.py", text).group(1)
    call = st.call_from(ph.COMMANDS_DIR / "delegate.md", "create_session.py",
                        {"TITLE": "First task", "OWNER/REPO": "acme/app", "N": "3"},
                        body="Fix the flaky login test in acme/app.", root=Path(root))
    delegated = run("/devin:delegate fix the flaky login test in acme/app", [bash(call)])
    (result,) = delegated.tool_results()
    assert "devin-" in result, result
    (post,) = emu.requests("POST", "/v3/organizations/{org_id}/sessions")
    assert post.json["title"] == "First task" and post.headers["Authorization"] == f"Bearer {emu.token}"
    assert copy
