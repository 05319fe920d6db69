"""Every host's manifest: one source for name, version and description, generated files that do not
drift, the Agent Plugins 1.0 schemas kept in the repository, and the hosts' offline validators."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/, for plugin_helpers
import plugin_helpers as ph  # noqa: E402

REPO = ph.REPO
GEN = REPO / "tools" / "gen_host_files.py"
SCHEMAS = REPO / "schemas" / "agent-plugins-1.0"
GEMINI_VERSION = "0.61.0"
sys.path.insert(0, str(REPO / "tools"))
import gen_host_files as gen  # noqa: E402


def load(rel: str):
    return json.loads((REPO / rel).read_text(encoding="utf-8"))


def source() -> dict:
    return load(".claude-plugin/plugin.json")


# -- one source, no drift ------------------------------------------------------------------------

def test_generated_files_are_up_to_date():
    proc = subprocess.run([sys.executable, str(GEN), "--check"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize("md", sorted(p.name for p in (REPO / "commands").glob("*.md")))
def test_each_markdown_command_has_its_generated_toml(md):
    md_path = REPO / "commands" / md
    toml_path = REPO / "commands" / "devin" / (md_path.stem + ".toml")
    assert toml_path.is_file(), f"{toml_path.name} missing: run python3 tools/gen_host_files.py"
    assert toml_path.read_text(encoding="utf-8") == gen.gemini_command(md_path), \
        f"commands/devin/{toml_path.name} drifted from commands/{md}: run python3 tools/gen_host_files.py"
    doc = tomllib.loads(toml_path.read_text(encoding="utf-8"))
    fm, body = ph.read_md(md_path)
    assert set(doc) == {"description", "prompt"} and doc["description"] == fm["description"]
    assert "$ARGUMENTS" not in doc["prompt"] and "${CLAUDE_PLUGIN_ROOT}" not in doc["prompt"]
    assert ("{{args}}" in doc["prompt"]) == ("$ARGUMENTS" in body)
    assert len(re.findall(r"!\{", doc["prompt"])) == len(ph.bang_commands(body))


def test_no_toml_without_its_markdown():
    mds = {p.stem for p in (REPO / "commands").glob("*.md")}
    assert {p.stem for p in (REPO / "commands" / "devin").glob("*.toml")} == mds
    assert not list((REPO / "commands").glob("*.toml"))


def test_name_version_description_have_one_source():
    src = source()
    version = src["version"]
    for rel in ("plugin.json", "gemini-extension.json"):
        doc = load(rel)
        assert (doc["name"], doc["version"], doc["description"]) == (src["name"], version, src["description"]), rel
    (entry,) = [p for p in load(".claude-plugin/marketplace.json")["plugins"] if p["name"] == src["name"]]
    assert entry["version"] == version
    assert f'\nversion = "{version}"\n' in (REPO / "pyproject.toml").read_text()
    assert f'__version__ = "{version}"' in (REPO / "lib" / "devin_plugin" / "__init__.py").read_text()
    for rel in ("mcp.json", ".mcp.json", "gemini-extension.json"):
        assert list(load(rel)["mcpServers"]) == [src["name"]]


def test_a_changed_source_or_command_makes_the_check_fail(tmp_path):
    for part in ("tools", "commands", ".claude-plugin"):
        shutil.copytree(REPO / part, tmp_path / part)
    for rel in ("plugin.json", "mcp.json", ".mcp.json", "gemini-extension.json"):
        shutil.copy2(REPO / rel, tmp_path / rel)
    check = [sys.executable, str(tmp_path / "tools" / "gen_host_files.py"), "--check"]
    assert subprocess.run(check, capture_output=True, timeout=60).returncode == 0
    manifest = tmp_path / ".claude-plugin" / "plugin.json"
    manifest.write_text(manifest.read_text().replace('"version": "0.5.0"', '"version": "0.5.1"'))
    proc = subprocess.run(check, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    for rel in ("plugin.json", "gemini-extension.json"):
        assert f"{rel} is out of date" in proc.stderr
    subprocess.run(check[:-1], check=True, capture_output=True, timeout=60)
    status = tmp_path / "commands" / "status.md"
    status.write_text(status.read_text() + "\nOne more line.\n")
    proc = subprocess.run(check, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1 and proc.stderr.count("out of date") == 1 and "devin/status.toml" in proc.stderr


# -- Agent Plugins 1.0 ---------------------------------------------------------------------------

def _validator(name: str):
    from jsonschema import Draft202012Validator
    schema = json.loads((SCHEMAS / f"{name}.schema.json").read_text())
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema), schema


@pytest.mark.parametrize("name", ["plugin", "mcp"])
def test_root_manifests_match_the_agent_plugins_schemas(name):
    validator, schema = _validator(name)
    doc = load(f"{name}.json")
    assert doc["$schema"] == schema["$id"] == f"https://agent-plugins.org/schemas/1.0.0/{name}.schema.json"
    errors = [e.message for e in validator.iter_errors(doc)]
    assert errors == []


def test_the_schemas_catch_what_the_spec_forbids():
    plugin, _ = _validator("plugin")
    doc = load("plugin.json")
    assert list(plugin.iter_errors({**doc, "commands": "./commands"}))  # closed key set
    assert list(plugin.iter_errors({**doc, "$schema": "https://agent-plugins.org/schemas/1.0.0/other.json"}))
    assert list(plugin.iter_errors({**doc, "name": "Devin Plugin"}))
    mcp, _ = _validator("mcp")
    server = load("mcp.json")["mcpServers"]["devin"]
    bad = {"$schema": load("mcp.json")["$schema"], "mcpServers": {"devin": {**server, "env": {"PLUGIN_ROOT": "x"}}}}
    assert list(mcp.iter_errors(bad))
    assert list(mcp.iter_errors({**load("mcp.json"), "extra": 1}))


def test_mcp_json_carries_no_secrets_and_a_one_token_command():
    for server in load("mcp.json")["mcpServers"].values():
        assert "env" not in server and "headers" not in server
        assert re.fullmatch(r"[A-Za-z0-9_.-]+|\./\S+", server["command"])
        assert all("${PLUGIN_ROOT}" in a or "${" not in a for a in server["args"])
        assert (REPO / server["args"][0].replace("${PLUGIN_ROOT}/", "")).is_file()
    text = (REPO / "mcp.json").read_text() + (REPO / "plugin.json").read_text()
    assert "cog_" not in text and "TOKEN" not in text


# -- Claude Code ---------------------------------------------------------------------------------

def test_claude_mcp_json_hands_the_sensitive_user_config_to_the_server():
    user_config = source()["userConfig"]
    assert user_config["devin_token"]["sensitive"] is True and user_config["devin_token"]["type"] == "string"
    assert "sensitive" not in user_config["devin_org_id"]
    (server,) = load(".mcp.json")["mcpServers"].values()
    assert server["args"] == ["${CLAUDE_PLUGIN_ROOT}/scripts/mcp_server.py"]
    assert server["env"] == {"DEVIN_PLUGIN_TOKEN": "${user_config.devin_token}",
                             "DEVIN_PLUGIN_ORG_ID": "${user_config.devin_org_id}"}
    sys.path.insert(0, str(REPO / "lib"))
    from devin_plugin.mcp_server import HOST_ENV
    assert [src for src, _ in HOST_ENV] == list(server["env"])


@pytest.mark.claude
def test_claude_validate_strict_loads_the_mcp_server_and_ignores_the_other_hosts_files(tmp_path):
    if not ph.claude_bin():
        pytest.fail(ph.missing_claude_message())
    proc = ph.run_claude(["plugin", "validate", str(REPO), "--strict"], tmp_path)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert 'mcpServers: devin stdio python3 ["${CLAUDE_PLUGIN_ROOT}/scripts/mcp_server.py"]' in out
    assert "toml" not in out.lower() and ".gemini" not in out
    assert len(re.findall(r"commands: devin:", out)) == len(list((REPO / "commands").glob("*.md")))
    proc = ph.run_claude(["plugin", "validate", str(REPO / ".claude-plugin" / "plugin.json"), "--strict"], tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr


# -- Gemini CLI ----------------------------------------------------------------------------------

def gemini_bin() -> str | None:
    explicit = os.environ.get("DEVIN_PLUGIN_GEMINI_BIN")
    if explicit:
        return explicit if os.path.isfile(explicit) else None
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    cand = cache / "devin-plugin-dev" / f"gemini-cli-{GEMINI_VERSION}" / "node_modules" / ".bin" / "gemini"
    return str(cand) if cand.exists() else None


def run_gemini_validate(path: Path, home: Path) -> subprocess.CompletedProcess:
    binary = gemini_bin()
    if not binary:
        pytest.fail(f"the pinned Gemini CLI {GEMINI_VERSION} is not installed: run `python3 dev.py test` "
                    "(or set DEVIN_PLUGIN_GEMINI_BIN)")
    home.mkdir(parents=True, exist_ok=True)
    env = ph.clean_env(HOME=str(home))
    for key in list(env):
        if key.startswith(("GEMINI_", "GOOGLE_")):
            env.pop(key)
    cmd = [binary, "extensions", "validate", str(path)]
    # Without any network where the kernel lets us make an empty network namespace: proves "offline".
    if shutil.which("unshare") and subprocess.run(["unshare", "-rn", "true"], capture_output=True).returncode == 0:
        cmd = ["unshare", "-rn"] + cmd
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env, stdin=subprocess.DEVNULL)


def test_gemini_extension_manifest_shape():
    doc = load("gemini-extension.json")
    assert re.fullmatch(r"[a-zA-Z0-9-]+", doc["name"]) and re.fullmatch(r"\d+\.\d+\.\d+", doc["version"])
    token, org = doc["settings"]
    assert token["envVar"] == "DEVIN_SERVICE_USER_TOKEN" and token["sensitive"] is True
    assert org["envVar"] == "DEVIN_ORG_ID"
    (server,) = doc["mcpServers"].values()
    assert server["args"] == ["${extensionPath}${/}scripts${/}mcp_server.py", "--tools", "compact"]


def test_gemini_extensions_validate_passes_offline(tmp_path):
    proc = run_gemini_validate(REPO, tmp_path / "home")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "successfully validated" in proc.stdout + proc.stderr


def test_gemini_extensions_validate_fails_on_a_broken_copy(tmp_path):
    copy = tmp_path / "ext"
    copy.mkdir()
    doc = load("gemini-extension.json")
    doc["name"] = "devin plugin!"
    (copy / "gemini-extension.json").write_text(json.dumps(doc))
    proc = run_gemini_validate(copy, tmp_path / "home")
    assert proc.returncode == 1 and "Invalid extension name" in proc.stdout + proc.stderr


def _gemini_denies(rules, command: str) -> bool:
    """Gemini matches a rule's commandRegex at the start of the JSON-encoded command argument."""
    args = json.dumps({"command": command}, separators=(",", ":"))
    for rule in rules:
        if "commandRegex" in rule and re.search('"command":"' + rule["commandRegex"], args):
            return True
        for prefix in rule.get("commandPrefix", []):
            if command == prefix or command.startswith(prefix + " "):
                return True
    return False


def test_gemini_policy_file_blocks_direct_api_calls_and_token_leaks():
    rules = tomllib.loads((REPO / "policies" / "devin.toml").read_text())["rule"]
    assert all(r["decision"] == "deny" and r["toolName"] == "run_shell_command" and 0 <= r["priority"] <= 999
               for r in rules)
    for cmd in ("curl -s https://api.devin.ai/v3/self", "echo $DEVIN_SERVICE_USER_TOKEN", "env",
                "printenv", "cat $DEVIN_TOKEN_FILE", "python3 x.py --field create_as_user_id=u",
                "jq . <<< '{\"Session-Secrets\": 1}'", "wget api.acme.devinenterprise.com"):
        assert _gemini_denies(rules, cmd), cmd
    for cmd in ("python3 ~/.gemini/extensions/devin/scripts/get_session.py devin-" + "a" * 32,
                "python3 ~/.gemini/extensions/devin/scripts/list_sessions.py --limit 10 || true", "ls -la",
                "envsubst < a > b"):
        assert not _gemini_denies(rules, cmd), cmd
