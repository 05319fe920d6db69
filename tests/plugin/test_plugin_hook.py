"""The PreToolUse guard (hooks/guard_bash.py), run the way Claude Code runs it.

Each case feeds the JSON Claude Code sends on standard input to the command in hooks/claude-hooks.json
(shell form, CLAUDE_PLUGIN_ROOT in the environment) and checks the exit status: 0 with no output
lets the call run, 2 with a reason on standard error blocks it. Exit 1 would let the call run
(Claude Code treats it as a non-blocking error), so it must never happen.

Decisions documented here:
* A forbidden field name blocks anywhere in a command, read-only searches included
  (`grep -r create_as_user_id .`): the simpler safe rule. The reason tells the agent to use the
  Grep tool, which the hook does not see. Spelled with spaces it counts only alone between quotes
  or separators (`'MESSAGE AS USER ID'`), not as words of a sentence (`'Rotate session secrets'`).
* The hook reads the command as bash does (hooks/guard/shell.py): a line bash runs is never taken
  for heredoc text, so a danger after a here-string or an oddly quoted delimiter is still seen.
  Ordinary commands pass (tests/hook/test_false_positives.py: none of its suite is blocked).
* The free text of `create_session.py --prompt-file -` / `send_message.py --message-file -`
  in a quoted heredoc is Devin's task, not a command: it may mention Devin, the API host, curl or
  a field name. Only a literal token is refused there.
* The plugin's own script calls may name the API host (e.g. an --attachment-url).
"""

from __future__ import annotations

import importlib.util
import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/, for plugin_helpers
import plugin_helpers as ph  # noqa: E402

SID = "devin-" + "0123456789abcdef" * 2
HOOK_COMMAND = json.loads((ph.HOOKS_DIR / "claude-hooks.json").read_text(encoding="utf-8"))[
    "hooks"]["PreToolUse"][0]["hooks"][0]["command"]


@pytest.fixture(scope="module")
def plugin(tmp_path_factory) -> Path:
    """A copy of the shipped plugin; every contract script exists in it (empty if not yet written)."""
    root = ph.copy_plugin(tmp_path_factory.mktemp("guard") / "plugin root")  # a space on purpose
    (root / "scripts").mkdir(exist_ok=True)
    for name in ph.CONTRACT_SCRIPTS:
        (root / "scripts" / f"{name}.py").touch()
    return root


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("home")


def run_hook(root: Path, command=None, *, payload=None, raw=None, env=None, home_dir=None,
             tool="Bash") -> subprocess.CompletedProcess:
    if raw is None:
        if payload is None:
            payload = {
                "session_id": "s1", "transcript_path": "/tmp/t.jsonl", "cwd": str(root),
                "permission_mode": "default", "hook_event_name": "PreToolUse",
                "tool_name": tool, "tool_input": {"command": command, "description": "x"},
                "tool_use_id": "toolu_1",
            }
        raw = json.dumps(payload)
    full_env = ph.clean_env(CLAUDE_PLUGIN_ROOT=str(root), **(env or {}))
    if home_dir is not None:
        full_env["HOME"] = str(home_dir)
    return subprocess.run(HOOK_COMMAND, shell=True, input=raw.encode("utf-8"),
                          capture_output=True, env=full_env, timeout=30)


def script(root: Path, name: str) -> str:
    return f"python3 {shlex.quote(f'{root}/scripts/{name}.py')}"


def assert_allowed(proc):
    assert proc.returncode == 0, proc.stderr.decode()
    assert proc.stdout == b"" and proc.stderr == b""


def assert_blocked(proc, *words):
    err = proc.stderr.decode()
    assert proc.returncode == 2, (proc.returncode, err)
    assert err.startswith("Blocked by the devin plugin guard:")
    assert "\n" not in err.strip(), "one paragraph"
    for w in words:
        assert w in err, err


# ------------------------------------------------------------------------------------------
# (a) the Devin API reached directly

DIRECT_API = [
    "curl https://api.devin.ai/v3/self",
    "curl -s -H 'Authorization: Bearer x' https://API.Devin.AI/v3/organizations/org-1/sessions",
    "wget -qO- https://api.devin.ai/v3/self",
    "http GET api.devin.ai/v3/self",
    "python3 -c \"import urllib.request as u; u.urlopen('https://api.devin.ai/v3/self')\"",
    "node -e \"fetch('https://api.devin.ai/v3/self').then(r => r.text()).then(console.log)\"",
    "openssl s_client -connect api.devin.ai:443 </dev/null",
    "nc api.devin.ai 443",
    "curl https://api.acme.devinenterprise.com/v3/self",
    "curl \"https://api.\"devin\".ai/v3/self\"",
    "curl \"$DEVIN_API_BASE/v3/self\"",
    "ls && curl -X DELETE https://api.devin.ai/v3/organizations/o/sessions/" + SID,
]


