"""Claude Code's sandbox as the boundary for the token: the settings that make it so, and their check.

Under `recommended_settings(root)` (the README's sandbox section), every command the agent runs goes
through Claude Code's sandbox (bubblewrap on Linux), which cannot read the token file, Claude Code's
credentials file (where the plugin's token option is kept) or a token variable, cannot write the
user's configuration or policy, and cannot reach the network beyond what the user allows. The
plugin's own scripts are the only commands exempt from it (`sandbox.excludedCommands`), each pinned
to its exact path in this installation: Claude Code exempts a call only when every part of it
matches an entry, and keeps any call with a `cd`, a command substitution, a redirect (a heredoc
included) or a changed environment (`VAR=... python3 ...`) inside the sandbox, so a script pointed at
a listener by a changed environment cannot read the token (verified with Claude Code 2.1.330, see
tests/client/test_e2e_claude_sandbox.py).

Stdlib only; no I/O beyond reading the settings files named to it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .boot import ROOT
from .locations import CREDENTIALS_FILE, TOKEN_FILE

# The scripts the commands and the skill run (every script but the MCP server's launcher).
EXEMPT_SCRIPTS = ("archive_session", "check_setup", "create_session", "delegate_batch", "get_session", "inbox",
                  "knowledge", "list_attachments", "list_messages", "list_sessions", "pickup", "playbooks",
                  "secrets", "send_message", "setup_env", "terminate_session", "unarchive_session", "update_tags",
                  "upload_attachment", "usage", "wait_session")
# Folders no sandboxed command may write even when the project folder holds them (Claude Code started in
# the home folder): the token and the user's policy, the plugin's environment and state, Python's user
# site-packages (a .pth file there runs in every later Python, the plugin's scripts included), and
# Claude Code's own folder (where the installed plugin lives), and ~/.local/bin (often early on PATH, where
# a planted python3 would run in place of the interpreter of an exempt call).
DENY_WRITE = ("~/.config/devin", "~/.config/devin-plugin", "~/.local/share/devin-plugin",
              "~/.local/state/devin-plugin", "~/.local/lib", "~/.local/bin", "~/.claude")
DENY = ("Read(~/.config/devin/**)", "Edit(~/.config/devin/**)", "Edit(~/.config/devin-plugin/**)",
        f"Read({CREDENTIALS_FILE})", "Edit(~/.claude/settings.json)", "Edit(~/.claude/session-env/**)")


def exempt_commands(root: Path | str = ROOT) -> list[str]:
    """The `sandbox.excludedCommands` entries: each script at its exact path here, and `true` (the
    commands' `!` lines end in `|| true`, and a chain is exempt only when every part is)."""
    return [f"python3 {root}/scripts/{name}.py *" for name in EXEMPT_SCRIPTS] + ["true"]


def recommended_settings(root: Path | str = ROOT) -> dict[str, Any]:
    """Exactly the README's sandbox block, for the plugin installed at `root`."""
    return {
        "sandbox": {
            "enabled": True,
            "autoAllowBashIfSandboxed": True,
            "allowUnsandboxedCommands": False,
            "excludedCommands": exempt_commands(root),
            "filesystem": {"denyWrite": [*DENY_WRITE, *([] if _in_claude_dir(root) else [str(root)])]},
            "credentials": {
                "files": [{"path": TOKEN_FILE, "mode": "deny"}, {"path": CREDENTIALS_FILE, "mode": "deny"}],
                "envVars": [{"name": "DEVIN_SERVICE_USER_TOKEN", "mode": "deny"}],
            },
        },
        "permissions": {"deny": list(DENY)},
    }


def _in_claude_dir(root: Path | str) -> bool:
    """An installed plugin lives under ~/.claude (already in DENY_WRITE); a --plugin-dir checkout does not."""
    return "/.claude/" in str(root) + "/"


def _same_path(a: object, b: str) -> bool:
    return isinstance(a, str) and os.path.expanduser(a.rstrip("/")) == os.path.expanduser(b.rstrip("/"))


def _entries(doc: Mapping[str, Any], *keys: str) -> list[Any]:
    cur: Any = doc
    for key in keys:
        cur = cur.get(key) if isinstance(cur, Mapping) else None
    return list(cur) if isinstance(cur, list) else []


def settings_files(env: Mapping[str, str]) -> list[Path]:
    """The settings files whose sandbox settings count: the user's (CLAUDE_CONFIG_DIR or ~/.claude) and
    the machine's managed settings (a project's own settings cannot exempt commands)."""
    home = Path(env.get("HOME") or os.path.expanduser("~"))
    user_dir = Path(env["CLAUDE_CONFIG_DIR"]) if env.get("CLAUDE_CONFIG_DIR") else home / ".claude"
    return [user_dir / "settings.json", Path("/etc/claude-code/managed-settings.json")]


def read_settings(paths: list[Path]) -> dict[str, Any]:
    """The files merged as the checks need them: lists joined, other values from the later file."""
    merged: dict[str, Any] = {}

    def merge(into: dict[str, Any], doc: Mapping[str, Any]) -> None:
        for key, value in doc.items():
            if isinstance(value, Mapping):
                if not isinstance(into.get(key), dict):
                    into[key] = {}
                merge(into[key], value)
            elif isinstance(value, list) and isinstance(into.get(key), list):
                into[key] = into[key] + [v for v in value if v not in into[key]]
            else:
                into[key] = list(value) if isinstance(value, list) else value

    for path in paths:
        try:
            with open(path, encoding="utf-8") as fh:
                doc = json.load(fh)
        except (OSError, ValueError):
            continue
        if isinstance(doc, dict):
            merge(merged, doc)
    return merged


def missing_settings(doc: Mapping[str, Any], root: Path | str = ROOT) -> list[str]:
    """What `doc` (merged Claude Code settings) lacks of `recommended_settings(root)`, one item each in
    the words of the settings file; empty when everything is in place."""
    out: list[str] = []
    sb = doc.get("sandbox") if isinstance(doc.get("sandbox"), Mapping) else {}
    assert isinstance(sb, Mapping)
    if sb.get("enabled") is not True:
        out.append('"sandbox.enabled": true')
    if sb.get("allowUnsandboxedCommands") is not False:
        out.append('"sandbox.allowUnsandboxedCommands": false')
    excluded = set(_entries(sb, "excludedCommands"))
    lacking = [e for e in exempt_commands(root) if e not in excluded]
    if lacking:
        out.append(f'{len(lacking)} of the plugin\'s "sandbox.excludedCommands" entries for {root} '
                   f'(first: "{lacking[0]}")')
    deny_write = _entries(sb, "filesystem", "denyWrite")
    wanted = recommended_settings(root)["sandbox"]["filesystem"]["denyWrite"]
    lacking_w = [w for w in wanted if not any(_same_path(d, w) for d in deny_write)]
    if lacking_w:
        out.append(f'{", ".join(repr(w) for w in lacking_w)} in "sandbox.filesystem.denyWrite"')
    files = [f for f in _entries(sb, "credentials", "files") if isinstance(f, Mapping)]
    for path in (TOKEN_FILE, CREDENTIALS_FILE):
        if not any(_same_path(f.get("path"), path) and f.get("mode") == "deny" for f in files):
            out.append(f'{{"path": "{path}", "mode": "deny"}} in "sandbox.credentials.files"')
    env_vars = [v for v in _entries(sb, "credentials", "envVars") if isinstance(v, Mapping)]
    if not any(v.get("name") == "DEVIN_SERVICE_USER_TOKEN" and v.get("mode") == "deny" for v in env_vars):
        out.append('{"name": "DEVIN_SERVICE_USER_TOKEN", "mode": "deny"} in "sandbox.credentials.envVars"')
    deny = set(_entries(doc, "permissions", "deny"))
    out += [f'"{rule}" in "permissions.deny"' for rule in DENY if rule not in deny]
    return out


def stale_entries(doc: Mapping[str, Any], root: Path | str = ROOT) -> list[str]:
    """excludedCommands entries for this plugin's scripts at another path (an earlier version's folder):
    harmless, but worth removing after an update."""
    sb = doc.get("sandbox") if isinstance(doc.get("sandbox"), Mapping) else {}
    assert isinstance(sb, Mapping)
    mine = set(exempt_commands(root))
    tails = tuple(f"/scripts/{name}.py *" for name in EXEMPT_SCRIPTS)
    return [e for e in _entries(sb, "excludedCommands") if isinstance(e, str) and e.endswith(tails) and e not in mine]
