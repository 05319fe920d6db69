#!/usr/bin/env python3
"""Create or repair the plugin's own Python environment, outside the plugin folder (stdlib only).

The environment lives at ${DEVIN_PLUGIN_VENV:-${XDG_DATA_HOME:-~/.local/share}/devin-plugin/venv} and is
installed from the plugin's hash-pinned requirements.txt (pip --require-hashes). Running it again is
cheap: a stamp records what was installed, and nothing is done while it still matches.

--with-mcp installs requirements-mcp.txt instead: the same pins plus the optional MCP server extra
(the `mcp` SDK) that scripts/mcp_server.py needs. An environment with the extra also serves the scripts.
"""

import argparse
import hashlib
import json
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "lib"))
from devin_plugin.boot import venv_candidates  # noqa: E402  (stdlib only)

REQUIREMENTS = ROOT / "requirements.txt"
REQUIREMENTS_MCP = ROOT / "requirements-mcp.txt"
STAMP_NAME = ".devin-plugin-stamp"


def wanted_stamp(requirements: Path = REQUIREMENTS) -> str:
    digest = hashlib.sha256(requirements.read_bytes()).hexdigest()
    return f"{digest} python{sys.version_info[0]}.{sys.version_info[1]}"


def healthy(target: Path, with_mcp: bool = False) -> bool:
    python = target / "bin" / "python"
    if not python.is_file():
        return False
    try:
        stamp = (target / STAMP_NAME).read_text().strip()
    except OSError:
        return False
    # The MCP set is a superset of the base set: it serves a plain check too.
    accepted = {wanted_stamp(REQUIREMENTS_MCP)} if with_mcp else {wanted_stamp(), wanted_stamp(REQUIREMENTS_MCP)}
    if stamp not in accepted:
        return False
    modules = "requests, jsonschema, yaml" + (", mcp" if stamp == wanted_stamp(REQUIREMENTS_MCP) else "")
    probe = subprocess.run([str(python), "-c", "import " + modules], capture_output=True)
    return probe.returncode == 0


def install(target: Path, say, requirements: Path = REQUIREMENTS) -> None:
    say(f"creating the environment at {target}")
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        venv.EnvBuilder(clear=True, with_pip=True, symlinks=True).create(str(target))
    except Exception as exc:  # ensurepip missing is the usual cause on Debian
        raise SystemExit(f"devin: config: cannot create a virtual environment ({type(exc).__name__}); on Debian "
                         "or Ubuntu run: sudo apt-get install python3-venv")
    say("installing the pinned, hash-checked requirements")
    proc = subprocess.run([str(target / "bin" / "python"), "-m", "pip", "install", "--disable-pip-version-check",
                           "--no-input", "--require-hashes", "-r", str(requirements)], capture_output=True, text=True)
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        raise SystemExit("devin: config: installing the requirements failed: " + " | ".join(tail))
    (target / STAMP_NAME).write_text(wanted_stamp(requirements) + "\n")


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        doc = {"error": {"kind": "invalid_input", "message": f"{message} (see setup_env.py --help)",
                         "http_status": None}}
        if "--json" in sys.argv[1:]:
            print(json.dumps(doc, indent=2))
        print(f"devin: invalid_input: {doc['error']['message']}", file=sys.stderr)
        sys.exit(2)


def main() -> int:
    ap = _Parser(prog="setup_env.py", description=__doc__)
    ap.add_argument("--check", action="store_true", help="only report whether the environment is ready")
    ap.add_argument("--dry-run", action="store_true", help="say what would be done; change nothing")
    ap.add_argument("--json", action="store_true", help="print one JSON document on standard output")
    ap.add_argument("--with-mcp", action="store_true",
                    help="also install the optional MCP server extra (requirements-mcp.txt)")
    args = ap.parse_args()
    args.check = args.check or args.dry_run
    if sys.version_info < (3, 10):
        raise SystemExit("devin: config: Python 3.10 or newer is needed; this is " + sys.version.split()[0])
    target = venv_candidates()[0]
    steps = []

    def say(msg):
        steps.append(msg)
        if not args.json:
            print(f"devin setup: {msg}", file=sys.stderr)

    requirements = REQUIREMENTS_MCP if args.with_mcp else REQUIREMENTS
    if healthy(target, args.with_mcp):
        state = "ready"
    elif args.check:
        state = "missing"
    else:
        install(target, say, requirements)
        state = "installed" if healthy(target, args.with_mcp) else "broken"
    doc = {"environment": str(target), "state": state, "python": sys.version.split()[0], "steps": steps,
           "mcp_extra": args.with_mcp}
    if args.json:
        print(json.dumps(doc, indent=2))
    else:
        words = {"ready": "is ready", "installed": "was installed and is ready", "missing": "is not installed",
                 "broken": "was installed but does not import its packages"}
        print(f"Plugin environment {target} {words[state]}.")
    return 0 if state in ("ready", "installed") else 3


if __name__ == "__main__":
    sys.exit(main())
