"""hooks/session_start.py: the plugin's token option reaches the scripts through ~/.config/devin/token only.

Run as Claude Code runs it (`python3 -I -S`, the event JSON on standard input, the options in
CLAUDE_PLUGIN_OPTION_*), against a throwaway HOME.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

HOOK = Path(__file__).resolve().parents[2] / "hooks" / "session_start.py"
TOKEN = "cog_" + "A1b2C3d4" * 6


def start(home: Path, **env: str) -> subprocess.CompletedProcess:
    env_file = home / "session-env.sh"
    full = {"HOME": str(home), "PATH": os.environ["PATH"], "CLAUDE_ENV_FILE": str(env_file), **env}
    return subprocess.run([sys.executable, "-I", "-S", str(HOOK)], input='{"hook_event_name": "SessionStart"}',
                          capture_output=True, text=True, env=full, timeout=30)


def test_the_token_option_is_written_owner_only_and_nothing_is_printed(tmp_path):
    proc = start(tmp_path, CLAUDE_PLUGIN_OPTION_DEVIN_TOKEN=TOKEN, CLAUDE_PLUGIN_OPTION_DEVIN_ORG_ID="org-abc123")
    assert proc.returncode == 0 and proc.stdout == "" and proc.stderr == ""
    token = tmp_path / ".config" / "devin" / "token"
    assert token.read_text() == TOKEN + "\n"
    assert stat.S_IMODE(token.stat().st_mode) == 0o600
    assert stat.S_IMODE(token.parent.stat().st_mode) == 0o700
    assert (tmp_path / "session-env.sh").read_text() == "export DEVIN_ORG_ID='org-abc123'\n"
    before = token.stat().st_mtime_ns
    start(tmp_path, CLAUDE_PLUGIN_OPTION_DEVIN_TOKEN=TOKEN)
    assert token.stat().st_mtime_ns == before  # unchanged token: not rewritten


def test_a_changed_option_replaces_the_file_and_a_symlink_is_never_written_through(tmp_path):
    token = tmp_path / ".config" / "devin" / "token"
    token.parent.mkdir(parents=True, mode=0o700)
    victim = tmp_path / "victim"
    victim.write_text("keep me")
    token.symlink_to(victim)
    assert start(tmp_path, CLAUDE_PLUGIN_OPTION_DEVIN_TOKEN=TOKEN).returncode == 0
    assert victim.read_text() == "keep me"
    assert not token.is_symlink() and token.read_text() == TOKEN + "\n"


def test_a_symlinked_folder_is_refused(tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (tmp_path / ".config").mkdir()
    (tmp_path / ".config" / "devin").symlink_to(elsewhere)
    assert start(tmp_path, CLAUDE_PLUGIN_OPTION_DEVIN_TOKEN=TOKEN).returncode == 0
    assert list(elsewhere.iterdir()) == []


@pytest.mark.parametrize("value", ["", "not-a-token", "cog_short", "cog_" + "x" * 20 + " spaced", "apk_" + "x" * 30])
def test_an_unusable_option_writes_nothing(tmp_path, value):
    assert start(tmp_path, CLAUDE_PLUGIN_OPTION_DEVIN_TOKEN=value).returncode == 0
    assert not (tmp_path / ".config" / "devin" / "token").exists()


@pytest.mark.parametrize("org", ["org-x'; touch pwned; '", "$(id)", "a", "org\nexport X=1"])
def test_the_org_option_reaches_the_env_file_only_when_it_is_a_plain_id(tmp_path, org):
    start(tmp_path, CLAUDE_PLUGIN_OPTION_DEVIN_ORG_ID=org)
    env_file = tmp_path / "session-env.sh"
    assert not env_file.exists() or env_file.read_text() == ""


def test_an_org_already_in_the_environment_wins(tmp_path):
    start(tmp_path, CLAUDE_PLUGIN_OPTION_DEVIN_ORG_ID="org-abc123", DEVIN_ORG_ID="org-mine")
    assert not (tmp_path / "session-env.sh").exists()
