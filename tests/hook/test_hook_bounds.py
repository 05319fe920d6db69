"""The guard hook's bounds (issue 15): time, and failing closed.

* Time: reading a command is linear in its length. Generated worst cases (many quotes, `<<`, deep
  `$(`, runs of backslashes, separators, ...; 30,000 and 200,000 characters) are each decided in
  under 2 s (measured: under 0.8 s for 200 KB on a loaded 2-CPU machine; before issue 15,
  30,000 characters of `d-d-d-...` or `os.environ` repeated took about a minute). The bound is wide
  on purpose: this is not a benchmark.
* The deadline: past DEADLINE_SECONDS (4 s; claude-hooks.json gives the hook 10 s) the hook stops; a
  Devin-related command is blocked, any other passes. Tested with a decide() made slow on purpose.
* A crash in any stage (reading the policy, reading the command, building the views, any rule,
  the message) blocks a Devin-related command and lets an unrelated one pass.
"""

from __future__ import annotations

import io
import json
import os
import random
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
HOOKS = REPO / "hooks"
if str(HOOKS) not in sys.path:
    sys.path.insert(0, str(HOOKS))

import guard_bash  # noqa: E402
from guard.rules import RULES, Rule  # noqa: E402

guard_command = sys.modules["guard.command"]
guard_decide = sys.modules["guard.decide"]   # (guard.decide the attribute is the function)

DEVIN = "curl https://api.devin.ai/v3/self"
UNRELATED = "git status"