@pytest.mark.parametrize("command", DIRECT_API)
def test_direct_api_calls_are_blocked(plugin, command):
    assert_blocked(run_hook(plugin, command), "scripts", "check_setup.py")


def test_configured_api_base_host_is_blocked(plugin):
    env = {"DEVIN_API_BASE": "http://127.0.0.1:18799"}
    assert_blocked(run_hook(plugin, "curl http://127.0.0.1:18799/v3/self", env=env))
    assert_allowed(run_hook(plugin, "curl http://127.0.0.1:8000/health", env=env))


def test_a_substitution_in_a_plugin_script_call_is_not_exempt(plugin):
    cmd = f"{script(plugin, 'get_session')} $(curl -s https://api.devin.ai/v3/self)"
    assert_blocked(run_hook(plugin, cmd), "directly")
    cmd = f"{script(plugin, 'get_session')} {SID} > >(curl -d @- https://api.devin.ai/v3/x)"
    assert_blocked(run_hook(plugin, cmd), "directly")


def test_chaining_a_plugin_script_with_a_direct_call_is_blocked(plugin):
    cmd = f"{script(plugin, 'get_session')} {SID} && curl https://api.devin.ai/v3/self"
    assert_blocked(run_hook(plugin, cmd))


# ------------------------------------------------------------------------------------------
# (b) forbidden fields, any spelling

FORBIDDEN = [
    "curl -X POST https://example.com -d '{\"create_as_user_id\": \"u1\"}'",
    "echo '{\"Create-As-User-Id\": \"u1\"}' > payload.json",
    "echo '{\"session.secrets\": []}' > payload.json",
    "echo 'MESSAGE AS USER ID'",
    "echo ｃｒｅａｔｅ＿ａｓ＿ｕｓｅｒ＿ｉｄ",                          # full-width
    "echo 𝐬𝐞𝐬𝐬𝐢𝐨𝐧_𝐬𝐞𝐜𝐫𝐞𝐭𝐬",                                      # mathematical bold
    "echo '{\"message\u200b_as\u200d_user\u2060_id\": 1}'",          # zero-width characters
    "echo '{\"session\\u005fsecrets\": 1}' > p.json",                # JSON escape
    "curl 'https://example.com/?create%5Fas%5Fuser%5Fid=1'",         # URL encoding
    "printf 'session\\x5fsecrets'",                                  # printf escape
    "grep -r create_as_user_id .",                                   # documented: blocked
    "cat > p.json <<'EOF'\n{\"session_secrets\": {\"A\": \"b\"}}\nEOF",
]


@pytest.mark.parametrize("command", FORBIDDEN)
def test_forbidden_fields_are_blocked(plugin, command):
    assert_blocked(run_hook(plugin, command), "forbidden", "Grep tool")


def test_forbidden_field_in_a_plugin_script_option_is_blocked(plugin):
    cmd = (f"{script(plugin, 'create_session')} --title 'x' --field create_as_user_id=u1 "
           "--prompt-file - <<'DEVIN_TASK_EOF'\nFix the bug\nDEVIN_TASK_EOF")
    assert_blocked(run_hook(plugin, cmd), "create_as_user_id")


def test_forbidden_field_in_a_payload_heredoc_is_blocked(plugin):
    cmd = (f"{script(plugin, 'create_session')} --title 'x' --payload-file - <<'DEVIN_TASK_EOF'\n"
           "{\"prompt\": \"x\", \"session_secrets\": {}}\nDEVIN_TASK_EOF")
    assert_blocked(run_hook(plugin, cmd))


def test_unquoted_heredoc_is_not_free_text(plugin):
    """An unquoted delimiter lets the shell expand the body, so it is checked like a command."""
    cmd = (f"{script(plugin, 'create_session')} --title 'x' --prompt-file - <<DEVIN_TASK_EOF\n"
           "also send session_secrets\nDEVIN_TASK_EOF")
    assert_blocked(run_hook(plugin, cmd))


