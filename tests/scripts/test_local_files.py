"""The files a script reads or writes for the agent stay out of the credentials, the configuration, the
plugin's code and environment, Python's start-up paths and the pseudo-files; inside Claude Code
(CLAUDECODE=1) they stay in the working directory. Each refusal is exit 2 with nothing sent."""

from __future__ import annotations

import os

import pytest

CC = {"CLAUDECODE": "1"}


def plant(dirs, emu):
    """What an attacker would point at: Claude Code's credentials, an SSH key, the token file, and symlinks
    to them (and to /proc) inside the project."""
    home, work = dirs["home"], dirs["work"]
    (home / ".claude").mkdir(exist_ok=True)
    (home / ".claude" / ".credentials.json").write_text('{"claudeAiOauth": {"accessToken": "sk-ant-oat01-SECRET"}}')
    (home / ".ssh").mkdir(exist_ok=True)
    (home / ".ssh" / "id_ed25519").write_text("-----BEGIN OPENSSH PRIVATE KEY----- SECRETKEY")
    tok = home / ".config" / "devin" / "token"
    tok.parent.mkdir(parents=True, exist_ok=True)
    tok.write_text(emu.token)
    tok.chmod(0o600)
    for name, target in {"cl": home / ".claude", "k": home / ".ssh" / "id_ed25519", "pp": "/proc",
                         "t": tok}.items():
        if not (work / name).exists():
            os.symlink(target, work / name)
    return home, work


INPUTS = ["cl/.credentials.json", "k", "pp/self/environ", "t", "{home}/.claude/.credentials.json",
          "{home}/.ssh/id_ed25519", "/proc/self/environ", "../home/.claude/.credentials.json"]


@pytest.mark.parametrize("how", ["--prompt-file", "--payload-file"])
@pytest.mark.parametrize("path", INPUTS)
@pytest.mark.parametrize("env", [CC, {}], ids=["claude-code", "terminal"])
def test_input_files_never_come_from_protected_places(ip, emu, dirs, how, path, env):
    home, _work = plant(dirs, emu)
    given = path.format(home=home)
    args = ["--title", "t", "--dry-run", how, given] + (["--prompt", "x"] if how == "--payload-file" else [])
    emu.clear_journal()
    r = ip("create_session.py", *args, env=env)
    assert r.rc == 2, (r.out, r.err)
    assert "SECRET" not in r.out + r.err and emu.token not in r.out + r.err
    assert emu.journal == []


def test_inside_claude_code_an_input_outside_the_project_is_refused_and_a_person_may_use_one(ip, emu, dirs, tmp_path):
    task = tmp_path / "elsewhere" / "task.md"
    task.parent.mkdir()
    task.write_text("fix the flaky test")
    r = ip("create_session.py", "--title", "t", "--dry-run", "--prompt-file", str(task), env=CC)
    assert r.rc == 2 and "outside the working directory" in r.err and "inside Claude Code" in r.err
    r = ip("create_session.py", "--title", "t", "--dry-run", "--prompt-file", str(task))
    assert r.rc == 0 and "fix the flaky test" in r.out
    (dirs["work"] / "task.md").write_text("fix it here")
    r = ip("create_session.py", "--title", "t", "--dry-run", "--prompt-file", "task.md", env=CC)
    assert r.rc == 0 and "fix it here" in r.out


@pytest.mark.parametrize("dest", ["{home}/.local/share/devin-plugin/venv/lib/python3.11/site-packages",
                                  "{home}/.local/lib/python3.11/site-packages", "{home}/.config/devin-plugin",
                                  "{home}/.claude", "cl", "..", "/tmp"])
def test_downloads_never_land_in_protected_places_or_outside_the_project(ip, emu, dirs, dest):
    home, _work = plant(dirs, emu)
    given = dest.format(home=home)
    if given.startswith(str(home)):
        os.makedirs(given, exist_ok=True)
    sid = emu.create_session_direct(emu.org_id, prompt="p", title="t")["session_id"]
    emu.clear_journal()
    r = ip("list_attachments.py", sid, "--download", given, env=CC)
    assert r.rc == 2, (r.out, r.err)
    assert emu.journal == []  # refused before the list request


def test_a_download_inside_the_project_works_under_claude_code(ip, emu, dirs):
    sid = emu.create_session_direct(emu.org_id, prompt="p", title="t")["session_id"]
    (dirs["work"] / "dl").mkdir()
    r = ip("list_attachments.py", sid, "--download", "dl", env=CC)
    assert r.rc == 0, r.err


def test_upload_outside_the_project_is_refused_inside_claude_code_even_when_allowed(ip, emu, dirs, tmp_path):
    f = tmp_path / "notes.txt"
    f.write_text("hello")
    emu.clear_journal()
    r = ip("upload_attachment.py", str(f), "--allow-outside-cwd", env=CC)
    assert r.rc == 2 and "inside Claude Code" in r.err and emu.journal == []
    r = ip("upload_attachment.py", str(f), "--allow-outside-cwd", "--dry-run")
    assert r.rc == 0, r.err


@pytest.mark.parametrize("path", ["cl/.credentials.json", "k", "{home}/.ssh/id_ed25519"])
def test_uploads_never_come_from_protected_places(ip, emu, dirs, path):
    home, _work = plant(dirs, emu)
    emu.clear_journal()
    r = ip("upload_attachment.py", path.format(home=home), "--allow-outside-cwd")
    assert r.rc == 2 and emu.journal == [] and "SECRET" not in r.out + r.err


@pytest.mark.parametrize("dest", [".claude", ".git/hooks", "dl/.hidden", ".vscode"])
def test_downloads_never_land_in_the_projects_hidden_folders(ip, emu, dirs, dest):
    """Claude Code's sandbox guards .claude/settings.json, hooks, .git/config ... only inside the sandbox; a
    script outside it would create them for real (a project hook runs in the next session, unsandboxed)."""
    os.makedirs(dirs["work"] / dest, exist_ok=True)
    sid = emu.create_session_direct(emu.org_id, prompt="p", title="t")["session_id"]
    emu.clear_journal()
    for env in (CC, {}):
        r = ip("list_attachments.py", sid, "--download", dest, env=env)
        assert r.rc == 2 and "hidden folder" in r.err, (r.out, r.err)
    assert emu.journal == []


def test_a_folder_swapped_for_a_symlink_after_the_check_is_caught(ip, emu, dirs, monkeypatch):
    """The race an attacker's background process could run: the path is checked, then a folder on the way
    becomes a symlink to a protected place before the open."""
    from devin_plugin import localfiles
    home, work = plant(dirs, emu)
    (work / "real").mkdir()
    (work / "real" / ".credentials.json").write_text("harmless")
    original = localfiles.check

    def check_then_swap(*a, **kw):
        real = original(*a, **kw)
        (work / "real").rename(work / "was-real")
        os.symlink(home / ".claude", work / "real")
        return real
    monkeypatch.setattr(localfiles, "check", check_then_swap)
    r = ip("create_session.py", "--title", "t", "--dry-run", "--prompt-file", "real/.credentials.json", env=CC)
    assert r.rc == 2 and "changed while it was checked" in r.err, (r.out, r.err)
    assert "SECRET" not in r.out + r.err


def test_claude_keys_are_masked_in_every_output():
    from devin_plugin import redact
    text = "token sk-ant-oat01-AbC_123-xyz, sk-ant-api03-Q9zz and sk-ant-ab"
    assert redact.redact(text) == "token ***, *** and sk-ant-ab"
