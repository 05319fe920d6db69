"""The plugin against the real validators: the pinned Claude Code client and agentskills.

Both tools are required: a missing one is a failure with the command that installs it, never a
skip. Each check is also shown to fail on a deliberately broken copy.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/, for plugin_helpers
import plugin_helpers as ph  # noqa: E402

SKILL_DIR = ph.SKILLS_DIR / "devin-delegation"


def _claude_or_fail() -> str:
    binary = ph.claude_bin()
    if not binary:
        pytest.fail(ph.missing_claude_message())
    return binary


def _validate(plugin: Path, home: Path) -> subprocess.CompletedProcess:
    _claude_or_fail()
    return ph.run_claude(["plugin", "validate", str(plugin), "--strict"], home)


@pytest.mark.claude
def test_pinned_client_version(tmp_path):
    _claude_or_fail()
    proc = ph.run_claude(["--version"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(ph.CLAUDE_VERSION), proc.stdout


@pytest.mark.claude
def test_claude_validate_strict_passes(tmp_path):
    proc = _validate(ph.REPO, tmp_path)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert "Validation passed" in out
    for name in ph.EXPECTED_COMMANDS:
        assert f"commands: devin:{name}\n" in out, f"/devin:{name} not loaded:\n{out}"
    assert "skills: devin:devin-delegation" in out
    assert "hooks: PreToolUse Bash" in out


@pytest.mark.claude
def test_claude_validate_fails_on_numeric_version(tmp_path):
    copy = ph.copy_plugin(tmp_path / "plugin")
    manifest = copy / ".claude-plugin" / "plugin.json"
    data = json.loads(manifest.read_text(encoding="utf-8"))
    data["version"] = 1
    manifest.write_text(json.dumps(data), encoding="utf-8")
    proc = _validate(copy, tmp_path / "home")
    assert proc.returncode == 1
    assert "expected string, received number" in proc.stdout + proc.stderr


@pytest.mark.claude
def test_claude_validate_fails_on_broken_command_frontmatter(tmp_path):
    copy = ph.copy_plugin(tmp_path / "plugin")
    status = copy / "commands" / "status.md"
    text = status.read_text(encoding="utf-8")
    status.write_text(text.replace("description: ", "description: [unclosed\n  - ", 1),
                      encoding="utf-8")
    proc = _validate(copy, tmp_path / "home")
    assert proc.returncode == 1
    assert "frontmatter" in (proc.stdout + proc.stderr).lower()


@pytest.mark.claude
def test_marketplace_add_and_install(tmp_path):
    """`claude plugin marketplace add <repo>` then `claude plugin install devin@<marketplace>`."""
    _claude_or_fail()
    copy = ph.copy_plugin(tmp_path / "repo")
    home = tmp_path / "home"
    home.mkdir()
    market = json.loads((ph.REPO / ".claude-plugin" / "marketplace.json").read_text())["name"]
    added = ph.run_claude(["plugin", "marketplace", "add", str(copy)], home)
    assert added.returncode == 0, added.stdout + added.stderr
    installed = ph.run_claude(["plugin", "install", f"devin@{market}"], home)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    listed = ph.run_claude(["plugin", "list"], home)
    assert f"devin@{market}" in listed.stdout
    version = json.loads((ph.REPO / ".claude-plugin" / "plugin.json").read_text())["version"]
    cached = list((home / ".claude" / "plugins" / "cache").glob(f"*/devin/{version}"))
    assert cached and (cached[0] / "hooks" / "guard_bash.py").is_file()


def _agentskills_or_fail() -> str:
    binary = ph.agentskills_bin()
    if not binary:
        pytest.fail("agentskills (PyPI skills-ref) is not installed next to this Python or on "
                    "PATH: run `python3 dev.py setup`")
    return binary


def test_agentskills_validate_passes():
    proc = subprocess.run([_agentskills_or_fail(), "validate", str(SKILL_DIR)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_agentskills_validate_fails_on_unknown_key(tmp_path):
    copy = tmp_path / SKILL_DIR.name
    shutil.copytree(SKILL_DIR, copy)
    skill = copy / "SKILL.md"
    skill.write_text(skill.read_text(encoding="utf-8").replace(
        "\nlicense: MIT\n", "\nlicense: MIT\nargument-hint: \"<task>\"\n", 1), encoding="utf-8")
    proc = subprocess.run([_agentskills_or_fail(), "validate", str(copy)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0
    assert "argument-hint" in proc.stdout + proc.stderr