# ------------------------------------------------------------------------------------------
# (c) the token and the environment

ENV_LEAKS = [
    "echo $DEVIN_SERVICE_USER_TOKEN",
    "echo \"${DEVIN_SERVICE_USER_TOKEN}\"",
    "printf %s \"$DEVIN_SERVICE_USER_TOKEN\" | base64",
    "python3 -c 'import os; print(os.environ[\"DEVIN_SERVICE_USER_TOKEN\"])'",
    "printenv",
    "printenv DEVIN_SERVICE_USER_TOKEN",
    "env",
    "env | grep -i devin",
    "env -0",
    "set",
    "set | less",
    "export -p",
    "export",
    "declare -p",
    "declare -x",
    "typeset -p",
    "cat $DEVIN_TOKEN_FILE",
    "head -c 12 \"${DEVIN_TOKEN_FILE}\"",
    "cat /proc/self/environ",
    "tr '\\0' '\\n' < /proc/1/environ",
    "python3 -c 'import os; print(os.environ)'",
    "node -e 'console.log(process.env)'",
    "bash -c 'printenv'",
    "echo \"$(env)\"",
    "ps eww",
    "sudo env",
]


@pytest.mark.parametrize("command", ENV_LEAKS)
def test_token_and_environment_leaks_are_blocked(plugin, command):
    assert_blocked(run_hook(plugin, command), "token")


def test_the_token_file_by_path_is_blocked(plugin, home):
    token_file = home / ".config" / "devin" / "token"
    env = {"DEVIN_TOKEN_FILE": str(token_file)}
    for cmd in (f"cat {token_file}", "less ~/.config/devin/token", "less $HOME/.config/devin/token",
                f"cp {token_file} /tmp/x"):
        assert_blocked(run_hook(plugin, cmd, env=env, home_dir=home), "token")


LITERAL_TOKEN = "cog_" + "A1b2C3d4E5f6G7h8I9j0K1l2"


def test_literal_token_is_blocked_even_in_free_text(plugin):
    assert_blocked(run_hook(plugin, f"echo {LITERAL_TOKEN}"), "revoke")
    cmd = (f"{script(plugin, 'create_session')} --title 'x' --prompt-file - <<'DEVIN_TASK_EOF'\n"
           f"use the token {LITERAL_TOKEN}\nDEVIN_TASK_EOF")
    assert_blocked(run_hook(plugin, cmd), "revoke")
    assert_blocked(run_hook(plugin, f"DEVIN_SERVICE_USER_TOKEN={LITERAL_TOKEN} "
                                    f"{script(plugin, 'check_setup')}"))


@pytest.mark.parametrize("command", [
    "cat ~/.claude/.credentials.json",
    "python3 -c \"import json; print(json.load(open('/root/.claude/.credentials.json')))\"",
    "jq .pluginSecrets \"$HOME/.claude/.credentials.json\"",
    "grep -r pluginSecrets ~/.claude",
    "cat ~/.claude/.CREDENTIALS.JSON",
])
def test_claude_credentials_file_is_blocked(plugin, command):
    """Sensitive plugin options (the MCP server's token) sit there on machines without a keychain."""
    assert_blocked(run_hook(plugin, command), "credentials file")


def test_the_token_from_plugin_options_is_blocked(plugin):
    value = "cog_" + "PluginOption0123456789"
    assert_blocked(run_hook(plugin, f"echo {value[4:]}xx; echo {value}",
                            env={"CLAUDE_PLUGIN_OPTION_DEVIN_TOKEN": value}))


def test_the_configured_token_value_is_blocked(plugin):
    value = "tok-not-cog-prefixed-1234"
    assert_blocked(run_hook(plugin, f"echo {value} > /tmp/x",
                            env={"DEVIN_SERVICE_USER_TOKEN": value}))


# ------------------------------------------------------------------------------------------
# allowed

UNRELATED = [
    "git status", "pytest -q", "ls", "ls -la", "npm test", "git log --oneline -5",
    "set -euo pipefail; make", "export PATH=\"$PATH:/opt/bin\"", "env FOO=1 make test",
    "printenv PATH", "ps -ef", "declare -A map", "cat README.md", "grep -rn devin README.md",
    "git commit -m 'Add devin plugin commands'", "python3 -m pip list", "echo cog_short",
    # named by issue 15 (false positives of the first version)
    "grep -rn os.environ src/", "git commit -m 'Rotate session secrets'", 'grep -n "cog_" bot/cogs/*.py',
    "python3 -c \"from discord.ext import commands; print('cog_unload')\"", "git log --grep=devin",
    "pytest tests/test_devin_client.py -k token", "cat .env.example", "echo $HOME", "ls ~/.config",
    "grep -rn cog_app_command_error bot/", "echo $((1<<4))", "cat <<< 'one line' | wc -c",
]


