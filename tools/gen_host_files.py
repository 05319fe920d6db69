#!/usr/bin/env python3
"""Generate the other hosts' files from the Claude Code ones; never edit the outputs by hand.

One source each:
- name, version, description, author, license, keywords: .claude-plugin/plugin.json
- the MCP server's command: scripts/mcp_server.py (SERVER below)
- Gemini CLI's TOML commands: commands/*.md (Claude Code's Markdown commands)

Writes: plugin.json (Agent Plugins 1.0), mcp.json (Agent Plugins 1.0, no secrets), .mcp.json
(Claude Code; the token and org id from the sensitive userConfig), gemini-extension.json, and
commands/devin/<name>.toml (Gemini's /devin:<name>; Claude Code ignores *.toml there).

    python3 tools/gen_host_files.py           write the files
    python3 tools/gen_host_files.py --check   exit 1 and name the files that drifted (tests run this)

Stdlib only (yaml-free: the frontmatter keys read here are plain one-line `key: value`).
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CLAUDE_MANIFEST = ROOT / ".claude-plugin" / "plugin.json"
COMMANDS = ROOT / "commands"
GEMINI_COMMANDS = COMMANDS / "devin"
SERVER = "scripts/mcp_server.py"
AP_PLUGIN_SCHEMA = "https://agent-plugins.org/schemas/1.0.0/plugin.schema.json"
AP_MCP_SCHEMA = "https://agent-plugins.org/schemas/1.0.0/mcp.schema.json"
GEMINI_ROOT = "~/.gemini/extensions/devin"  # where `gemini extensions install` puts the extension
CLAUDE_ROOT_VAR = "${CLAUDE_PLUGIN_ROOT}"
# userConfig keys of .claude-plugin/plugin.json -> the variables the MCP server reads (mcp_server.HOST_ENV)
USER_CONFIG_ENV = {"DEVIN_PLUGIN_TOKEN": "devin_token", "DEVIN_PLUGIN_ORG_ID": "devin_org_id"}
# Hosts that load every tool's schema into every conversation get the four broad tools
# (lib/devin_plugin/mcp_server/compact.py); Claude Code defers tools, so it keeps one per operation.
COMPACT = ["--tools", "compact"]


def meta() -> dict:
    return json.loads(CLAUDE_MANIFEST.read_text(encoding="utf-8"))


def dump(doc) -> str:
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def agent_plugin_manifest(m: dict) -> dict:
    out = {"$schema": AP_PLUGIN_SCHEMA}
    for key in ("name", "version", "description", "author", "homepage", "repository", "license", "keywords"):
        if key in m:
            out[key] = m[key]
    return out


def agent_plugin_mcp(m: dict) -> dict:
    # No env at all: Agent Plugins forbids secrets there; the client or the environment supplies them.
    return {"$schema": AP_MCP_SCHEMA,
            "mcpServers": {m["name"]: {"type": "stdio", "command": "python3",
                                       "args": ["${PLUGIN_ROOT}/" + SERVER, *COMPACT]}}}


def claude_mcp(m: dict) -> dict:
    env = {var: f"${{user_config.{key}}}" for var, key in USER_CONFIG_ENV.items()}
    return {"mcpServers": {m["name"]: {"command": "python3", "args": [CLAUDE_ROOT_VAR + "/" + SERVER], "env": env}}}


def gemini_extension(m: dict) -> dict:
    return {
        "name": m["name"],
        "version": m["version"],
        "description": m["description"],
        "mcpServers": {m["name"]: {"command": "python3",
                                   "args": ["${extensionPath}${/}scripts${/}mcp_server.py", *COMPACT]}},
        # Gemini passes only these (and a few safe variables) to the server; the token goes to the keychain.
        "settings": [
            {"name": "Devin service-user token", "description": "The cog_ token of a Devin service user",
             "envVar": "DEVIN_SERVICE_USER_TOKEN", "sensitive": True},
            {"name": "Devin organization id", "description": "org-...: every call is confined to it",
             "envVar": "DEVIN_ORG_ID"},
        ],
    }


# -- commands/*.md -> commands/devin/*.toml ------------------------------------------------------

_FRONT = re.compile(r"\A---\n(.*?)\n---\n", re.S)
_BANG = re.compile(r"(?:^|(?<=\s))!`([^`\n]+)`", re.M)


def _frontmatter(text: str, path: Path) -> tuple[dict, str]:
    m = _FRONT.match(text)
    if not m:
        raise SystemExit(f"{path}: no frontmatter block")
    fields = {}
    for line in m.group(1).splitlines():
        key, sep, value = line.partition(":")
        if sep and not line.startswith((" ", "\t")):
            value = value.strip()
            if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
                value = value[1:-1]
            fields[key.strip()] = value
    return fields, text[m.end():]


def _toml_string(text: str) -> str:
    """A TOML multi-line basic string holding exactly `text`."""
    body = text.replace("\\", "\\\\").replace('"""', '""\\"')
    body = "".join(c if c in "\n\t" or ord(c) >= 0x20 and ord(c) != 0x7f else f"\\u{ord(c):04x}" for c in body)
    return '"""\n' + body + '"""'


