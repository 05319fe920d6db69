"""scripts/setup_env.py: the plugin's own environment, outside the plugin folder."""

from __future__ import annotations

import json
import subprocess
import sys

from conftest import ROOT, SCRIPTS, setup_env_module, stand_in_plugin_venv


def run_setup(env, *args):
    return subprocess.run(["/usr/bin/python3" if (ROOT / ".venv").exists() else sys.executable,
                           str(SCRIPTS / "setup_env.py"), *args], capture_output=True, text=True, env=env)


def test_check_reports_a_missing_environment_without_installing(dirs):
    env = {"PATH": "/usr/bin:/bin", "HOME": str(dirs["home"]), "XDG_DATA_HOME": str(dirs["data"])}
    p = run_setup(env, "--check", "--json")
    assert p.returncode == 3
    doc = json.loads(p.stdout)
    assert doc["state"] == "missing" and doc["environment"] == str(dirs["data"] / "devin-plugin" / "venv")
    assert not (dirs["data"] / "devin-plugin").exists()


def test_a_matching_environment_is_left_alone_and_a_stale_one_is_not(dirs, tmp_path):
    mod = setup_env_module()
    target = stand_in_plugin_venv(tmp_path / "venv", stamped=False)
    env = {"PATH": "/usr/bin:/bin", "HOME": str(dirs["home"]), "DEVIN_PLUGIN_VENV": str(target)}

    def state():
        p = subprocess.run([sys.executable, str(SCRIPTS / "setup_env.py"), "--check", "--json"],
                           capture_output=True, text=True, env=env)
        return p.returncode, json.loads(p.stdout)["state"]

    (target / mod.STAMP_NAME).write_text("stale\n")
    assert state() == (3, "missing")
    (target / mod.STAMP_NAME).write_text(mod.wanted_stamp() + "\n")
    assert state() == (0, "ready")


def test_setup_env_with_mcp_accepts_only_an_environment_with_the_extra(dirs, tmp_path):
    from conftest import setup_env_module, stand_in_plugin_venv
    mod = setup_env_module()
    target = stand_in_plugin_venv(tmp_path / "venv", stamped=False)
    env = {"PATH": "/usr/bin:/bin", "HOME": str(dirs["home"]), "DEVIN_PLUGIN_VENV": str(target)}

    def state(*extra):
        p = subprocess.run([sys.executable, str(SCRIPTS / "setup_env.py"), "--check", "--json", *extra],
                           capture_output=True, text=True, env=env, timeout=60)
        return p.returncode, json.loads(p.stdout)["state"]

    (target / mod.STAMP_NAME).write_text(mod.wanted_stamp() + "\n")
    assert state() == (0, "ready") and state("--with-mcp") == (3, "missing")
    (target / mod.STAMP_NAME).write_text(mod.wanted_stamp(mod.REQUIREMENTS_MCP) + "\n")
    assert state("--with-mcp") == (0, "ready") and state() == (0, "ready")
