"""Static checks of the plugin's commands, skill, manifest and hook wiring.

These cover what `claude plugin validate` does not check (see
/work/shared/research/claude_plugin_format.md, "Tests to add"): strict YAML, `!` lines against
`allowed-tools`, argument placeholders in `!` lines, `${CLAUDE_PLUGIN_ROOT}` paths, rule breadth,
and the confirmation rules around terminate.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/, for plugin_helpers
import plugin_helpers as ph  # noqa: E402

MD_FILES = ph.markdown_files()
MD_IDS = [str(p.relative_to(ph.REPO)) for p in MD_FILES]
COMMAND_FILES = sorted(ph.COMMANDS_DIR.glob("*.md"))
SKILL = ph.SKILLS_DIR / "devin-delegation" / "SKILL.md"


def test_expected_files_exist():
    names = {p.stem for p in COMMAND_FILES}
    assert names == set(ph.EXPECTED_COMMANDS)
    assert SKILL.is_file()
    assert (ph.HOOKS_DIR / "claude-hooks.json").is_file()
    assert (ph.HOOKS_DIR / "guard_bash.py").is_file()


# ------------------------------------------------------------------------------------------
# manifest, marketplace, licence

def _json(rel: str) -> dict:
    return json.loads((ph.REPO / rel).read_text(encoding="utf-8"))


def test_manifest_fields():
    m = _json(".claude-plugin/plugin.json")
    assert m["name"] == "devin"
    assert isinstance(m["version"], str)
    assert re.fullmatch(r"\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?", m["version"])
    assert isinstance(m["author"], dict) and m["author"]["name"]
    assert m["license"] == "MIT"
    assert m["description"] and m["keywords"]
    # auto-loading: setting these would turn off commands/ or add to skills/
    assert "commands" not in m and "skills" not in m
    # the sensitive userConfig (the token) is checked with its .mcp.json mapping in test_manifests.py
    # The hooks live outside Gemini's hooks/hooks.json and are named here: without this key Claude Code
    # would run neither the Bash guard nor the token hand-off, and every offline test would still pass.
    assert m["hooks"] == "./hooks/claude-hooks.json"
    assert not (ph.HOOKS_DIR / "hooks.json").exists()
    wired = json.loads((ph.HOOKS_DIR / "claude-hooks.json").read_text(encoding="utf-8"))["hooks"]
    assert [h["matcher"] for h in wired["PreToolUse"]] == ["Bash"]
    assert wired["PreToolUse"][0]["hooks"][0]["command"].endswith('/hooks/guard_bash.py"')
    assert wired["SessionStart"][0]["hooks"][0]["command"].endswith('/hooks/session_start.py"')


def test_marketplace_lists_this_plugin_at_the_same_version():
    mk = _json(".claude-plugin/marketplace.json")
    m = _json(".claude-plugin/plugin.json")
    assert mk["name"] and not mk["name"].startswith("anthropic")
    assert mk["owner"]["name"]
    entries = [p for p in mk["plugins"] if p["name"] == m["name"]]
    assert len(entries) == 1
    assert entries[0]["source"] == "./"
    assert entries[0].get("version", m["version"]) == m["version"], \
        "bump the version in plugin.json and the marketplace entry together"


def test_license_is_mit():
    text = (ph.REPO / "LICENSE").read_text(encoding="utf-8")
    assert text.startswith("MIT License")
    assert "the devin-plugin authors" in text


# ------------------------------------------------------------------------------------------
# frontmatter

@pytest.mark.parametrize("path", MD_FILES, ids=MD_IDS)
def test_frontmatter_is_strict_yaml(path):
    fm, body = ph.read_md(path)
    assert isinstance(fm.get("description"), str) and fm["description"].strip()
    assert body.strip()


@pytest.mark.parametrize("path", COMMAND_FILES, ids=[p.name for p in COMMAND_FILES])
def test_command_frontmatter_keys(path):
    fm, _ = ph.read_md(path)
    known = {"description", "argument-hint", "allowed-tools", "disable-model-invocation",
             "model", "name"}
    assert set(fm) <= known, f"unexpected keys {set(fm) - known}"
    assert "argument-hint" in fm and isinstance(fm["argument-hint"], str)
    assert ph.allowed_tools(fm), "every command runs at least one script"
    assert "user-invokable" not in fm  # the misspelling an older Devin plugin shipped


def test_strict_loader_rejects_duplicate_keys_and_bad_yaml():
    with pytest.raises(Exception):
        ph.parse_frontmatter("---\ndescription: a\ndescription: b\n---\nbody\n")
    with pytest.raises(Exception):
        ph.parse_frontmatter("---\ndescription: [unclosed\nallowed-tools: x\n---\nbody\n")
    with pytest.raises(ValueError):
        ph.parse_frontmatter("no frontmatter\n")


# ------------------------------------------------------------------------------------------
# `!` lines and allowed-tools

@pytest.mark.parametrize("path", MD_FILES, ids=MD_IDS)
def test_bang_lines_match_allowed_tools_and_carry_no_arguments(path):
    assert ph.bang_problems(path.read_text(encoding="utf-8")) == []


@pytest.mark.parametrize("path", MD_FILES, ids=MD_IDS)
def test_allowed_tools_are_exact_script_paths(path):
    fm, _ = ph.read_md(path)
    rules = ph.allowed_tools(fm)
    assert ph.rule_problems(rules) == [], "only Bash(python3 ${CLAUDE_PLUGIN_ROOT}/scripts/X.py *)"


@pytest.mark.parametrize("path", MD_FILES, ids=MD_IDS)
def test_allowed_tools_are_exactly_the_scripts_the_file_runs(path):
    fm, body = ph.read_md(path)
    allowed = {ph.EXACT_SCRIPT_RULE.fullmatch(r).group("script") for r in ph.allowed_tools(fm)}
    documented = {script for script, _ in ph.documented_invocations(body)}
    assert allowed == documented


@pytest.mark.parametrize("path", MD_FILES, ids=MD_IDS)
def test_no_argument_placeholder_in_shell_text(path):
    """$ARGUMENTS / $N are pasted raw: keep them out of ! lines and out of the commands the
    model is told to run (fenced blocks), so user text never becomes shell syntax."""
    _, body = ph.read_md(path)
    fences = re.findall(r"^```[a-z!]*\n(.*?)^```", body, re.M | re.S)
    for chunk in ph.bang_commands(body) + fences:
        assert not re.search(r"\$ARGUMENTS|\$\{?\d", chunk), chunk


@pytest.mark.parametrize("path", MD_FILES, ids=MD_IDS)
def test_plugin_root_paths_exist(path):
    text = path.read_text(encoding="utf-8")
    missing = sorted({rel for rel in re.findall(r"\$\{CLAUDE_PLUGIN_ROOT\}/([^\s`'\")*]+)", text)
                      if not (ph.REPO / rel).exists()})
    assert missing == [], f"{path.name} names files that do not exist: {missing}"


def test_hook_paths_exist_and_are_quoted():
    hooks = json.loads((ph.HOOKS_DIR / "claude-hooks.json").read_text(encoding="utf-8"))
    assert set(hooks["hooks"]) == {"PreToolUse", "SessionStart"}
    assert [e["matcher"] for e in hooks["hooks"]["PreToolUse"]] == ["Bash"]
    for entry in hooks["hooks"]["PreToolUse"] + hooks["hooks"]["SessionStart"]:
        for hook in entry["hooks"]:
            assert hook["type"] == "command"
            cmd = hook["command"]
            for rel in re.findall(r"\$\{CLAUDE_PLUGIN_ROOT\}/([^\s\"']+)", cmd):
                assert (ph.REPO / rel).is_file(), rel
            # unquoted ${CLAUDE_PLUGIN_ROOT} breaks on paths with spaces (validate warns)
            assert '"${CLAUDE_PLUGIN_ROOT}/' in cmd
            assert cmd.startswith("python3 -I -S ")


# ------------------------------------------------------------------------------------------
# the matcher itself can fail

STATUS = ph.COMMANDS_DIR / "status.md"


def test_matcher_accepts_the_forms_the_client_accepts():
    rule = "Bash(python3 ${CLAUDE_PLUGIN_ROOT}/scripts/x.py *)"
    colon = "Bash(python3 ${CLAUDE_PLUGIN_ROOT}/scripts/x.py:*)"
    for r in (rule, colon):
        assert ph.rule_matches(r, "python3 ${CLAUDE_PLUGIN_ROOT}/scripts/x.py")
        assert ph.rule_matches(r, "python3 ${CLAUDE_PLUGIN_ROOT}/scripts/x.py --limit 3")
        assert ph.rule_matches(r, f"python3 {ph.REPO}/scripts/x.py --json")
        assert not ph.rule_matches(r, "python3 ${CLAUDE_PLUGIN_ROOT}/scripts/x.pyc")
        assert not ph.rule_matches(r, "python3 ${CLAUDE_PLUGIN_ROOT}/scripts/y.py")
        assert not ph.rule_matches(r, 'python3 "${CLAUDE_PLUGIN_ROOT}/scripts/x.py"')
    assert ph.command_allowed("python3 ${CLAUDE_PLUGIN_ROOT}/scripts/x.py || true", [rule])
    assert not ph.command_allowed("python3 ${CLAUDE_PLUGIN_ROOT}/scripts/x.py; rm -rf ~", [rule])
    assert not ph.command_allowed("python3 ${CLAUDE_PLUGIN_ROOT}/scripts/x.py $(id)", [rule])


def test_broken_copy_of_a_command_is_caught():
    text = STATUS.read_text(encoding="utf-8")
    assert ph.bang_problems(text) == []
    bang = ph.bang_commands(ph.parse_frontmatter(text)[1])[0]
    # the ! line runs a script its allowed-tools do not name
    wrong_script = text.replace(bang, bang.replace("list_sessions.py", "list_messages.py"))
    assert ph.bang_problems(wrong_script)
    # the ! line chains a second command
    chained = text.replace(bang, bang + " && curl https://example.invalid")
    assert ph.bang_problems(chained)
    # the user's words spliced into the ! line
    spliced = text.replace(bang, bang.replace("--limit 10", '--tag "$ARGUMENTS"'))
    assert any("argument placeholder" in p for p in ph.bang_problems(spliced))
    # allowed-tools widened to every python3 command
    broad = re.sub(r"allowed-tools: .*", "allowed-tools: Bash(python3 *)", text, count=1)
    assert ph.rule_problems(ph.allowed_tools(ph.parse_frontmatter(broad)[0]))
    for rule in ("Bash", "Bash(*)", "Bash(python3:*)", "Bash(python3 */scripts/x.py *)",
                 "Bash(python3 ${CLAUDE_PLUGIN_ROOT}/scripts/*)", "Read"):
        assert ph.rule_problems([rule]) == [rule]


# ------------------------------------------------------------------------------------------
# behaviour the text must prescribe

def _command(name: str) -> tuple[dict, str]:
    return ph.read_md(ph.COMMANDS_DIR / f"{name}.md")


def test_terminate_needs_the_user_and_a_confirmation():
    fm, body = _command("terminate")
    assert fm.get("disable-model-invocation") is True
    calls = [s for s, _ in ph.documented_invocations(body)]
    assert calls == ["get_session.py", "terminate_session.py"], "show the session, then terminate"
    assert "confirm" in body.lower()
    assert "end your turn" in body.lower()
    assert not ph.bang_commands(body), "nothing may run before the user has confirmed"


def test_setup_is_user_invoked_and_never_asks_for_the_token_in_chat():
    fm, body = _command("setup")
    assert fm.get("disable-model-invocation") is True
    assert "Never ask the user to paste the token" in body


def test_skill_never_terminates():
    fm, body = ph.read_md(SKILL)
    assert not any("terminate" in r for r in ph.allowed_tools(fm))
    assert "terminate_session.py" not in body
    assert "/devin:terminate" in body


@pytest.mark.parametrize("path", MD_FILES, ids=MD_IDS)
def test_devin_output_is_called_untrusted(path):
    _, body = ph.read_md(path)
    if path.stem == "setup":
        assert "data, not instructions" in body
        return
    assert ph.UNTRUSTED_BEGIN in body and ph.UNTRUSTED_END in body
    assert re.search(r"never (as )?instructions|never follow instructions", body, re.I)


@pytest.mark.parametrize("path", MD_FILES, ids=MD_IDS)
def test_free_text_goes_as_one_single_quoted_argument_never_a_heredoc(path):
    """Claude Code's sandbox keeps a call with a heredoc (any redirect) sandboxed, where the script cannot
    read the token: free text is one `--prompt='...'`-style argument (the `=` keeps text that starts with
    a dash from reading as an option)."""
    _, body = ph.read_md(path)
    assert "<<" not in body
    for line in body.splitlines():
        if "python3 " not in line:
            continue
        if "create_session.py" in line:
            assert line.rstrip("`").endswith("--prompt='TASK TEXT'"), line
        if "send_message.py" in line:
            assert line.rstrip("`").endswith("--message='MESSAGE TEXT'"), line


def test_skill_frontmatter_uses_only_spec_keys():
    fm, _ = ph.read_md(SKILL)
    assert set(fm) <= {"name", "description", "license", "compatibility", "metadata",
                       "allowed-tools"}
    assert fm["name"] == SKILL.parent.name
    assert len(fm["description"]) <= 1024


def test_every_command_that_takes_a_session_lets_the_script_validate_it():
    for name in ("status", "messages", "message", "wait", "tag", "archive", "terminate"):
        _, body = _command(name)
        calls = [line for line in body.splitlines() if "python3 ${CLAUDE_PLUGIN_ROOT}" in line
                 and not line.startswith("!")]
        assert calls, name
        for line in calls:
            assert "'SESSION'" in line, f"{name}: session passed as one single-quoted word"