def worst_cases(n: int) -> dict[str, str]:
    """Inputs of about n characters aimed at the reader's and the rules' weak spots."""
    rnd = random.Random(15)
    specials = "'\"\\$`(){}<>|&;#\n \t=*?[]~!-"
    return {
        "single quotes": "'" * n, "double quotes": '"' * n, "mixed quotes": "'\"" * (n // 2),
        "heredoc operators": "<<A " * (n // 4), "heredoc lines": "cat <<A\n" * (n // 8),
        "quoted heredocs": "cat <<'A'\n" * (n // 10), "dash heredocs": "<<-A\n\t" * (n // 6),
        "here-strings": "<<<'A'\n" * (n // 7), "heredocs in substitutions": "$(cat <<A\n" * (n // 10),
        "open substitutions": "$(" * (n // 2), "balanced substitutions": "$(" * (n // 3) + ")" * (n // 3),
        "backquotes": "`" * n, "escaped backquotes": "\\`" * (n // 2), "parameters": "${" * (n // 2),
        "arithmetic": "$((" * (n // 3), "arrays": "a=(" * (n // 3), "subshells": "(" * n,
        "backslashes": "\\" * n, "continuations": "\\\n" * (n // 2), "separators": ";" * n,
        "pipes": "&|" * (n // 2), "newlines": "\n" * n, "blanks": " " * n, "one word": "x" * n,
        "dotted names": "d-" * (n // 2), "os.environ": "os.environ" * (n // 10), "escapes": "\\u" * (n // 2),
        "print calls": "print(" * (n // 6), "print blanks": "print" + " " * n,
        "environ items": "os.environ.items()" * (n // 18), "proc paths": "/proc/" * (n // 6),
        "proc globs": "/proc/self/" + "*" * n, "home paths": "~/" + "a/" * (n // 2), "globs": "*?[" * (n // 3),
        "cog": "cog_" * (n // 4), "cog dashes": "cog-" * (n // 4), "env words": "env " * (n // 4),
        "sh -c": "sh -c " * (n // 6), "eval": "eval " * (n // 5), "nested quoting": "bash -c '" * (n // 9),
        "spaced field": "session secrets " * (n // 16), "devin words": "devin api key " * (n // 14),
        "hosts": "api.devin.ai." * (n // 13), "comments": "# <<EOF\n" * (n // 8),
        "cases": "$(case x in x) " * (n // 15),
        "free text": "python3 s/create_session.py --prompt-file - <<'E'\n" + "text line\n" * (n // 10) + "E",
        "random specials": "".join(rnd.choice(specials) for _ in range(n)),
        "random mix": "".join(rnd.choice(specials + "abcenv<<EOF") for _ in range(n)),
    }


def _decide(text: str) -> str | None:
    return guard_bash.decide({"tool_name": "Bash", "tool_input": {"command": text}, "cwd": "/tmp"})


@pytest.fixture
def no_devin_env(monkeypatch):
    for key in [k for k in os.environ if k.startswith(("DEVIN_", "CLAUDE_PLUGIN_OPTION"))]:
        monkeypatch.delenv(key)


# ------------------------------------------------------------------------------------------
# time


@pytest.mark.parametrize("size", [30_000, pytest.param(200_000, marks=pytest.mark.slow)])
def test_worst_cases_are_decided_in_under_two_seconds(no_devin_env, size):
    slow = {}
    for name, text in worst_cases(size).items():
        assert len(text) >= size * 0.9, name
        started = time.perf_counter()
        _decide(text)
        took = time.perf_counter() - started
        if took >= 2.0:
            slow[name] = round(took, 2)
    assert slow == {}


def test_the_reader_and_the_rules_have_no_super_linear_expressions():
    """The expressions that once took quadratic time, on the input that showed it."""
    from guard import rules

    started = time.perf_counter()
    assert rules.HOST_FIXED.search("d-" * 100_000 + "x") is None
    assert rules.HOST_FIXED.search(re.sub(r"[\"'\\]", "", "\\u" * 100_000)) is None
    assert rules.ENV_DUMP_CALL.search("print" + " " * 100_000 + "x") is None
    assert rules.ENV_WHOLE.search("(" + " " * 100_000 + "x") is None
    assert guard_bash._DEVIN_HINT.search("d" + " " * 100_000 + "x") is None
    assert time.perf_counter() - started < 2.0


# ------------------------------------------------------------------------------------------
# the deadline


def _main(monkeypatch, command: str) -> tuple[int, str]:
    payload = json.dumps({"tool_name": "Bash", "tool_input": {"command": command}, "cwd": "/tmp"})
    stdin = io.TextIOWrapper(io.BytesIO(payload.encode()))
    stderr = io.StringIO()
    monkeypatch.setattr(sys, "stdin", stdin)
    monkeypatch.setattr(sys, "stderr", stderr)
    return guard_bash.main(), stderr.getvalue()


def _sleep(payload, *args, **kwargs):
    time.sleep(30)


def _spin(payload, *args, **kwargs):
    while True:
        pass


def _backtrack(payload, *args, **kwargs):
    re.match(r"(a+)+$", "a" * 64 + "b")   # exponential: the regular expression engine itself


@pytest.mark.parametrize("slow", [_sleep, _spin, _backtrack], ids=["sleep", "python loop", "regex"])
def test_past_the_deadline_a_devin_command_is_blocked_and_another_passes(monkeypatch, no_devin_env, slow):
    monkeypatch.setattr(guard_bash, "DEADLINE_SECONDS", 0.3)
    monkeypatch.setattr(guard_bash, "decide", slow)
    started = time.perf_counter()
    status, err = _main(monkeypatch, DEVIN)
    assert status == 2 and "fail closed" in err and "DeadlineExceeded" in err
    assert _main(monkeypatch, UNRELATED) == (0, "")
    assert time.perf_counter() - started < 5


def test_the_deadline_is_four_seconds_within_the_hooks_ten():
    assert guard_bash.DEADLINE_SECONDS == 4.0
    hooks = json.loads((HOOKS / "claude-hooks.json").read_text(encoding="utf-8"))
    assert hooks["hooks"]["PreToolUse"][0]["hooks"][0]["timeout"] >= 2 * guard_bash.DEADLINE_SECONDS


def test_a_decision_within_the_deadline_leaves_other_timers_alone(monkeypatch, no_devin_env):
    import signal

    def on_alarm(signum, frame):
        raise AssertionError("not yet")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    try:
        signal.setitimer(signal.ITIMER_REAL, 50)
        assert guard_bash.decide_within({"tool_name": "Bash", "tool_input": {"command": "ls"}}, 5) is None
        remaining, _ = signal.setitimer(signal.ITIMER_REAL, 0)
        assert 40 < remaining <= 50
        assert signal.getsignal(signal.SIGALRM) is on_alarm
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def test_without_sigalrm_the_decision_runs_in_a_thread_with_the_same_deadline(monkeypatch, no_devin_env):
    """Off the main thread (and on Windows) signal.signal is not available."""
    monkeypatch.setattr(guard_bash, "decide", _sleep)
    outcome: list[BaseException | str | None] = []

    def run() -> None:
        try:
            outcome.append(guard_bash.decide_within({"tool_name": "Bash"}, 0.3))
        except BaseException as exc:  # noqa: BLE001
            outcome.append(exc)

    worker = threading.Thread(target=run)
    worker.start()
    worker.join(10)
    assert len(outcome) == 1 and isinstance(outcome[0], guard_bash.DeadlineExceeded)
    monkeypatch.setattr(guard_bash, "decide", lambda payload: "blocked")
    outcome.clear()
    worker = threading.Thread(target=run)
    worker.start()
    worker.join(10)
    assert outcome == ["blocked"]


def test_the_hook_process_stops_at_the_deadline(tmp_path):
    """The real entry point in its own process, with decide() replaced by one that never ends."""
    code = (
        "import sys, time; sys.path.insert(0, sys.argv[1]); import guard_bash as g\n"
        "g.DEADLINE_SECONDS = 0.5\n"
        "g.decide = lambda payload: time.sleep(60)\n"
        "sys.exit(g.main())\n")
    for command, status in ((DEVIN, 2), (UNRELATED, 0)):
        payload = json.dumps({"tool_name": "Bash", "tool_input": {"command": command}})
        started = time.perf_counter()
        proc = subprocess.run([sys.executable, "-I", "-S", "-c", code, str(HOOKS)], input=payload.encode(),
                              capture_output=True, timeout=30, env={"PATH": os.environ.get("PATH", "")})
        assert proc.returncode == status, proc.stderr
        assert time.perf_counter() - started < 10
        if status:
            assert b"fail closed" in proc.stderr and b"within 0.5 s" in proc.stderr


# ------------------------------------------------------------------------------------------
# a crash in any stage


class Boom(RuntimeError):
    pass


def _boom(*args, **kwargs):
    raise Boom("injected")


def _assert_fails_closed(monkeypatch):
    status, err = _main(monkeypatch, DEVIN)
    assert status == 2, err
    assert "fail closed" in err and "Boom: injected" in err
    assert _main(monkeypatch, "ls -la") == (0, "")
    assert _main(monkeypatch, "printenv")[0] == 2, "dumping the environment counts as Devin-related"


@pytest.mark.parametrize("stage", ["load_policy", "Command", "reason"])
def test_a_crash_in_a_stage_of_the_decision_fails_closed(monkeypatch, no_devin_env, stage):
    monkeypatch.setattr(guard_decide, stage, _boom)
    _assert_fails_closed(monkeypatch)


def test_a_crash_in_the_reader_fails_closed(monkeypatch, no_devin_env):
    monkeypatch.setattr(guard_command, "parse", _boom)
    _assert_fails_closed(monkeypatch)


@pytest.mark.parametrize("index", range(len(RULES)), ids=[rule.name for rule in RULES])
def test_a_crash_in_any_rule_fails_closed(monkeypatch, no_devin_env, index):
    rules = list(RULES)
    rules[index] = Rule(RULES[index].name, RULES[index].kind, _boom)
    monkeypatch.setattr(guard_decide, "RULES", tuple(rules))
    status, err = _main(monkeypatch, DEVIN)
    # a rule before the one that blocks crashes: fail closed; after it: the block stands
    assert status == 2, err
    assert _main(monkeypatch, "ls -la") == (0, "")


def test_a_crash_reading_the_input_fails_closed(monkeypatch, no_devin_env):
    monkeypatch.setattr(guard_bash.json, "loads", _boom)
    _assert_fails_closed(monkeypatch)


def test_a_crash_in_a_rule_for_a_command_about_the_token_fails_closed(monkeypatch, no_devin_env):
    """Escaped in the JSON, the command still counts as Devin-related."""
    monkeypatch.setattr(guard_decide, "RULES", (Rule("boom", "api-host", _boom),))
    payload = '{"tool_name": "Bash", "tool_input": {"command": "cat ~/.config/d\\u0065vin/token"}}'
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(payload.encode())))
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    assert guard_bash.main() == 2
