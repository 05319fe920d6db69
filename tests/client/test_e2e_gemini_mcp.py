"""The plugin as a Gemini CLI extension, driven through the real pinned client (0.61.0) fully offline.

The real `gemini -p` runs against a loopback stand-in for the Gemini API (gemini_standin.py) that scripts
the model's function calls, with the Devin emulator as the Devin API. The extension is installed as a
user installs it: `gemini extensions install <copy of the working tree> --consent --skip-settings`, then
`gemini extensions config devin DEVIN_SERVICE_USER_TOKEN` and `... DEVIN_ORG_ID`, each value typed at
its prompt.

What the client does here (read in its bundle, then checked by these tests):

* The model endpoint: `security.auth.selectedType: "gemini-api-key"` in ~/.gemini/settings.json with
  `GEMINI_API_KEY` (fake) and `GOOGLE_GEMINI_BASE_URL` (the stand-in); the client then POSTs
  `/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse`. Usage statistics, telemetry and
  update checks are off in the same settings.json; under `strace -f -e trace=connect` a run connects
  to the stand-in and (from the MCP server) the emulator and nothing else.
* Settings: the sensitive token goes to the client's keychain, here its encrypted file
  ~/.gemini/gemini-credentials.json (mode 0600; `GEMINI_FORCE_FILE_STORAGE=true` keeps it out of the
  OS keychain of the machine running the tests); the org id to ~/.gemini/extensions/devin/.env. The
  client hands both to the server as DEVIN_SERVICE_USER_TOKEN / DEVIN_ORG_ID.
* Environment: a stdio MCP server gets the client's environment minus every variable whose name matches
  TOKEN, SECRET, KEY, AUTH, PASSWORD, CREDENTIAL, CERT, PRIVATE... (and any value that looks like a
  key), plus the extension's settings. So DEVIN_API_BASE (the emulator) and DEVIN_PLUGIN_VENV (a ready
  environment; the installed copy has no .venv) pass, and a token can only come from the settings.
  (With GITHUB_SHA set or SURFACE=Github the client passes only PATH, HOME and a few more.)
* Approval: in a headless run a tool that would ask for confirmation is not even offered to the model.
  `--allowed-mcp-server-names devin` adds one policy rule, allow `mcp_devin_*`, and loads only this
  server: its four tools are offered and run without a prompt, while the built-in shell and file
  writing tools stay unoffered (`--yolo` would offer and approve those too; `--allowed-tools` names
  single tools and is deprecated).
* Names: the client offers an MCP tool as `mcp_<server>_<tool>`: mcp_devin_devin_read, ...

Measured with Gemini CLI 0.61.0 (`.venv/bin/python -m pytest -p no:cacheprovider -o addopts="" -q -s
tests/client/test_e2e_gemini_mcp.py` prints it): the plugin's four declarations as the client sent them
(compact JSON, as JSON.stringify writes them) are 3,410 characters, about 852 tokens at characters / 4,
of which 1,040 characters (260 tokens) are the `wait_for_previous` property the client adds to every
tool; all the declarations of that request, built-in tools included, are 10,348 characters. The limit
asserted below is 1,200 tokens.

Each test has its own emulator, stand-in and HOME; a missing client is a failure, never a skip.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import gemini_standin as gs  # noqa: E402
from devin_plugin import policy as policy_mod  # noqa: E402
from devin_plugin.mcp_server.tools import tools  # noqa: E402

pytestmark = pytest.mark.slow

PREFIX = "mcp_devin_"                      # how the client names the tools of the extension's server
COMPACT = ("devin_read", "devin_change", "devin_confirmed", "devin_describe")
READ, CONFIRMED, DESCRIBE = (PREFIX + n for n in ("devin_read", "devin_confirmed", "devin_describe"))
ALLOW = ["--allowed-mcp-server-names", "devin"]
GET_ROUTE = ("GET", "/v3/organizations/{org_id}/sessions/{devin_id}")
MAX_DECLARATION_TOKENS = 1200


@pytest.fixture
def gemini(tmp_path, emu, plugin_venv):
    """run(turns, prompt=...): one headless client run, with the extension installed in tmp_path/home (the
    token and org id of `emu` as its settings); the run's own environment adds DEVIN_API_BASE,
    DEVIN_PLUGIN_VENV and DEVIN_DEDUP_SETTLE_SECONDS, no credential."""
    if not gs.gemini_bin():
        pytest.fail(gs.missing_gemini_message())
    home = tmp_path / "home"
    source = gs.extension_source(tmp_path / "source")
    assert not (source / ".venv").exists()
    installed = gs.install_extension(home, {"DEVIN_SERVICE_USER_TOKEN": emu.token, "DEVIN_ORG_ID": emu.org_id},
                                     source=source)
    assert (installed / "scripts" / "mcp_server.py").is_file() and not (installed / ".venv").exists()

    def _run(turns, prompt="what is the state of my Devin session?"):
        return gs.run_client(prompt, turns, home=home, cwd=tmp_path / "work", args=ALLOW,
                             env={"DEVIN_API_BASE": emu.url, "DEVIN_PLUGIN_VENV": str(plugin_venv),
                                  "DEVIN_DEDUP_SETTLE_SECONDS": "0.2"})
    return _run


def sent(emu) -> list[tuple[str, str]]:
    return [(e.method, e.route or e.path) for e in emu.journal if not e.path.startswith("/_emulator")]


def text(function_response: dict) -> str:
    """What a functionResponse told the model: the tool's output, or the client's error text."""
    r = function_response.get("response") or {}
    return str(r.get("output") if "output" in r else r.get("error", json.dumps(r)))


def operation_names() -> set[str]:
    return {t.name for t in tools(policy_mod.load(Path("/nonexistent-config-dir")))}


# ------------------------------------------------------------------------------------------------

def test_gemini_offers_the_four_compact_tools_and_devin_read_reaches_the_emulator_once(gemini, emu, tmp_path):
    sid = emu.create_session_direct(title="gemini probe", prompt="p")["session_id"]
    run = gemini([gs.call(READ, {"operation": "get_session", "arguments": {"session": sid}})])
    assert run.proc.returncode == 0, run
    # Claude Code's hooks (hooks/claude-hooks.json) are not Gemini's: no warning about them, no hook run
    assert "Invalid hook event name" not in run.proc.stderr and "Hook timed out" not in run.proc.stderr, \
        run.proc.stderr[-2000:]

    # the settings as the client stored them: the org id in the extension's .env, the token only in the
    # client's 0600 secret file (encrypted), in no plain file of the HOME
    home = tmp_path / "home"
    assert (home / ".gemini" / "extensions" / "devin" / ".env").read_text() == f"DEVIN_ORG_ID={emu.org_id}\n"
    assert gs.secret_store_mode(home) == 0o600
    plain = [p for p in home.rglob("*") if p.is_file() and emu.token.encode() in p.read_bytes()]
    assert plain == [], plain

    # the first model request offers exactly the four compact tools of the plugin, no per-operation tool
    first = run.standin.main_requests[0]
    names = run.standin.tool_names(first)
    ours = [n for n in names if "devin" in n]
    assert sorted(ours) == sorted(PREFIX + n for n in COMPACT), names
    assert not [n for n in names if n.startswith("mcp_") and n not in ours], names
    assert not {n.removeprefix(PREFIX) for n in names} & operation_names(), names
    assert "run_shell_command" not in names            # the allowance covers this server only

    decls = [d for d in run.standin.declarations(first) if d["name"] in ours]
    chars = len(json.dumps(decls, separators=(",", ":")))
    print(f"\nthe four declarations as sent: {chars} characters, ~{chars / 4:.0f} tokens")
    assert chars / 4 <= MAX_DECLARATION_TOKENS, chars

    # the call came back to the model: the session as the emulator holds it
    (reply,) = run.standin.function_responses()
    assert reply["name"] == READ, reply
    shown = text(reply)
    assert "output" in reply["response"] and sid in shown and "gemini probe" in shown, reply
    assert run.text.startswith(gs.ECHO) and sid in run.text, run

    # exactly that one GET, for that session, in the org, with the token of the extension's settings
    assert sent(emu) == [GET_ROUTE], sent(emu)
    (entry,) = [e for e in emu.journal if not e.path.startswith("/_emulator")]
    assert entry.path == f"/v3/organizations/{emu.org_id}/sessions/{sid}"
    assert entry.headers.get("authorization") == f"Bearer {emu.token}"

    # the model calls went to the stand-in, with the fake key, and nowhere else of it
    assert run.standin.other_requests == []
    assert {r["_api_key"] for r in run.standin.requests} == {gs.API_KEY}
    assert len(run.standin.main_requests) == 2


def test_terminate_session_through_devin_read_is_an_error_and_devin_describe_names_devin_confirmed(gemini, emu):
    """Gemini checks a call's arguments against the tool's schema before it calls the server. The operation
    enum of devin_read has no terminate_session, so the client itself answers with the schema error and
    the router's own redirect ("call devin_confirmed with operation terminate_session", which Claude Code's
    model sees: test_e2e_claude_mcp.py) never comes into play here; the model finds the right tool in the
    declarations (devin_confirmed's enum) or through devin_describe. devin_confirmed without confirm: true
    is refused the same way. Nothing reaches the emulator."""
    sid = emu.create_session_direct(title="keep me", prompt="p")["session_id"]
    turns = [gs.call(READ, {"operation": "terminate_session", "arguments": {"session": sid, "confirm": True}}),
             gs.call(DESCRIBE, {"operation": "terminate_session"}),
             gs.call(CONFIRMED, {"operation": "terminate_session", "arguments": {"session": sid}})]
    run = gemini(turns, prompt="stop my Devin session")
    assert run.proc.returncode == 0, run

    first = run.standin.main_requests[0]
    enums = {d["name"]: d["parametersJsonSchema"]["properties"]["operation"].get("enum")
             for d in run.standin.declarations(first) if d["name"].startswith(PREFIX)}
    assert "terminate_session" not in enums[READ] and "terminate_session" in enums[CONFIRMED], enums

    read, described, confirmed = run.standin.function_responses()
    assert [r["name"] for r in (read, described, confirmed)] == [READ, DESCRIBE, CONFIRMED]
    # the client's schema error, not the server's (whose errors come back as "reported tool error")
    assert read["response"] == {"error": "params/operation must be equal to one of the allowed values"}, read
    assert "output" in described["response"], described
    assert '"tool": "devin_confirmed"' in text(described) and '"operation": "terminate_session"' in text(described)
    assert confirmed["response"] == {"error": "params/arguments must have required property 'confirm'"}, confirmed

    assert sent(emu) == [], sent(emu)
    assert emu.requests("DELETE") == [] and emu.requests("POST") == []
