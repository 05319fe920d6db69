"""The setup check of check_setup.py, /devin:setup and the MCP tool check_setup: configuration, token,
organization, permissions, and what protects the token (Claude Code's sandbox settings).

Read-only: GET requests only, and none in a dry run. `run()` returns the document and the exit code;
the callers print it.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from . import audit, config, formatting, routes, sandbox
from .errors import AuthError, ConfigError, DevinError

if TYPE_CHECKING:
    from .http import Transport

PROBES = [  # (what, template, params, needed for basic use)
    ("read sessions (ViewOrgSessions)", routes.SESSIONS, {"first": 1}, True),
    ("read playbooks (ViewOrgPlaybooks)", routes.PLAYBOOKS, {"first": 1}, False),
    ("read knowledge (ViewOrgKnowledge)", routes.NOTES, {"first": 1}, False),
    ("secret metadata (ManageOrgSecrets)", routes.SECRETS, {"first": 1}, False),
]
Add = Callable[[str, "bool | None", str], None]


def run(env: Mapping[str, str], *, dry_run: bool = False, transport: Transport | None = None) -> tuple[dict, int]:
    checks: list[dict[str, Any]] = []
    exit_code = 0

    def add(name: str, ok: bool | None, detail: str) -> None:
        checks.append({"check": name, "ok": ok, "detail": detail})

    add("python", sys.version_info >= (3, 10), f"{sys.version.split()[0]} at {sys.executable}")
    settings = None
    try:
        add("DEVIN_API_BASE", True, config.parse_base_url(env.get("DEVIN_API_BASE") or config.DEFAULT_BASE).origin)
    except ConfigError as err:
        add("DEVIN_API_BASE", False, err.message)
        exit_code = 3
    try:
        token = config.read_token(env)
        source = config.token_source(env)
        add("token", True, f"a cog_ token from {source} ({len(token)} characters)")
    except ConfigError as err:
        add("token", False, err.message)
        exit_code = 3
    try:
        settings = config.load(env)
        add("DEVIN_ORG_ID", True, settings.org_id)
        add("DEVIN_API_VERSION", True, settings.api_version)
    except ConfigError as err:
        if err.message not in [c["detail"] for c in checks]:
            add("configuration", False, err.message)
        exit_code = 3
    if settings is not None:
        try:
            audit.ensure_private_dir(settings.state_dir)
            add("audit log", True, str(settings.state_dir / "audit.jsonl"))
        except OSError as exc:
            add("audit log", False, f"cannot create {settings.state_dir} ({exc.strerror})")
    merge = _protection(env, add)
    if dry_run:
        add("API", None, "dry run: no request sent")
    elif settings is not None and exit_code == 0:
        exit_code = _probe(settings, transport, add)
    ready = exit_code == 0 and not dry_run
    doc: dict[str, Any] = {"ready": ready, "checks": checks}
    if merge is not None:
        doc["sandbox_settings_to_merge"] = merge
    return doc, exit_code


def _protection(env: Mapping[str, str], add: Add) -> dict[str, Any] | None:
    """Whether Claude Code's sandbox keeps the token out of the agent's commands, and what is missing;
    returns the settings to merge when something is."""
    files = sandbox.settings_files(env)
    doc = sandbox.read_settings(files)
    missing = sandbox.missing_settings(doc)
    stale = sandbox.stale_entries(doc)
    if stale:
        add("stale sandbox entries", None, f"{len(stale)} excludedCommands entries name this plugin's scripts "
                                           f"in another folder (an earlier version?), e.g. {stale[0]!r}: remove them")
    token_file = env.get("DEVIN_TOKEN_FILE")
    if token_file and not env.get("DEVIN_SERVICE_USER_TOKEN") and \
            os.path.realpath(os.path.expanduser(token_file)) != os.path.realpath(config.default_token_file(env)):
        missing.append(f"DEVIN_TOKEN_FILE names {token_file}, which the sandbox settings do not hide: move the token "
                       f"to {sandbox.TOKEN_FILE} (and unset DEVIN_TOKEN_FILE) or add a deny entry for that file")
    if not missing:
        add("sandbox settings", True, f"in place in {files[0]}: the agent's commands cannot read the token; only "
                                      "the plugin's scripts, called exactly, run outside the sandbox")
        return None
    add("sandbox settings", None, f"not in place in {files[0]}; missing: " + "; ".join(missing))
    add("protection", None,
        "until they are, the agent's own commands can read the token (the guard hook blocks the common ways, "
        "but a hook over shell text is not a boundary); other hosts than Claude Code (Gemini CLI, a plain "
        "shell) are not covered by them at all. What holds everywhere: the scripts send the token only to "
        "the configured Devin API host, confine calls to DEVIN_ORG_ID, refuse forbidden fields and never "
        "print the token")
    return sandbox.recommended_settings()


def _probe(settings: config.Settings, transport: Transport | None, add: Add) -> int:
    from .http import Client
    client = Client(settings, deadline_s=60, transport=transport)
    try:
        me = client.call("GET", routes.SELF, action="check_setup").data or {}
    except AuthError as err:
        add("token accepted", False, err.message)
        return 4
    except DevinError as err:
        add("API reachable", False, err.message)
        return err.exit_code
    name = me.get("service_user_name") or me.get("user_name") or "?"
    add("token accepted", True, f"{formatting.word(me.get('principal_type', 'principal'))} {formatting.word(name, 80)}")
    own_org = me.get("org_id")
    if own_org is not None and own_org != settings.org_id:
        add("organization", False, f"the token belongs to {formatting.word(own_org)}, but DEVIN_ORG_ID is "
                                   f"{settings.org_id}")
        return 3
    add("organization", True, settings.org_id + (" (enterprise-level token)" if own_org is None else ""))
    code = 0
    for what, template, params, needed in PROBES:
        try:
            client.call("GET", template, params=params, action="check_setup")
            add(what, True, "granted")
        except AuthError as err:
            add(what, False if needed else None, ("missing: " if needed else "not granted (optional): ") + err.message)
            code = 4 if needed else code
        except DevinError as err:
            add(what, None, f"could not check: {err.message}")
    add("create, message, terminate (ManageOrgSessions)", None,
        "cannot be checked without a write; a missing permission shows on the first create")
    return code


def as_text(doc: dict) -> str:
    mark = {True: "ok  ", False: "MISSING", None: "--  "}
    lines = [f"[{mark[c['ok']]}] {c['check']}: {c['detail']}" for c in doc["checks"]]
    lines.append("Ready." if doc["ready"] else "Not ready: fix the lines marked MISSING above.")
    if "sandbox_settings_to_merge" in doc:
        lines.append("To keep the token out of the agent's commands, merge these settings into "
                     "~/.claude/settings.json (lists joined with yours), then restart Claude Code:")
        lines.append(json.dumps(doc["sandbox_settings_to_merge"], indent=2))
    return "\n".join(lines)
