"""Shared fixtures: a fresh emulator per test, and a runner for the real scripts over loopback.

Scripts run as separate processes with an isolated HOME and XDG directories and only the
environment we give them, exactly as an agent would run them.

The tests are grouped by what they test: core/ (the library in process: policy, ids, config,
redaction, output, the guarded HTTP helper, dedup), scripts/ (every script, as a process or in
process), mcp/ (the MCP server), hook/ (the guard's rules), emulator/, plugin/ (static checks,
validators, manifests, the hook as the plugin wires it), client/ (the real Claude Code client and
the stand-in model) and system/ (chaos, cross-machine and property runs). Where a test came from is
a marker (`audit("H3")`, `mutation`; see pyproject.toml). The folders are not packages (no
__init__.py): test file names must be unique across them. This file puts tests/ and lib/ on
sys.path, so `from conftest import ...`, `import plugin_helpers` and `import emulator_fixtures`
work from every folder.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LIB = ROOT / "lib"
SCRIPTS = ROOT / "scripts"
if str(LIB) not in sys.path:
    sys.path.insert(0, str(LIB))
if str(Path(__file__).resolve().parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).resolve().parent))

PYTHON = sys.executable


@dataclass
class Result:
    rc: int
    out: str
    err: str

    @property
    def json(self):
        return json.loads(self.out)

    @property
    def all(self) -> str:
        return self.out + self.err


@pytest.fixture
def emu():
    from devin_emulator import Emulator, ManualClock
    e = Emulator(clock=ManualClock(float(int(time.time()))))
    e.start()
    try:
        yield e
    finally:
        e.stop()


@pytest.fixture
def dirs(tmp_path):
    d = {name: tmp_path / name for name in ("home", "state", "config", "data", "work")}
    for p in d.values():
        p.mkdir()
    return d


def base_env(dirs, emu=None) -> dict:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        "HOME": str(dirs["home"]),
        "XDG_STATE_HOME": str(dirs["state"]),
        "XDG_CONFIG_HOME": str(dirs["config"]),
        "XDG_DATA_HOME": str(dirs["data"]),
        "PYTHONDONTWRITEBYTECODE": "1",
        "DEVIN_DEDUP_SETTLE_SECONDS": "0.2",
    }
    if emu is not None:
        env.update({"DEVIN_API_BASE": emu.url, "DEVIN_SERVICE_USER_TOKEN": emu.token,
                    "DEVIN_ORG_ID": emu.org_id})
    return env


def run_script(name, *args, env: dict, input=None, cwd=None, timeout=90) -> Result:
    if isinstance(input, str):
        input = input.encode("utf-8")
    proc = subprocess.run([PYTHON, str(SCRIPTS / name), *map(str, args)], input=input,
                          capture_output=True, env=env, cwd=cwd, timeout=timeout)
    return Result(proc.returncode, proc.stdout.decode("utf-8", "replace"), proc.stderr.decode("utf-8", "replace"))


@pytest.fixture
def run(emu, dirs):
    """run("get_session.py", sid, "--json", env={...overrides; None removes}, input=...) as a process."""
    def _run(name, *args, env=None, input=None, timeout=90):
        return run_script(name, *args, env=env_with(dirs, emu, env), input=input, cwd=dirs["work"], timeout=timeout)
    return _run


@pytest.fixture
def ip(emu, dirs):
    """ip("get_session.py", sid, "--json", env={...; None removes}, input=...) in this process (cli.run)."""
    sys.path.insert(0, str(ROOT / "tools"))
    from chaos import run_inprocess

    def _run(name, *args, env=None, input=None):
        return run_inprocess(name, *args, env=env_with(dirs, emu, env), input=input, cwd=dirs["work"])
    return _run


def env_with(dirs, emu, overrides) -> dict:
    """base_env with overrides (a value of None removes the variable)."""
    e = base_env(dirs, emu)
    for k, v in (overrides or {}).items():
        if v is None:
            e.pop(k, None)
        else:
            e[k] = v
    return e


def wire(emu):
    """What reached the API (the emulator's journal without its control calls)."""
    return [e for e in emu.journal if not e.path.startswith("/_emulator")]


@pytest.fixture
def audit_lines(dirs):
    def _read():
        path = dirs["state"] / "devin-plugin" / "audit.jsonl"
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text().splitlines()]
    return _read


def sent(emu, method=None, route_part=None):
    """The journal entries the emulator received, optionally filtered."""
    out = []
    for e in emu.journal:
        if e.path.startswith("/_emulator"):
            continue
        if method and e.method != method:
            continue
        if route_part and route_part not in e.path:
            continue
        out.append(e)
    return out


def setup_env_module():
    """scripts/setup_env.py loaded as a module (for its STAMP_NAME and wanted_stamp)."""
    import importlib.util
    spec = importlib.util.spec_from_file_location("setup_env_under_test", SCRIPTS / "setup_env.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def stand_in_plugin_venv(dest: Path, *, stamped: bool = True) -> Path:
    """A plugin environment without any install (no network): a bare venv that sees the dev
    environment's packages, stamped (by default) so that setup_env.py reports it ready."""
    import site
    import venv
    venv.EnvBuilder(with_pip=False, symlinks=True).create(str(dest))
    (site_dir,) = dest.glob("lib/python3*/site-packages")
    (site_dir / "dev.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    if stamped:
        mod = setup_env_module()
        (dest / mod.STAMP_NAME).write_text(mod.wanted_stamp() + "\n")
    return dest


@pytest.fixture(scope="session")
def plugin_venv(tmp_path_factory) -> Path:
    """A ready plugin environment for the real-client tests, whose /devin:setup and scripts need one."""
    return stand_in_plugin_venv(tmp_path_factory.mktemp("plugin-venv") / "venv")