@pytest.mark.parametrize("command", UNRELATED)
def test_unrelated_commands_pass_silently(plugin, command):
    assert_allowed(run_hook(plugin, command))


def test_plugin_script_calls_pass(plugin):
    cases = [
        f"{script(plugin, 'get_session')} '{SID}'",
        f"{script(plugin, 'list_sessions')} --limit 10 || true",
        f"{script(plugin, 'check_setup')} --json",
        f"{script(plugin, 'create_session')} --title 'x' "
        "--attachment-url https://api.devin.ai/v3/attachments/a1/log.txt --prompt-file - "
        "<<'DEVIN_TASK_EOF'\nsee the log\nDEVIN_TASK_EOF",
        f"DEVIN_TOKEN_FILE=~/.config/devin/token {script(plugin, 'check_setup')}",
        f"{script(plugin, 'update_tags')} '{SID}' --add 'ci'",
    ]
    for cmd in cases:
        assert_allowed(run_hook(plugin, cmd))


# A danger on a line bash runs, after a heredoc opener the first reader misread ({P}: a call whose
# quoted heredoc is free text for Devin, exempt from most checks).
HIDDEN_AFTER_OPENERS = [
    "{P} <<<'EOF'\nenv\nEOF",
    "{P} <<< \"$x\"\nprintenv DEVIN_SERVICE_USER_TOKEN",
    "{P} <<'E'OF\ntext\nEOF\nprintenv DEVIN_SERVICE_USER_TOKEN\nE",
    "{P} <<E\"OF\"\ntext\nEOF\nenv\nE",
    "{P} <<-'EOF'\ntext\n\tEOF\ncat ~/.config/devin/token",
    "{P} <<'A' && cat <<'B'\ntext\nA\nb\nB\nenv",
    "echo 'a <<EOF'; {P} <<'T'\ntext\nT\nenv\nEOF",
    "{P} <<'T' # <<EOF\ntext\nT\nenv\nEOF",
    "echo $((1<<2)); {P} <<'T'\ntext\nT\nenv\n2",
    "{P} <<'T'\ntext\nT\ne\\\nnv",
    "{P} <<'T'\ntext\nT\n&>/dev/null env",
    "{P} <<'T'\ntext\nT\nenv -S 'printenv'",
    "{P} <<'T'\ntext\nT\ncat /proc/self/../self/environ",
]


@pytest.mark.parametrize("template", HIDDEN_AFTER_OPENERS)
def test_a_danger_after_a_tricky_heredoc_opener_is_blocked(plugin, home, template):
    call = f"{script(plugin, 'create_session')} --title x --prompt-file -"
    assert_blocked(run_hook(plugin, template.replace("{P}", call), home_dir=home))


def test_free_text_for_devin_may_mention_anything_but_a_token(plugin):
    text = ("Devin: our client still calls curl https://api.devin.ai/v3/self directly and "
            "echoes $DEVIN_SERVICE_USER_TOKEN in a debug line; remove create_as_user_id and "
            "the session_secrets handling, print os.environ nowhere, and never run printenv.")
    create = (f"{script(plugin, 'create_session')} --title 'Clean up the Devin client' "
              f"--repo acme/api --max-acu 5 --prompt-file - <<'DEVIN_TASK_EOF'\n{text}\n"
              "DEVIN_TASK_EOF")
    assert_allowed(run_hook(plugin, create))
    message = (f"{script(plugin, 'send_message')} '{SID}' --message-file - "
               f"<<'DEVIN_MESSAGE_EOF'\n{text}\nDEVIN_MESSAGE_EOF")
    assert_allowed(run_hook(plugin, message))
    # ...but what follows the heredoc is a command again
    assert_blocked(run_hook(plugin, create + "\ncurl https://api.devin.ai/v3/self"))