def gemini_prompt(body: str, name: str) -> str:
    text = body.replace(CLAUDE_ROOT_VAR, GEMINI_ROOT).replace("$ARGUMENTS", "{{args}}")
    text = _BANG.sub(lambda m: "!{" + m.group(1) + "}", text)
    head = (f"(The devin extension lives in {GEMINI_ROOT}. Its MCP tools devin_read, devin_change and "
            "devin_confirmed take an operation named like the scripts below (create_session, get_session, "
            "list_sessions, ...) and its arguments (devin_describe shows them), and apply the same checks; use "
            "them when they are available.)\n\n")
    return head + text


def gemini_command(md: Path) -> str:
    fields, body = _frontmatter(md.read_text(encoding="utf-8"), md)
    desc = fields.get("description", "").replace("\\", "\\\\").replace('"', '\\"')
    return (f"# Generated from commands/{md.name} by tools/gen_host_files.py; do not edit.\n"
            f"# Gemini CLI reads it as /devin:{md.stem}.\n"
            f'description = "{desc}"\n'
            f"prompt = {_toml_string(gemini_prompt(body, md.stem))}\n")


def outputs() -> dict[str, str]:
    m = meta()
    files = {
        "plugin.json": dump(agent_plugin_manifest(m)),
        "mcp.json": dump(agent_plugin_mcp(m)),
        ".mcp.json": dump(claude_mcp(m)),
        "gemini-extension.json": dump(gemini_extension(m)),
    }
    for md in sorted(COMMANDS.glob("*.md")):
        files[f"commands/devin/{md.stem}.toml"] = gemini_command(md)
    return files


def stale_tomls(files: dict[str, str]) -> list[str]:
    if not GEMINI_COMMANDS.is_dir():
        return []
    return [f"commands/devin/{p.name}" for p in sorted(GEMINI_COMMANDS.glob("*.toml"))
            if f"commands/devin/{p.name}" not in files]


def drift() -> list[str]:
    files = outputs()
    bad = [rel for rel, text in files.items()
           if not (ROOT / rel).is_file() or (ROOT / rel).read_text(encoding="utf-8") != text]
    return bad + stale_tomls(files)


def main(argv) -> int:
    if argv[1:] == ["--check"]:
        bad = drift()
        for rel in bad:
            print(f"gen_host_files: {rel} is out of date; run python3 tools/gen_host_files.py", file=sys.stderr)
        return 1 if bad else 0
    if argv[1:]:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    files = outputs()
    for rel in stale_tomls(files):
        (ROOT / rel).unlink()
    for rel, text in files.items():
        path = ROOT / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            tmp = path.with_name(path.name + ".tmp")
            tmp.write_text(text, encoding="utf-8")
            os.replace(tmp, path)
            print(f"wrote {rel}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
