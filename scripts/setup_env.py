#!/usr/bin/env python3
"""Create or repair the plugin's own Python environment, outside the plugin folder (stdlib only).

The environment lives at ${DEVIN_PLUGIN_VENV:-${XDG_DATA_HOME:-~/.local/share}/devin-plugin/venv} and is
installed from the plugin's hash-pinned requirements.txt (pip --require-hashes). Running it again is
cheap: a stamp records what was installed, and nothing is done while it still matches.

--with-mcp installs requirements-mcp.txt instead: the same pins plus the optional MCP server extra
(the `mcp` SDK) that scripts/mcp_server.py needs. An environment with the extra also serves the scripts.
"""

import hashlib
from collections.abc import Callable
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "lib"))
from devin_plugin import cli, output  # noqa: E402  (stdlib only, like boot)
from devin_plugin.boot import venv_candidates  # noqa: E402
from devin_plugin.errors import ConfigError  # noqa: E402

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


def install(target: Path, say: Callable[[str], None], requirements: Path = REQUIREMENTS) -> None:
    say(f"creating the environment at {target}")
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        venv.EnvBuilder(clear=True, with_pip=True, symlinks=True).create(str(target))
    except Exception as exc:  # ensurepip missing is the usual cause on Debian
        raise ConfigError(f"cannot create a virtual environment ({type(exc).__name__}); on Debian "
                          "or Ubuntu run: sudo apt-get install python3-venv") from None
    say("installing the pinned, hash-checked requirements")
    proc = subprocess.run([str(target / "bin" / "python"), "-m", "pip", "install", "--disable-pip-version-check",
                           "--no-input", "--require-hashes", "-r", str(requirements)], capture_output=True, text=True)
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        raise ConfigError("installing the requirements failed: " + " | ".join(tail))
    (target / STAMP_NAME).write_text(wanted_stamp(requirements) + "\n")


def build() -> cli.Parser:
    p = cli.parser("setup_env.py", __doc__)
    p.add_argument("--check", action="store_true", help="only report whether the environment is ready")
    p.add_argument("--with-mcp", action="store_true",
                   help="also install the optional MCP server extra (requirements-mcp.txt)")
    return p


def main(inv: cli.Invocation) -> int:
    args, json_mode = inv.args, inv.json
    check = args.check or args.dry_run
    if sys.version_info < (3, 10):
        raise ConfigError("Python 3.10 or newer is needed; this is " + sys.version.split()[0])
    target = venv_candidates()[0]
    steps = []

    def say(msg: str) -> None:
        steps.append(msg)
        if not json_mode:
            output.note(f"devin setup: {msg}")

    requirements = REQUIREMENTS_MCP if args.with_mcp else REQUIREMENTS
    if healthy(target, args.with_mcp):
        state = "ready"
    elif check:
        state = "missing"
    else:
        install(target, say, requirements)
        state = "installed" if healthy(target, args.with_mcp) else "broken"
    doc = {"environment": str(target), "state": state, "python": sys.version.split()[0], "steps": steps,
           "mcp_extra": args.with_mcp}
    words = {"ready": "is ready", "installed": "was installed and is ready", "missing": "is not installed",
             "broken": "was installed but does not import its packages"}
    inv.emit(doc, lambda: f"Plugin environment {target} {words[state]}.")
    return 0 if state in ("ready", "installed") else 3


if __name__ == "__main__":
    sys.exit(cli.run(main, build))