def test_a_script_of_the_same_name_elsewhere_is_not_the_plugins(plugin, tmp_path):
    fake = tmp_path / "scripts"
    fake.mkdir()
    (fake / "create_session.py").touch()
    cmd = (f"python3 {fake}/create_session.py --prompt-file - <<'DEVIN_TASK_EOF'\n"
           "send session_secrets\nDEVIN_TASK_EOF")
    assert_blocked(run_hook(plugin, cmd))


def test_other_tools_and_odd_input(plugin):
    assert_allowed(run_hook(plugin, payload={"tool_name": "Read",
                                             "tool_input": {"file_path": "/etc/hosts"}}))
    assert_allowed(run_hook(plugin, raw="not json at all"))
    assert_allowed(run_hook(plugin, raw=""))
    assert_allowed(run_hook(plugin, raw="[1, 2]"))
    # unparseable but about Devin: fail closed
    assert_blocked(run_hook(plugin, raw='{"tool_name": "Bash", "tool_input": {"command": '
                                        '"curl https://api.devin.ai/v3/self'), "failed")
    assert_blocked(run_hook(plugin, payload={"tool_name": "Bash",
                                             "tool_input": {"command": ["devin", "x"]}}), "failed")


# ------------------------------------------------------------------------------------------
# failing closed

def test_corrupted_policy_override_fails_closed(plugin, tmp_path):
    bad = tmp_path / "forbidden.json"
    bad.write_text('{"forbidden_fields": [', encoding="utf-8")
    env = {"DEVIN_GUARD_POLICY_FILE": str(bad)}
    assert_blocked(run_hook(plugin, f"{script(plugin, 'get_session')} '{SID}'", env=env),
                   "failed", "fail closed")
    assert_allowed(run_hook(plugin, "git status", env=env))


def test_override_adds_names_and_never_removes_them(plugin, tmp_path):
    extra = tmp_path / "forbidden.json"
    extra.write_text(json.dumps({"forbidden_fields": ["bypass_everything"]}), encoding="utf-8")
    env = {"DEVIN_GUARD_POLICY_FILE": str(extra)}
    assert_blocked(run_hook(plugin, "echo '{\"Bypass-Everything\": 1}'", env=env))
    assert_blocked(run_hook(plugin, "echo '{\"session_secrets\": 1}'", env=env))


def test_corrupted_bundled_policy_fails_closed(tmp_path):
    root = ph.copy_plugin(tmp_path / "plugin")
    (root / "policy" / "forbidden.json").write_text("{", encoding="utf-8")
    assert_blocked(run_hook(root, f"{script(root, 'get_session')} '{SID}'"), "failed")
    assert_blocked(run_hook(root, "curl https://api.devin.ai/v3/self"), "failed")
    assert_allowed(run_hook(root, "ls"))


# ------------------------------------------------------------------------------------------
# speed, and the decision function on its own

@pytest.fixture(scope="module")
def guard(plugin):
    spec = importlib.util.spec_from_file_location("guard_bash_under_test",
                                                  plugin / "hooks" / "guard_bash.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _decide(guard, command, cwd="/tmp"):
    return guard.decide({"tool_name": "Bash", "tool_input": {"command": command}, "cwd": cwd})


def test_decide_directly(guard, plugin, monkeypatch):
    for key in [k for k in os.environ if k.startswith("DEVIN_")]:
        monkeypatch.delenv(key)
    assert _decide(guard, "git status") is None
    assert "directly" in _decide(guard, "curl https://api.devin.ai/v3/self")
    assert "forbidden" in _decide(guard, "echo Session__Secrets")
    assert "environment" in _decide(guard, "printenv")
    assert _decide(guard, f"{script(plugin, 'get_session')} {SID}") is None
    # a relative script path resolves against the call's cwd
    assert _decide(guard, "python3 scripts/create_session.py --attachment-url "
                          "https://api.devin.ai/x --prompt-file - <<'E'\nhi\nE",
                   cwd=str(plugin)) is None
    assert guard.decide({"tool_name": "Edit", "tool_input": {}}) is None


def test_heredoc_splitting(guard):
    runs, bodies = guard.split_heredocs("a <<'X'\nbody 1\nX\nb <<-Y\n\tbody 2\n\tY\nc")
    assert runs == "a <<'X'\nb <<-Y\nc"
    assert bodies == [("a <<'X'", "body 1", True), ("b <<-Y", "\tbody 2", False)]
    runs, bodies = guard.split_heredocs("a <<'X'\nnever closed")
    assert runs == "a <<'X'" and bodies[0][1] == "never closed"
