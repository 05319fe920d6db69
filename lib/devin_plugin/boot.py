"""Find the plugin's dependencies before anything imports them (stdlib only, runs first)."""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NEEDED = ("requests", "jsonschema", "yaml")


def venv_candidates(env: Mapping[str, str] | None = None) -> list[Path]:
    env = os.environ if env is None else env
    data = env.get("XDG_DATA_HOME") or os.path.join(env.get("HOME") or os.path.expanduser("~"), ".local", "share")
    out = []
    if env.get("DEVIN_PLUGIN_VENV"):
        out.append(Path(env["DEVIN_PLUGIN_VENV"]))
    out += [Path(data) / "devin-plugin" / "venv", ROOT / ".venv"]
    return out


def _is_own_venv() -> bool:
    """Running under one of the plugin's own environments (costs two stats, not three spec look-ups)."""
    here = os.path.realpath(sys.prefix)
    return any(os.path.realpath(v) == here and os.path.isfile(os.path.join(v, "pyvenv.cfg"))
               for v in venv_candidates())


def _have_deps() -> bool:
    return all(importlib.util.find_spec(name) is not None for name in NEEDED)


def ensure_environment(*, exit_if_missing: bool = True) -> bool:
    """Run under the plugin's own environment when there is one; otherwise say what to run (or, without
    `exit_if_missing`, answer False and let the caller decide)."""
    in_venv = sys.prefix != getattr(sys, "base_prefix", sys.prefix)
    if in_venv and _is_own_venv():
        return True  # set up by setup_env.py or dev.py from the pinned requirements: no need to probe
    if in_venv and _have_deps():
        return True
    if not os.environ.get("DEVIN_PLUGIN_REEXEC"):
        for venv in venv_candidates():
            python = venv / "bin" / "python"
            if python.is_file() and os.access(python, os.X_OK):
                os.environ["DEVIN_PLUGIN_REEXEC"] = "1"
                os.execv(str(python), [str(python), *sys.argv])
    if _have_deps():
        return True
    if not exit_if_missing:
        return False
    sys.stderr.write("devin: config: the plugin's Python dependencies are not installed; run /devin:setup "
                     f"(or: python3 {ROOT / 'scripts' / 'setup_env.py'})\n")
    sys.exit(3)
