"""Property tests of the guard hook (issue 15), with Hypothesis.

* Free text: any benign text in the quoted heredoc of a plugin-script call (the task for Devin)
  passes, whatever it mentions and however it is quoted inside.
* Hidden dangers: `env`, `cat ~/.config/devin/token` or `printenv DEVIN_SERVICE_USER_TOKEN` on a
  line bash executes, after any of the heredoc / here-string openers the reader used to misread
  (and any text in their bodies), is blocked.
* Against bash: for scripts made of pieces that confuse readers (openers, stray quotes, `)`,
  delimiters, continuations, ...), whenever bash itself runs `env` the hook blocks the script.
"""

from __future__ import annotations

import itertools
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

REPO = Path(__file__).resolve().parents[2]
HOOKS = REPO / "hooks"
if str(HOOKS) not in sys.path:
    sys.path.insert(0, str(HOOKS))

from guard.decide import decide, load_policy  # noqa: E402
from guard.rules import CREDENTIALS_FILE, IDENTIFIER, LITERAL_TOKEN  # noqa: E402

CANONICAL, FORBIDDEN = load_policy(str(REPO), environ={})
HOME = "/home/guard-test"
BASH = shutil.which("bash")
SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(scope="module")
def scripts(tmp_path_factory) -> str:
    root = tmp_path_factory.mktemp("props") / "plugin root"
    (root / "scripts").mkdir(parents=True)
    for name in ("create_session", "send_message"):
        (root / "scripts" / f"{name}.py").touch()
    return str(root / "scripts")


@pytest.fixture(autouse=True, scope="module")
def fixed_home():
    old = os.environ.get("HOME")
    os.environ["HOME"] = HOME
    yield
    if old is None:
        del os.environ["HOME"]
    else:
        os.environ["HOME"] = old


def _decide(scripts: str, text: str) -> str | None:
    root = str(Path(scripts).parent)
    return decide({"tool_name": "Bash", "tool_input": {"command": text}, "cwd": "/tmp"},
                  CANONICAL, FORBIDDEN, root=root, environ={})


def _has_token(text: str) -> bool:
    return any(not IDENTIFIER.fullmatch(m.group(1)) for m in LITERAL_TOKEN.finditer(text))


# ------------------------------------------------------------------------------------------
# free text passes

TRICKY_TEXT = ["env", "printenv DEVIN_SERVICE_USER_TOKEN", "cat ~/.config/devin/token", "$(env)", "`printenv`",
               "curl https://api.devin.ai/v3/self", "session_secrets", "create_as_user_id", "print(os.environ)",
               "cat <<EOF", "cat <<<'EOF'", "EOF", "EOF)", ")", "'", '"', "\\", "$((1<<2))", "# comment",
               "DEVIN_TASK_EOF ", " DEVIN_TASK_EOF", "DEVIN_TASK_EOF)", "DEVIN_TASK_EOF\\", "\\DEVIN_TASK_EOF",
               "'DEVIN_TASK_EOF'", "/proc/self/environ", "$DEVIN_API_BASE", "a=(", "${x:-env}", "e\\"]
