"""The skill outside Claude Code: its command lines, as another agent reads them, run through the
`devin-plugin` launcher that `setup_env.py --install-launcher` writes.

Only Claude Code substitutes `${CLAUDE_PLUGIN_ROOT}`; the skill tells every other agent how to write its
lines instead. These tests take that instruction from a copy of the skill folder, apply it to every line
the skill documents, and run the result with bash against the emulator over loopback, from a copy of
the plugin, with no CLAUDE_PLUGIN_ROOT anywhere. Then the launcher's hostile cases: names outside the
contract, a file or a symlink already at its path, a plugin folder that moved.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/, for plugin_helpers and conftest
import plugin_helpers as ph  # noqa: E402
from conftest import base_env, setup_env_module, wire  # noqa: E402

SKILL_DIR = ph.SKILLS_DIR / "devin-delegation"
SETUP = setup_env_module()
LAUNCHER = SETUP.LAUNCHER_NAME
CLAUDE_CALL = re.compile(r"python3 \$\{CLAUDE_PLUGIN_ROOT\}/scripts/(?P<name>[a-z_]+)\.py(?P<rest>(?: .*)?)")
FENCE = re.compile(r"^```bash\n(.*?)^```", re.M | re.S)
# A placeholder of a documented line: a run of capitals, possibly two words (TASK TEXT) or OWNER/REPO.
PLACEHOLDER = re.compile(r"(?<![\w-])[A-Z][A-Z_]*(?:[ /][A-Z][A-Z_]*)*(?![\w-])")
# Free text with every character a shell would act on, and a quote, which the skill says how to write.
TASK = "Add a CHANGELOG entry; don't touch $(id) or `uname` | \"src\" & ~ \\n * ?"
MESSAGE = "Thanks, that's it: $HOME stays 'as is'."


# ------------------------------------------------------------------------------------------------
# the skill's own lines for other agents

def other_agent_form(body: str) -> tuple[str, str]:
    """(Claude Code's form, the other agents' form) of the one example the skill gives, read from the
    paragraph that names the launcher: two code spans, one of each."""
    paragraphs = [p for p in body.split("\n\n") if f"`{LAUNCHER} " in p]
    assert len(paragraphs) == 1, f"the skill should name `{LAUNCHER} ...` in one paragraph: {paragraphs}"
    spans = re.findall(r"`([^`\n]+)`", paragraphs[0])
    claude = [s for s in spans if CLAUDE_CALL.fullmatch(s)]
    other = [s for s in spans if s.startswith(LAUNCHER + " ")]
    assert len(claude) == 1 and len(other) == 1, spans
    return claude[0], other[0]


def rewrite_rule(body: str) -> str:
    """The other agents' prefix, with {name} for the script, generalised from the skill's example."""
    claude, other = other_agent_form(body)
    m = CLAUDE_CALL.fullmatch(claude)
    assert m, claude
    rest = m.group("rest")
    assert other.endswith(rest), f"the example changes more than the command: {claude!r} vs {other!r}"
    prefix = other[:len(other) - len(rest)]
    assert prefix.count(m.group("name")) == 1, prefix
    return prefix.replace(m.group("name"), "{name}")


def documented_lines(body: str) -> list[str]:
    lines = [line for block in FENCE.findall(body) for line in block.splitlines() if line.strip()]
    assert lines and all(CLAUDE_CALL.fullmatch(line) for line in lines), lines
    return lines


def for_other_agents(skill_md: Path) -> list[str]:
    _fm, body = ph.read_md(skill_md)
    rule = rewrite_rule(body)
    out = []
    for line in documented_lines(body):
        m = CLAUDE_CALL.fullmatch(line)
        assert m
        out.append(rule.format(name=m.group("name")) + m.group("rest"))
    return out


def fill(line: str, fills: dict[str, str]) -> str:
    """Placeholders replaced by values, each written inside its single quotes as the skill says
    (every ' as '\\''); a placeholder this test has no value for fails with its name."""
    def value(m: re.Match) -> str:
        assert m.group(0) in fills, f"the skill has a placeholder this test does not fill: {m.group(0)!r}"
        return fills[m.group(0)].replace("'", "'\\''")
    return PLACEHOLDER.sub(value, line)


# ------------------------------------------------------------------------------------------------
# a plugin copy, its launcher

@pytest.fixture
def plugin(tmp_path) -> Path:
    """A copy of what the plugin ships, in a versioned folder as Claude Code's cache holds it."""
    root = ph.copy_plugin(tmp_path / "cache" / "devin" / "1.0.0")
    shutil.copy2(ph.REPO / "requirements-mcp.txt", root / "requirements-mcp.txt")
    return root


@pytest.fixture
def bin_dir(tmp_path) -> Path:
    return tmp_path / "bin"


