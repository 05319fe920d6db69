"""check_setup.py (and /devin:setup, the MCP tool check_setup) say whether the README's sandbox settings
are in place, and what is missing, in the words of the settings file."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "lib"))
from devin_plugin import sandbox  # noqa: E402


def write_settings(home: Path, doc: dict) -> None:
    (home / ".claude").mkdir(parents=True, exist_ok=True)
    (home / ".claude" / "settings.json").write_text(json.dumps(doc))


def checks(r) -> dict:
    return {c["check"]: c for c in r.json["checks"]}


def test_with_the_recommended_settings_the_check_says_in_place(ip, dirs):
    write_settings(dirs["home"], sandbox.recommended_settings())
    r = ip("check_setup.py", "--json")
    assert r.rc == 0, r.err
    got = checks(r)
    assert got["sandbox settings"]["ok"] is True and "protection" not in got
    assert "sandbox_settings_to_merge" not in r.json


def test_without_settings_the_check_names_what_is_missing_and_prints_the_block(ip, dirs):
    r = ip("check_setup.py", "--json")
    assert r.rc == 0, r.err  # missing protection is reported, not a configuration error
    got = checks(r)
    assert got["sandbox settings"]["ok"] is None
    assert '"sandbox.enabled": true' in got["sandbox settings"]["detail"]
    assert "not covered" in got["protection"]["detail"] or "can read the token" in got["protection"]["detail"]
    assert r.json["sandbox_settings_to_merge"] == sandbox.recommended_settings()
    text = ip("check_setup.py")
    assert "merge these settings into ~/.claude/settings.json" in text.out


@pytest.mark.parametrize("drop", ["enabled", "allowUnsandboxedCommands", "excludedCommands", "credentials", "deny"])
def test_each_missing_piece_is_named(ip, dirs, drop):
    doc = sandbox.recommended_settings()
    if drop == "deny":
        doc["permissions"]["deny"] = doc["permissions"]["deny"][1:]
    elif drop == "excludedCommands":
        doc["sandbox"]["excludedCommands"] = doc["sandbox"]["excludedCommands"][1:]
    else:
        del doc["sandbox"][drop]
    write_settings(dirs["home"], doc)
    detail = checks(ip("check_setup.py", "--json"))["sandbox settings"]["detail"]
    expected = {"enabled": '"sandbox.enabled": true',
                "allowUnsandboxedCommands": '"sandbox.allowUnsandboxedCommands": false',
                "excludedCommands": "1 of the plugin's",
                "credentials": '"mode": "deny"} in "sandbox.credentials.files"',
                "deny": '"Read(~/.config/devin/**)" in "permissions.deny"'}[drop]
    assert expected in detail, detail


def test_entries_for_another_version_are_named_stale(ip, dirs):
    doc = sandbox.recommended_settings()
    doc["sandbox"]["excludedCommands"].append("python3 /old/devin/0.1.0/scripts/get_session.py *")
    write_settings(dirs["home"], doc)
    got = checks(ip("check_setup.py", "--json"))
    stale = got["stale sandbox entries"]["detail"]
    assert "another folder" in stale and "/old/devin/0.1.0" in stale
    assert got["sandbox settings"]["ok"] is True


def test_a_token_file_elsewhere_is_named_as_not_hidden(ip, dirs, emu):
    write_settings(dirs["home"], sandbox.recommended_settings())
    f = dirs["work"] / "tok"
    f.write_text(emu.token)
    f.chmod(0o600)
    got = checks(ip("check_setup.py", "--json", env={"DEVIN_SERVICE_USER_TOKEN": None, "DEVIN_TOKEN_FILE": str(f)}))
    assert "DEVIN_TOKEN_FILE names" in got["sandbox settings"]["detail"]


def test_the_default_token_file_is_read_when_nothing_else_is_set(ip, dirs, emu):
    f = dirs["home"] / ".config" / "devin" / "token"
    f.parent.mkdir(parents=True)
    f.write_text(emu.token + "\n")
    f.chmod(0o600)
    r = ip("check_setup.py", "--json", env={"DEVIN_SERVICE_USER_TOKEN": None, "DEVIN_TOKEN_FILE": None})
    assert r.rc == 0, r.err
    assert checks(r)["token"]["detail"].startswith("a cog_ token from ~/.config/devin/token")
