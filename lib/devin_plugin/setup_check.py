"""The setup check of check_setup.py, /devin:setup and the MCP tool check_setup: configuration, token,
organization, permissions, and what protects the token (Claude Code's sandbox settings).

Read-only: GET requests only, and none in a dry run. `run()` returns the document and the exit code;
the callers print it. The token's organization comes from GET /self, which has no org in its path: so
the check runs without DEVIN_ORG_ID, names the organization the token belongs to, and says which
setting to change (`doc["set"]`, `doc["summary"]`).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

from . import audit, config, formatting, routes, sandbox
from .errors import AuthError, ConfigError, DevinError, NotFound

if TYPE_CHECKING:
    from .http import Client, Transport

PROBES = [  # (what, template, params, needed for basic use)
    ("read sessions (ViewOrgSessions)", routes.SESSIONS, {"first": 1}, True),
    ("read playbooks (ManageAccountPlaybooks)", routes.PLAYBOOKS, {"first": 1}, False),
    ("read knowledge (ManageAccountKnowledge)", routes.NOTES, {"first": 1}, False),
    ("secret metadata (ManageOrgSecrets)", routes.SECRETS, {"first": 1}, False),
]
WHERE_TO_SET = ("in your shell profile, or in Claude Code the plugin's devin_org_id option when DEVIN_ORG_ID is not "
                "in the environment; then restart the agent and run the check again")
Add = Callable[[str, "bool | None", str], None]


class _Report:
    """The checks so far, and the one setting the user should change, if the check found it."""

    def __init__(self) -> None:
        self.checks: list[dict[str, Any]] = []
        self.fix: dict[str, str] = {}

    def add(self, name: str, ok: bool | None, detail: str) -> None:
        self.checks.append({"check": name, "ok": ok, "detail": detail})

    def details(self) -> list[str]:
        return [c["detail"] for c in self.checks]


def run(env: Mapping[str, str], *, dry_run: bool = False, transport: Transport | None = None) -> tuple[dict, int]:
    report = _Report()
    add = report.add
    exit_code = 0
    add("python", sys.version_info >= (3, 10), f"{sys.version.split()[0]} at {sys.executable}")
    try:
        add("DEVIN_API_BASE", True, config.parse_base_url(env.get("DEVIN_API_BASE") or config.DEFAULT_BASE).origin)
    except ConfigError as err:
        add("DEVIN_API_BASE", False, err.message)
        exit_code = 3
    try:
        token = config.read_token(env)
        add("token", True, f"a cog_ token from {config.token_source(env)} ({len(token)} characters)")
    except ConfigError as err:
        add("token", False, err.message)
        exit_code = 3
    org = (env.get("DEVIN_ORG_ID") or "").strip()
    org_problem = config.org_id_problem(org)
    add("DEVIN_ORG_ID", False if org_problem else True, org_problem or org)
    if org_problem:
        exit_code = 3
    settings = None
    try:
        # Without the org: GET /self needs none, and it is what names the org when DEVIN_ORG_ID is missing.
        settings = config.load(env, need_org=False)
        add("DEVIN_API_VERSION", True, settings.api_version)
    except ConfigError as err:
        if err.message not in report.details():
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
    elif settings is not None and (exit_code == 0 or org_problem and _only_org_failed(report)):
        exit_code = _probe(settings, org_problem is None, transport, report)
    ready = exit_code == 0 and not dry_run
    doc: dict[str, Any] = {"ready": ready, "checks": report.checks}
    if report.fix:
        doc["set"] = dict(report.fix)
    doc["summary"] = _summary(ready, dry_run, report.fix)
    if merge is not None:
        doc["sandbox_settings_to_merge"] = merge
    return doc, exit_code


def _only_org_failed(report: _Report) -> bool:
    """A missing or malformed DEVIN_ORG_ID is the one failure GET /self can still help with."""
    return [c["check"] for c in report.checks if c["ok"] is False] == ["DEVIN_ORG_ID"]


def _summary(ready: bool, dry_run: bool, fix: Mapping[str, str]) -> str:
    if ready:
        return "Ready."
    if fix:
        settings = ", ".join(f"{k}={v}" for k, v in fix.items())
        return f"Not ready: set {settings} ({WHERE_TO_SET})."
    if dry_run:
        return "Dry run: nothing was sent, so the token, organization and permissions were not checked."
    return "Not ready: fix the checks marked MISSING (false)."


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


class _Who(NamedTuple):
    """What GET /self said about the token."""
    code: int | None  # an exit code when the check ends here
    org: str | None   # the token's own org id; None for an enterprise-level token (or when unknown)
    known: bool       # False when GET /self was refused (403): the token's organization is unknown


def _probe(settings: config.Settings, org_ok: bool, transport: Transport | None, report: _Report) -> int:
    """GET /self, then (with a usable org) one read per permission. Returns the exit code."""
    from .http import Client
    client = Client(settings, deadline_s=60, transport=transport)
    who = _whoami(client, report)
    if who.code is not None:
        return who.code
    code = _check_org(settings.org_id if org_ok else None, who, report)
    if code is not None:
        return code
    return _permissions(client, settings.org_id, who, report)


def _whoami(client: Client, report: _Report) -> _Who:
    try:
        me = client.call("GET", routes.SELF, action="check_setup").data
    except AuthError as err:
        if err.http_status != 403:
            report.add("token accepted", False, err.message)
            return _Who(4, None, False)
        report.add("token accepted", None, "GET /self was refused (403; it needs ReadAccountMeta, which every "
                                           "service user has by default), so the token's organization is unknown")
        return _Who(None, None, False)
    except DevinError as err:
        report.add("API reachable", False, err.message)
        return _Who(err.exit_code, None, False)
    if not isinstance(me, dict):
        report.add("API reachable", False, "GET /self answered without a JSON object")
        return _Who(8, None, False)
    name = me.get("service_user_name") or me.get("user_name") or "?"
    report.add("token accepted", True,
               f"{formatting.word(me.get('principal_type', 'principal'))} {formatting.word(name, 80)}")
    own = me.get("org_id")
    if own is not None and not (isinstance(own, str) and config.ORG_ID_PATTERN.fullmatch(own)):
        # Shown nowhere: an id of an unexpected form could carry text meant to be read as instructions.
        report.add("organization", False, "GET /self named the token's organization with an id of an unexpected "
                                          "form (not shown); the API's answer cannot be trusted for this check")
        return _Who(8, None, True)
    return _Who(None, own, True)


def _check_org(configured: str | None, who: _Who, report: _Report) -> int | None:
    """Compare DEVIN_ORG_ID (None: missing or malformed) with the token's org; an exit code when they
    cannot work together, None to go on with the permission probes."""
    own = who.org
    if not who.known:
        if configured is None:
            report.add("organization", False, "DEVIN_ORG_ID must be set (org-...), and GET /self could not say "
                                              "which organization the token belongs to")
            return 3
        return None
    if own is not None:
        if configured is None:
            report.fix["DEVIN_ORG_ID"] = own
            report.add("organization", False, f"the token belongs to the organization {own}: set DEVIN_ORG_ID={own}")
            return 3
        if own != configured:
            report.fix["DEVIN_ORG_ID"] = own
            report.add("organization", False,
                       f"wrong organization id: the token belongs to {own}, but DEVIN_ORG_ID says {configured}; "
                       f"set DEVIN_ORG_ID={own} (or use a token of {configured})")
            return 3
        report.add("organization", True, f"{own} (the token's own organization)")
        return None
    if configured is None:
        report.add("organization", False, "the token is an enterprise-level service user, not tied to one "
                                          "organization: set DEVIN_ORG_ID to the id (org-...) of the organization "
                                          "to work in")
        return 3
    return None  # an enterprise-level token: the first probe tells whether that organization exists


def _permissions(client: Client, org: str, who: _Who, report: _Report) -> int:
    code = 0
    for what, template, params, needed in PROBES:
        try:
            client.call("GET", template, params=params, action="check_setup")
            if template == routes.SESSIONS and who.known and who.org is None:
                report.add("organization", True, f"{org} (enterprise-level token)")
            report.add(what, True, "granted")
        except NotFound as err:
            if template == routes.SESSIONS:  # the first probe: the organization itself is not there
                report.add("organization", False, f"the organization {org} was not found (GET {template} answered "
                                                  "404): check DEVIN_ORG_ID")
                return 3
            report.add(what, None, f"could not check: {err.message}")
        except AuthError as err:
            hint = ("" if who.org is not None else
                    f"; or {org} is not an organization this token may use (GET /self did not confirm it)")
            report.add(what, False if needed else None,
                       ("missing: " if needed else "not granted (optional): ") + err.message + hint)
            code = 4 if needed else code
        except DevinError as err:
            report.add(what, None, f"could not check: {err.message}")
    report.add("create, message, terminate (ManageOrgSessions)", None,
               "cannot be checked without a write; a missing permission shows on the first create")
    return code


def as_text(doc: dict) -> str:
    mark = {True: "ok  ", False: "MISSING", None: "--  "}
    lines = [f"[{mark[c['ok']]}] {c['check']}: {c['detail']}" for c in doc["checks"]]
    lines.append(doc.get("summary") or ("Ready." if doc["ready"] else "Not ready: fix the lines marked MISSING."))
    if "sandbox_settings_to_merge" in doc:
        lines.append("To keep the token out of the agent's commands, merge these settings into "
                     "~/.claude/settings.json (lists joined with yours), then restart Claude Code:")
        lines.append(json.dumps(doc["sandbox_settings_to_merge"], indent=2))
    return "\n".join(lines)