def setup_env(root: Path, dirs, venv: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    e = base_env(dirs)
    e["DEVIN_PLUGIN_VENV"] = str(venv)
    e.update(env or {})
    return subprocess.run([sys.executable, str(root / "scripts" / "setup_env.py"), *args], capture_output=True,
                          text=True, env=e, timeout=120)


def install(root: Path, dirs, venv: Path, bin_dir: Path, *args: str) -> dict:
    p = setup_env(root, dirs, venv, "--install-launcher", "--bin-dir", str(bin_dir), "--json", *args)
    assert p.returncode == 0, p.stdout + p.stderr
    return json.loads(p.stdout)["launcher"]


def agent_env(dirs, emu, bin_dir: Path) -> dict:
    """Another agent's shell: the launcher's folder on PATH, a system python3 without the plugin's
    packages when there is one (the launcher then finds the plugin's environment), no Claude Code."""
    env = base_env(dirs, emu)
    system = "/usr/bin:/bin" if os.path.isfile("/usr/bin/python3") else env["PATH"]
    env["PATH"] = f"{bin_dir}{os.pathsep}{system}"
    assert not any(k.startswith("CLAUDE") or k == "DEVIN_PLUGIN_VENV" for k in env)
    return env


def launch(env: dict, *argv: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([LAUNCHER, *argv], capture_output=True, text=True, env=env, cwd=cwd, timeout=120)


# ------------------------------------------------------------------------------------------------
# the skill's lines, run

def test_every_line_of_the_skill_runs_in_another_agents_shell(emu, dirs, tmp_path, plugin, bin_dir, plugin_venv):
    skill = tmp_path / "agent-skills" / SKILL_DIR.name
    shutil.copytree(SKILL_DIR, skill)
    lines = for_other_agents(skill / "SKILL.md")
    assert all("CLAUDE_PLUGIN_ROOT" not in line and "python3" not in line for line in lines), lines
    assert {line.split()[0] for line in lines} == {LAUNCHER}

    doc = install(plugin, dirs, plugin_venv, bin_dir)
    assert doc["state"] == "installed"
    env = agent_env(dirs, emu, bin_dir)
    (dirs["work"] / "notes.txt").write_text("notes\n")
    sessions = [emu.create_session_direct(title=f"probe {i}", prompt="p")["session_id"] for i in range(len(lines))]
    emu.clock.advance(500)  # finished for now: a wait returns at once
    pb = emu.add_playbook(title="Release", body="b")
    note = emu.add_note(name="conventions", body="b", trigger="t")
    fills = {"TITLE": "Outside Claude Code", "OWNER/REPO": "acme/app", "N": "3", "TASK TEXT": TASK,
             "PLAYBOOK_ID": pb["playbook_id"], "NOTE_ID": note["note_id"], "WORDS": "conventions",
             "PATH": "notes.txt", "TAG": "outside", "MESSAGE TEXT": MESSAGE}
    for line, sid in zip(lines, sessions):
        command = fill(line, {**fills, "SESSION": sid})
        before = len(wire(emu))
        p = subprocess.run(["bash", "-c", command], capture_output=True, text=True, env=env, cwd=dirs["work"],
                           timeout=120)
        # pickup reached the API and answered as the contract says for a session without a pull request
        assert p.returncode == (5 if " pickup " in command else 0), (command, p.stdout, p.stderr)
        assert "Traceback" not in p.stderr, (command, p.stderr)
        assert len(wire(emu)) > before, f"{command!r} sent nothing"

    created = [s for s in emu.sessions_in() if s["title"] == fills["TITLE"]]
    assert [s["prompt"] for s in created] == [TASK], "the task text reached Devin exactly as written"
    assert any(m["message"] == MESSAGE for sid in sessions for m in emu.messages_direct(sid))


def test_the_example_and_the_launcher_agree(tmp_path):
    """The launcher accepts every script the skill runs, and the skill's note names the install option."""
    _fm, body = ph.read_md(SKILL_DIR / "SKILL.md")
    names = {line.split("/scripts/", 1)[1].split(".py", 1)[0] for line in documented_lines(body)}
    assert names <= set(SETUP.LAUNCHER_SCRIPTS)
    assert set(ph.CONTRACT_SCRIPTS) <= set(SETUP.LAUNCHER_SCRIPTS)
    assert not {"_prelude", "setup_env", "mcp_server"} & set(SETUP.LAUNCHER_SCRIPTS)
    assert "setup_env.py --install-launcher" in body
    assert LAUNCHER != "devin", "`devin` is Cognition's own CLI"


def test_arguments_reach_the_script_untouched(emu, dirs, plugin, bin_dir, plugin_venv):
    install(plugin, dirs, plugin_venv, bin_dir)
    env = agent_env(dirs, emu, bin_dir)
    nasty = "line one\n$(touch pwned); `touch pwned` 'q' \"d\" \\ * ~ -- --json"
    p = launch(env, "create_session", "--title", "Untouched", "--repo", "acme/app", "--prompt", nasty, "--json",
               cwd=dirs["work"])
    assert p.returncode == 0, p.stderr
    assert p.stdout.startswith("{") and json.loads(p.stdout)["is_new_session"] is True
    assert [s["prompt"] for s in emu.sessions_in() if s["title"] == "Untouched"] == [nasty]
    assert not (dirs["work"] / "pwned").exists()


# ------------------------------------------------------------------------------------------------
# names the launcher refuses

@pytest.mark.parametrize("name", ["../x", "_prelude", "secrets.py", "get session", "setup_env", "mcp_server",
                                  "scripts/get_session", "/usr/bin/id", "--json", "-c", "", "get_session\n",
                                  "GET_SESSION", "create_session.py", "x" * 500, "\x1b[31mred"])
def test_a_name_outside_the_contract_runs_nothing(emu, dirs, plugin, bin_dir, plugin_venv, name):
    install(plugin, dirs, plugin_venv, bin_dir)
    env = agent_env(dirs, emu, bin_dir)
    p = launch(env, name, "--json")
    assert p.returncode == 2, (p.stdout, p.stderr)
    assert p.stdout == ""
    assert "unknown script name" in p.stderr and "nothing was run" in p.stderr
    assert repr(name[:60])[1:-1] in p.stderr, "the error shows what was typed"
    assert "\x1b" not in p.stderr and p.stderr.count("\n") == 1
    assert wire(emu) == []
    if name.endswith(".py"):
        assert f"{LAUNCHER} {name[:-3]}" in p.stderr


def test_help_lists_the_names_and_runs_nothing(emu, dirs, plugin, bin_dir, plugin_venv):
    install(plugin, dirs, plugin_venv, bin_dir)
    env = agent_env(dirs, emu, bin_dir)
    for argv in (["-h"], ["--help"], ["-h", "get_session"]):
        p = launch(env, *argv)
        assert p.returncode == 0 and "usage: devin-plugin NAME" in p.stdout and "create_session" in p.stdout
    bare = launch(env)
    assert bare.returncode == 2 and "usage:" in bare.stderr and bare.stdout == ""
    assert wire(emu) == []


def test_a_contract_name_this_plugin_version_lacks_is_refused(emu, dirs, plugin, bin_dir, plugin_venv):
    install(plugin, dirs, plugin_venv, bin_dir)
    (plugin / "scripts" / "list_messages.py").unlink()
    p = launch(agent_env(dirs, emu, bin_dir), "list_messages", "devin-" + "0" * 32)
    assert p.returncode == 2 and f"list_messages is not in the plugin version at {plugin}" in p.stderr
    assert wire(emu) == []


# ------------------------------------------------------------------------------------------------
# installing: atomic, 0755, its own file only

def test_install_writes_an_executable_once_and_reports_it_ready_after(dirs, plugin, bin_dir, plugin_venv):
    assert install(plugin, dirs, plugin_venv, bin_dir)["state"] == "installed"
    path = bin_dir / LAUNCHER
    assert stat.S_IMODE(path.lstat().st_mode) == 0o755 and path.is_file() and not path.is_symlink()
    assert path.read_text().splitlines()[1].startswith(SETUP.LAUNCHER_MARKER)
    assert sorted(p.name for p in bin_dir.iterdir()) == [LAUNCHER], "no temporary file left behind"
    first = path.stat().st_ino
    assert install(plugin, dirs, plugin_venv, bin_dir)["state"] == "ready"
    assert path.stat().st_ino == first, "an up-to-date launcher is left alone"


def test_check_reports_without_writing(dirs, plugin, bin_dir, plugin_venv):
    def check() -> tuple[int, str]:
        p = setup_env(plugin, dirs, plugin_venv, "--check", "--install-launcher", "--bin-dir", str(bin_dir), "--json")
        return p.returncode, json.loads(p.stdout)["launcher"]["state"]

    assert check() == (3, "missing") and not bin_dir.exists()
    install(plugin, dirs, plugin_venv, bin_dir)
    assert check() == (0, "ready")


def test_the_bin_dir_comes_from_the_option_the_environment_or_home(dirs, plugin, bin_dir, plugin_venv, tmp_path):
    p = setup_env(plugin, dirs, plugin_venv, "--install-launcher", "--json",
                  env={"DEVIN_PLUGIN_BIN_DIR": str(tmp_path / "from-env")})
    assert p.returncode == 0 and json.loads(p.stdout)["launcher"]["path"] == str(tmp_path / "from-env" / LAUNCHER)
    p = setup_env(plugin, dirs, plugin_venv, "--install-launcher", "--json")
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["launcher"]["path"] == str(dirs["home"] / ".local" / "bin" / LAUNCHER)
    for alone in (["--bin-dir", str(bin_dir)], ["--force"]):
        p = setup_env(plugin, dirs, plugin_venv, *alone)
        assert p.returncode == 2 and f"{alone[0]} goes with --install-launcher" in p.stderr
    assert not bin_dir.exists()


def test_a_foreign_file_is_kept_unless_forced(dirs, plugin, bin_dir, plugin_venv):
    bin_dir.mkdir()
    path = bin_dir / LAUNCHER
    path.write_text("#!/bin/sh\necho mine\n")
    p = setup_env(plugin, dirs, plugin_venv, "--install-launcher", "--bin-dir", str(bin_dir))
    assert p.returncode == 2 and str(path) in p.stderr and "not written by setup_env.py" in p.stderr
    assert "--force" in p.stderr
    assert path.read_text() == "#!/bin/sh\necho mine\n"
    assert install(plugin, dirs, plugin_venv, bin_dir, "--force")["state"] == "replaced"
    assert SETUP.LAUNCHER_MARKER in path.read_text() and stat.S_IMODE(path.stat().st_mode) == 0o755


@pytest.mark.parametrize("dangling", [False, True])
def test_a_symlink_at_the_destination_is_never_followed(dirs, plugin, bin_dir, plugin_venv, tmp_path, dangling):
    bin_dir.mkdir()
    target = tmp_path / "precious"
    if not dangling:
        target.write_text("precious\n")
    path = bin_dir / LAUNCHER
    path.symlink_to(target)
    p = setup_env(plugin, dirs, plugin_venv, "--install-launcher", "--bin-dir", str(bin_dir))
    assert p.returncode == 2 and "is a symbolic link" in p.stderr, p.stderr
    assert path.is_symlink() and os.readlink(path) == str(target)
    assert install(plugin, dirs, plugin_venv, bin_dir, "--force")["state"] == "replaced"
    assert not path.is_symlink() and SETUP.LAUNCHER_MARKER in path.read_text()
    if dangling:
        assert not target.exists()
    else:
        assert target.read_text() == "precious\n", "the link's target was never written"


def test_a_folder_everyone_can_write_is_refused(dirs, plugin, plugin_venv, tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    p = setup_env(plugin, dirs, plugin_venv, "--install-launcher", "--bin-dir", str(shared))
    assert p.returncode == 3 and "writable by every user" in p.stderr
    assert list(shared.iterdir()) == []


# ------------------------------------------------------------------------------------------------
# the plugin folder moves (Claude Code installs each version in a new folder)

def test_a_moved_plugin_is_named_with_the_command_that_refreshes_the_launcher(emu, dirs, plugin, bin_dir,
                                                                              plugin_venv):
    install(plugin, dirs, plugin_venv, bin_dir)
    env = agent_env(dirs, emu, bin_dir)
    new = plugin.parent / "1.1.0"
    plugin.rename(new)
    p = launch(env, "list_sessions")
    assert p.returncode == 3 and f"the plugin folder {plugin} is gone" in p.stderr
    assert f"python3 {new}/scripts/setup_env.py --install-launcher" in p.stderr, p.stderr
    assert wire(emu) == []
    assert install(new, dirs, plugin_venv, bin_dir)["state"] == "updated"
    assert launch(env, "list_sessions").returncode == 0


def test_a_plugin_folder_with_quotes_spaces_and_non_ascii_works(emu, dirs, bin_dir, plugin_venv, tmp_path):
    root = ph.copy_plugin(tmp_path / "my plugins 'q' \"dq\" é $x" / "devin")
    shutil.copy2(ph.REPO / "requirements-mcp.txt", root / "requirements-mcp.txt")
    install(root, dirs, plugin_venv, bin_dir)
    assert (bin_dir / LAUNCHER).read_text(encoding="ascii")
    p = launch(agent_env(dirs, emu, bin_dir), "list_sessions", "--json")
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["items"] == []


def test_a_version_claude_code_replaced_still_runs_and_says_how_to_refresh(emu, dirs, plugin, bin_dir,
                                                                          plugin_venv):
    install(plugin, dirs, plugin_venv, bin_dir)
    env = agent_env(dirs, emu, bin_dir)
    new = ph.copy_plugin(plugin.parent / "1.1.0")
    (plugin / ".orphaned_at").write_text("1700000000000")
    p = launch(env, "list_sessions")
    assert p.returncode == 0, p.stderr
    assert f"python3 {new}/scripts/setup_env.py --install-launcher" in p.stderr