LINE = st.one_of(st.sampled_from(TRICKY_TEXT),
                 st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\n"), max_size=40))
FREE_TEXT_CALLS = [
    ("{S}/create_session.py --title t --prompt-file - <<'DEVIN_TASK_EOF'", "DEVIN_TASK_EOF", False),
    ("{S}/create_session.py --prompt-file=- --repo a/b <<\"DEVIN_TASK_EOF\"", "DEVIN_TASK_EOF", False),
    ("{S}/send_message.py s1 --message-file - <<\\DEVIN_TASK_EOF", "DEVIN_TASK_EOF", False),
    ("{S}/create_session.py --prompt-file - <<'DEVIN'_TASK_EOF", "DEVIN_TASK_EOF", False),
    ("{S}/send_message.py s1 --message-file - << 'DEVIN_TASK_EOF' > /dev/null", "DEVIN_TASK_EOF", False),
    ("{S}/create_session.py --prompt-file - <<-'DEVIN_TASK_EOF'", "DEVIN_TASK_EOF", True),
]


@SETTINGS
@given(call=st.sampled_from(FREE_TEXT_CALLS), lines=st.lists(LINE, max_size=8))
def test_benign_free_text_for_devin_passes(scripts, call, lines):
    opener, delimiter, tabs = call
    assume(all((line.lstrip("\t") if tabs else line) != delimiter for line in lines))
    body = "\n".join(lines)
    assume(not _has_token(body) and not CREDENTIALS_FILE.search(body))
    text = f"python3 {opener.replace('{S}', shlex.quote(scripts))}\n{body}\n{delimiter}"
    assert _decide(scripts, text) is None


# ------------------------------------------------------------------------------------------
# a danger on a line bash runs is blocked

DANGERS = ["env", "cat ~/.config/devin/token", "printenv DEVIN_SERVICE_USER_TOKEN"]
# {P} the free-text call, {B} body text, {D} the danger on a line bash runs
OPENERS = [
    "{P} <<<'EOF'\n{D}\nEOF", "{P} <<< \"$x\"\n{D}", "{P} <<<word\n{D}\nword", "{P} <<<EOF\n{B}\n{D}\nEOF",
    "{P} <<'E'OF\n{B}\nEOF\n{D}\nE", "{P} <<E\"OF\"\n{B}\nEOF\n{D}\nE", "{P} <<\\EOF\n{B}\nEOF\n{D}\nE",
    "{P} <<\"E\"'O'F\n{B}\nEOF\n{D}\nE", "{P} <<-'EOF'\n{B}\n\t\tEOF\n{D}\nEOF",
    "{P} <<'A' && cat <<'B'\n{B}\nA\n{B}\nB\n{D}", "cat <<A; {P} <<'B'\n{B}\nA\n{B}\nB\n{D}",
    "echo 'x <<EOF'; {P} <<'T'\n{B}\nT\n{D}\nEOF", "{P} <<'T' # <<EOF\n{B}\nT\n{D}\nEOF",
    "echo $((1<<2)); {P} <<'T'\n{B}\nT\n{D}\n2", "{P} <<'T' \\\n && true\n{B}\nT\n{D}",
    "{P} <<'T'\n{B}\nT\n&>/dev/null {D}", "{P} <<'T'\n{B}\nT\n2>/dev/null env -i {D}",
    "{P} <<'T'\n{B}\nT\n{D} \\\n  ", "x=$({P} <<'T'\n{B}\nT\n)\n{D}",
]
BODY_LINE = st.one_of(st.sampled_from(["text", "EO", "F", "'", '"', "$(", "`", "\\", "E OF", "EOF ", " EOF"]),
                      st.text(st.sampled_from("abc $'\"\\`()<>;|&#{}=\t"), max_size=20))
DELIMITERS = {"EOF", "E", "A", "B", "T", "2", "word"}


@SETTINGS
@given(opener=st.sampled_from(OPENERS), danger=st.sampled_from(DANGERS), body=st.lists(BODY_LINE, max_size=4),
       script=st.sampled_from(["create_session.py --prompt-file -", "send_message.py s --message-file -"]))
def test_a_danger_after_a_tricky_opener_is_blocked(scripts, opener, danger, body, script):
    assume(all(line.strip("\t") not in DELIMITERS and not line.endswith("\\") for line in body))
    free = f"python3 {shlex.quote(scripts)}/{script}"
    text = opener.replace("{P}", free).replace("{B}", "\n".join(body) or "text").replace("{D}", danger)
    assert _decide(scripts, text) is not None, text


# ------------------------------------------------------------------------------------------
# against bash

PIECES = [
    "cat <<EOF", "cat <<'EOF'", "cat <<-EOF", "cat <<\"E\"'O'F", "cat <<'E'OF", "cat <<E\"OF\"", "cat <<\\EOF",
    "cat <<<'EOF'", "cat <<< \"$x\"", "cat <<<EOF", "cat <<A <<B", "cat <<A; cat <<'B'", "echo 'use <<EOF here'",
    "echo \"<<EOF\"", "# <<EOF", "echo $((1<<2))", "x=$(cat <<EOF", "x=$(cat <<'EOF'", ": \\", "echo \"a",
    "echo 'a", ")", "\"", "'", "EOF", "A", "B", "\tEOF", "EOF)", "EOF )", "E\\", "OF", "x\\", "`", "$(", "${x:-",
    "}", "a=(", "case x in x) cat <<EOF", "esac", "cat <<EOF \"a", "x=`cat <<EOF", "EOF`", "cat <(cat <<EOF",
    "{P} <<'EOF'", "{P} <<'E'OF", "{P} <<-'EOF'", "{P} <<<'EOF'", "{P} <<'EOF' && cat <<'A'", "{P} <<'EOF' >(cat)",
]
RUNS = ["env", "env;", "env #", "\tenv", "x; env", "x && env", "echo $(env)", "e\\\nnv", "'e'nv", "$(env)"]


MARKS = itertools.count()


def _bash_runs_env(tmp: Path, script: str) -> bool:
    mark = tmp / f"mark{next(MARKS)}"   # a new file each time: a background job may write late
    prelude = ('env() { for a; do case $a in -*) ;; *) return;; esac; done; echo ran >> "$MARK"; }\n'  # bare env
               'python3() { command cat > /dev/null; }\n')
    try:
        subprocess.run([BASH, "--norc", "--noprofile", "-c", prelude + script], cwd=tmp, timeout=10,
                       env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "MARK": str(mark)},
                       stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return False
    return mark.exists()


@pytest.fixture(scope="module")
def bash_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("bash")


@pytest.mark.skipif(BASH is None, reason="bash is not installed")
@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lines=st.lists(st.sampled_from(PIECES), min_size=1, max_size=7), danger=st.sampled_from(RUNS),
       where=st.integers(min_value=0, max_value=7))
def test_whenever_bash_runs_env_the_hook_blocks(scripts, bash_dir, lines, danger, where):
    free = f"python3 {shlex.quote(scripts)}/create_session.py --prompt-file -"
    lines = [line.replace("{P}", free) for line in lines]
    lines.insert(min(where, len(lines)), danger)
    script = "\n".join(lines)
    if _bash_runs_env(bash_dir, script):
        event("bash ran env")
        assert _decide(scripts, script) is not None, script


def test_the_example_hypothesis_found_a_danger_after_an_open_backtick_is_blocked(scripts):
    """A here-string, then a line opening a backtick that never closes: each later line is read on its own."""
    free = f"python3 {shlex.quote(scripts)}/create_session.py --prompt-file -"
    assert _decide(scripts, free + " <<<EOF\n`\n'\nenv\nEOF") is not None
