#!/usr/bin/env python3
"""Check the plugin's configuration, token and permissions. Read-only: GET requests only.

Prints what is missing and how to fix it. Exit 0 when ready, 3 for configuration problems,
4 when the API refuses the token or it cannot read the org's sessions.
"""

import sys
from collections.abc import Callable

import _prelude  # noqa: F401
from devin_plugin import audit, cli, config, formatting, output, routes
from devin_plugin.errors import AuthError, ConfigError, DevinError

PROBES = [  # (what, template, params, needed for basic use)
    ("read sessions (ViewOrgSessions)", routes.SESSIONS, {"first": 1}, True),
    ("read playbooks (ViewOrgPlaybooks)", routes.PLAYBOOKS, {"first": 1}, False),
    ("read knowledge (ViewOrgKnowledge)", routes.NOTES, {"first": 1}, False),
    ("secret metadata (ManageOrgSecrets)", routes.SECRETS, {"first": 1}, False),
]


def build() -> cli.Parser:
    return cli.parser("check_setup.py", __doc__)


def main(inv: cli.Invocation) -> int:
    args, json_mode = inv.args, inv.json
    checks: list[dict] = []
    exit_code = 0

    def add(name: str, ok: bool | None, detail: str) -> None:
        checks.append({"check": name, "ok": ok, "detail": detail})

    add("python", sys.version_info >= (3, 10), f"{sys.version.split()[0]} at {sys.executable}")
    env = inv.env
    settings = None
    try:
        base = config.parse_base_url(env.get("DEVIN_API_BASE") or config.DEFAULT_BASE)
        add("DEVIN_API_BASE", True, base.origin)
    except ConfigError as err:
        add("DEVIN_API_BASE", False, err.message)
        exit_code = 3
    try:
        token = config.read_token(env)
        source = "DEVIN_SERVICE_USER_TOKEN" if env.get("DEVIN_SERVICE_USER_TOKEN") else "DEVIN_TOKEN_FILE"
        add("token", True, f"a cog_ token from {source} ({len(token)} characters)")
    except ConfigError as err:
        add("token", False, err.message)
        exit_code = 3
    try:
        settings = config.load(env)
        add("DEVIN_ORG_ID", True, settings.org_id)
        add("DEVIN_API_VERSION", True, settings.api_version)
    except ConfigError as err:
        if "DEVIN_ORG_ID" in err.message or "DEVIN_API_VERSION" in err.message:
            add("configuration", False, err.message)
        exit_code = 3
    if settings is not None:
        try:
            audit.ensure_private_dir(settings.state_dir)
            add("audit log", True, str(settings.state_dir / "audit.jsonl"))
        except OSError as exc:
            add("audit log", False, f"cannot create {settings.state_dir} ({exc.strerror})")
    if args.dry_run:
        add("API", None, "dry run: no request sent")
    elif settings is not None and exit_code == 0:
        exit_code = _probe(inv, settings, add)
    ready = exit_code == 0 and not args.dry_run
    doc = {"ready": ready, "checks": checks}
    if json_mode:
        output.emit_json(doc)
    else:
        mark = {True: "ok  ", False: "MISSING", None: "--  "}
        lines = [f"[{mark[c['ok']]}] {c['check']}: {c['detail']}" for c in checks]
        lines.append("Ready." if ready else "Not ready: fix the lines marked MISSING above.")
        output.emit_text("\n".join(lines))
    return exit_code


def _probe(inv: cli.Invocation, settings: config.Settings, add: Callable[[str, bool | None, str], None]) -> int:
    from devin_plugin.http import Client
    client = Client(settings, deadline_s=60, transport=inv.transport)
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


if __name__ == "__main__":
    sys.exit(cli.run(main, build))
