"""The guard's shell reader (hooks/guard/shell.py) on its own: no policy, no rules.

The reader's promise: a line bash executes is never taken for a heredoc body or quoted text. Each
construct that once broke that promise (issue 15) has a case here; test_bash_runs_what_the_reader_says
checks the cases against bash itself (5.2 is the reference) where bash is installed, and the rules'
end-to-end cases are in test_rules.py (HIDDEN) and tests/plugin/test_plugin_hook.py.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

HOOKS = Path(__file__).resolve().parents[2] / "hooks"
if str(HOOKS) not in sys.path:
    sys.path.insert(0, str(HOOKS))

from guard import shell  # noqa: E402


def words(text: str, depth: int | None = 0) -> list[list[str]]:
    """The words of the simple commands of `text` (at `depth`, or all with None)."""
    return [c.words for c in shell.parse(text).commands if depth is None or c.depth == depth]


def bodies(text: str) -> list[tuple[str, str, bool]]:
    return shell.split_heredocs(text)[1]


# ------------------------------------------------------------------------------------------
# heredocs


@pytest.mark.parametrize(("opener", "quoted"), [
    ("cat <<'EOF'", True),
    ('cat <<"EOF"', True),
    ("cat <<\\EOF", True),
    ("cat << 'EOF'", True),
    ("cat <<EOF", False),
    ("cat <<  EOF", False),
])
def test_heredoc_delimiter_quoting(opener, quoted):
    runs, found = shell.split_heredocs(f"{opener}\n$(date)\nEOF\nls")
    assert runs == f"{opener}\nls"
    assert found == [(opener, "$(date)", quoted)]


@pytest.mark.parametrize("opener", [
    "cat <<'E'OF", 'cat <<E"OF"', "cat <<\\EOF", "cat <<\"E\"'O'F", "cat <<E\\OF", "cat <<''EOF",
    "cat <<EOF''", "cat <<E''OF",
])
def test_a_partly_quoted_delimiter_is_the_whole_word_without_its_quotes(opener):
    """Bash's delimiter is the word with quotes removed (EOF); any quoting leaves the body unexpanded.
    The reader used to take `<<'E'OF` for the delimiter E."""
    text = f"{opener}\nE\nbody\nEOF\nenv"
    p = shell.parse(text)
    assert [(h.delimiter, h.quoted, h.body) for h in p.heredocs] == [("EOF", True, "E\nbody")]
    assert words(text) == [["cat"], ["env"]]
    assert p.runs == f"{opener}\nenv"


@pytest.mark.parametrize("text", [
    "cat <<<'EOF'\nenv\nEOF",
    'cat <<< "$x"\nenv',
    "cat <<<word\nenv\nword",
    "cat <<<EOF\nenv\nEOF",
    "cat 0<<<'EOF'\nenv\nEOF",
])
def test_a_here_string_is_not_a_heredoc(text):
    """`<<<` feeds one word; the lines after it are commands (the reader used to skip them)."""
    p = shell.parse(text)
    assert p.heredocs == [] and p.runs == text
    assert ["env"] in words(text)
    assert p.commands[0].stdin == 1 and p.commands[0].heredocs == []


def test_dash_heredoc_strips_leading_tabs_only():
    text = "cat <<-EOF\n\tone\n  EOF\n \tEOF\n\t\tEOF\nls"
    p = shell.parse(text)
    assert [(h.delimiter, h.body) for h in p.heredocs] == [("EOF", "\tone\n  EOF\n \tEOF")]
    assert words(text) == [["cat"], ["ls"]]


def test_dash_heredoc_closes_on_a_tab_indented_delimiter_and_keeps_the_body_tabs():
    runs, found = shell.split_heredocs("cat <<-X\n\tone\n\t\tX\nls")
    assert runs == "cat <<-X\nls"
    assert found == [("cat <<-X", "\tone", False)]


def test_plain_heredoc_needs_the_delimiter_alone_on_its_line():
    runs, found = shell.split_heredocs("cat <<X\n\tX\n X\nX \nX\nls")
    assert runs == "cat <<X\nls"
    assert found == [("cat <<X", "\tX\n X\nX ", False)]


def test_two_heredocs_on_one_line_are_read_in_order():
    runs, found = shell.split_heredocs("paste <<A <<'B'\na1\nA\nb1\nb2\nB\necho done")
    assert runs == "paste <<A <<'B'\necho done"
    assert found == [("paste <<A <<'B'", "a1", False), ("paste <<A <<'B'", "b1\nb2", True)]


def test_heredocs_of_two_commands_on_one_line_follow_in_order():
    text = "cmd <<A; other <<'B' | x\na1\nA\nb1\nB\nenv"
    p = shell.parse(text)
    assert [(h.delimiter, h.body, h.owner and h.owner.words) for h in p.heredocs] == [
        ("A", "a1", ["cmd"]), ("B", "b1", ["other"])]
    assert words(text) == [["cmd"], ["other"], ["x"], ["env"]]


def test_heredocs_on_separate_lines():
    runs, found = shell.split_heredocs("a <<'X'\nbody 1\nX\nb <<-Y\n\tbody 2\n\tY\nc")
    assert runs == "a <<'X'\nb <<-Y\nc"
    assert found == [("a <<'X'", "body 1", True), ("b <<-Y", "\tbody 2", False)]


def test_an_unclosed_heredoc_runs_to_the_end():
    runs, found = shell.split_heredocs("a <<'X'\nnever closed\nstill body")
    assert runs == "a <<'X'"
    assert found == [("a <<'X'", "never closed\nstill body", True)]


def test_no_heredoc_leaves_the_command_as_it_is():
    assert shell.split_heredocs("ls -la\necho hi") == ("ls -la\necho hi", [])
    assert shell.split_heredocs("") == ("", [])


@pytest.mark.parametrize("text", [
    "git commit -m 'use <<EOF here'\nenv\nEOF",
    'echo "<<EOF"\nenv\nEOF',
    "echo x # <<EOF\nenv\nEOF",
    "# cat <<EOF\nenv\nEOF",
    "echo \\<<EOF\nenv\nEOF",
    "echo $((1<<2))\nenv",
    "echo $(( 1<<EOF ))\nenv\nEOF",
    "((x <<= 2))\nenv\nx",
    "echo $'a <<EOF'\nenv\nEOF",
    "echo ${x:-<<EOF}\nenv\nEOF",
])
def test_a_heredoc_operator_in_quotes_comments_or_arithmetic_is_none(text):
    p = shell.parse(text)
    assert p.heredocs == [] and not p.uncertain
    assert ["env"] in words(text)


def test_a_newline_inside_quotes_does_not_start_the_body():
    """The body starts after the newline that ends the command, not one inside a quoted word."""
    text = 'cat <<EOF "a\nb"\nbody\nEOF\nenv'
    p = shell.parse(text)
    assert [h.body for h in p.heredocs] == ["body"]
    assert words(text) == [["cat", "a\nb"], ["env"]]


# ------------------------------------------------------------------------------------------
# line continuation


def test_backslash_newline_joins_lines_before_words_are_read():
    assert words("e\\\nnv") == [["env"]]
    assert words("printenv \\\n  DEVIN_SERVICE_USER_TOKEN") == [["printenv", "DEVIN_SERVICE_USER_TOKEN"]]
    assert words("cat <<EO\\\nF\nbody\nEOF\nenv") == [["cat"], ["env"]]
    assert words("echo 'a\\\nb'") == [["echo", "a\\\nb"]]          # not inside single quotes
    assert words("# comment \\\nenv") == [["env"]]                 # a comment ends at its line


def test_backslash_newline_joins_the_lines_of_an_unquoted_body_only():
    # bash joins `a\` and `EOF` into `aEOF`: the body goes on to the next EOF (and env is in it)
    unquoted = shell.parse("cat <<EOF\na\\\nEOF\nenv\nEOF\nls")
    assert [h.body for h in unquoted.heredocs] == ["a\\\nEOF\nenv"]
    # an even number of backslashes escapes itself
    even = shell.parse("cat <<EOF\na\\\\\nEOF\nenv")
    assert [h.body for h in even.heredocs] == ["a\\\\"]
    assert words("cat <<EOF\na\\\\\nEOF\nenv") == [["cat"], ["env"]]
    # EO\ + F is the delimiter EOF once joined
    assert words("cat <<EOF\nEO\\\nF\nenv") == [["cat"], ["env"]]
    # a quoted delimiter reads lines as they are
    quoted = shell.parse("cat <<'EOF'\na\\\nEOF\nenv")
    assert [h.body for h in quoted.heredocs] == ["a\\"]
    assert words("cat <<'EOF'\na\\\nEOF\nenv") == [["cat"], ["env"]]


# ------------------------------------------------------------------------------------------
# substitutions and what bash versions read differently


def test_substitutions_are_commands_one_level_down():
    assert words('echo "$(env)" `id` $(a $(b)) <(c) >(d)', None) == [
        ["env"], ["id"], ["b"], ["a", "$(...)"], ["c"], ["d"],
        ["echo", "$(...)", "`...`", "$(...)", "<(...)", ">(...)"]]
    assert words('echo "$(env)"') == [["echo", "$(...)"]]
    assert words("echo $( (nested) )", None) == [["nested"], ["echo", "$(...)"]]
    assert words("echo '$(quoted)'", None) == [["echo", "$(quoted)"]]
    assert words("echo \\$(escaped)", None) == [["echo", "$"], ["escaped"]]  # `\$(` then a subshell


def test_an_unquoted_body_runs_its_substitutions():
    p = shell.parse("cat <<EOF\n$(env) 'x'\nEOF\ncat <<'Q'\n$(printenv)\nQ")
    assert [(c.words, c.depth) for c in p.commands if c.depth] == [(["env"], 1)]


def test_bash_52_ends_a_body_inside_a_substitution_at_delimiter_and_paren():
    """`EOF)` (or `EOFxyz ... )`) ends the body inside $(...), and bash reads the rest again."""
    p = shell.parse("x=$(cat <<EOF\nhi\nEOF)\nenv")
    assert [h.body for h in p.heredocs] == ["hi"]
    assert ["env"] in words("x=$(cat <<EOF\nhi\nEOF)\nenv")
    assert p.uncertain   # other shells differ: the caller reads every line as a command too
    p = shell.parse("x=$(cat <<EOF\nEOFzz; env )\necho")
    assert ["zz"] in words("x=$(cat <<EOF\nEOFzz; env )\necho", 1)
    assert ["env"] in words("x=$(cat <<EOF\nEOFzz; env )\necho", 1)


def test_the_usual_commit_message_heredoc_in_a_substitution_is_read_for_certain():
    text = "git commit -m \"$(cat <<'EOF'\nFix (env) and `set` ; ok)\nEOF\n)\"\nls"
    p = shell.parse(text)
    assert not p.uncertain and p.complete
    assert [(h.body, h.quoted, h.depth) for h in p.heredocs] == [("Fix (env) and `set` ; ok)", True, 1)]
    assert words(text, None) == [["cat"], ["git", "commit", "-m", "$(...)"], ["ls"]]


def test_a_heredoc_opened_in_a_substitution_is_read_after_the_enclosing_newline():
    text = "x=$(cat <<EOF)\nbody\nEOF\nenv"
    p = shell.parse(text)
    assert [h.body for h in p.heredocs] == ["body"] and p.uncertain
    assert ["env"] in words(text)


@pytest.mark.parametrize("text", [
    "cat <<$(x)\nbody\n$(x)",        # a delimiter with a substitution
    "cat <<EOF $(\n)\nbody\nEOF",    # a newline inside a substitution while a body waits
    "a=(\nx <<EOF\nenv\nEOF\n)",     # a heredoc inside an array (bash's error recovery runs on)
    "a=(a=(x\nenv\n)",               # an array inside an array (the same)
    "echo $(case x in x) cat <<EOF\nbody\nEOF\n;; esac)",
    "cat <<\nEOF",                   # an operator without its word
    "x=`cat <<EOF\nbody\nEOF`",
])
def test_what_shells_read_differently_is_uncertain(text):
    assert shell.parse(text).uncertain


@pytest.mark.parametrize(("text", "complete", "broken_at"), [
    ("echo 'open", False, 5), ('echo "open', False, 5), ("echo $'open", False, 5),
    ("echo ${x", False, 5), ("echo $(open", False, -1), ("echo `open", False, -1),
    ("echo \\", True, -1), ("echo ok", True, -1),
])
def test_unterminated_quotes_are_reported(text, complete, broken_at):
    p = shell.parse(text)
    assert (p.complete, p.broken_at) == (complete, broken_at)
    assert (shell.segments(text) is None) == (not complete)


# ------------------------------------------------------------------------------------------
# words and simple commands


@pytest.mark.parametrize(("text", "expected"), [
    ("ls -la", [["ls", "-la"]]),
    ("a && b || c; d | e & f", [["a"], ["b"], ["c"], ["d"], ["e"], ["f"]]),
    ("a&&b||c;d|e|&f", [["a"], ["b"], ["c"], ["d"], ["e"], ["f"]]),
    ("echo 'a b' \"c\"d e\\ f", [["echo", "a b", "cd", "e f"]]),
    ("echo \"$(env)\"", [["echo", "$(...)"]]),
    ("if true; then env; fi", [["if", "true"], ["then", "env"], ["fi"]]),
    ("{ env; }", [["{", "env"], ["}"]]),
    ("(cd /x && make)", [["cd", "/x"], ["make"]]),
    ("a\nb", [["a"], ["b"]]),
    ("", []),
    ("echo 'a;b'", [["echo", "a;b"]]),
    ("echo # not a word\nls", [["echo"], ["ls"]]),
    ("echo a#b $# ${#x}", [["echo", "a#b", "$#", "${#x}"]]),
    ("echo $'a\\tb\\x41\\'c'", [["echo", "a\tbA'c"]]),
    ("ls >out 2>&1 <in 3<>f {fd}>g", [["ls"]]),
    ("&>file cmd a", [["cmd", "a"]]),
    ("2>file cmd", [["cmd"]]),
    (">file cmd", [["cmd"]]),
    ("<file cmd", [["cmd"]]),
    ("&>>log >|x cmd", [["cmd"]]),
    ("echo a2>f", [["echo", "a2"]]),
    ("a=(env x) b+=(y); ls", [["a=(...)", "b+=(...)"], ["ls"]]),
])
def test_segments(text, expected):
    assert shell.segments(text) == expected


def test_flat_commands_ignore_quotes():
    assert shell.flat_commands("echo '; env; ' \"a|b\"") == [["echo"], ["env"], ["a"], ["b"]]
    assert shell.flat_commands("x $(printenv) `id`") == [["x"], ["printenv"], ["id"]]


@pytest.mark.parametrize(("words_in", "expected"), [
    (["ls", "-l"], ["ls", "-l"]),
    (["A=1", "B=2", "make"], ["make"]),
    (["sudo", "-E", "-u", "x", "env"], ["env"]),
    (["sudo", "--user=x", "-i", "printenv"], ["printenv"]),
    (["nohup", "python3", "a.py"], ["python3", "a.py"]),
    (["timeout", "-s", "KILL", "5", "cmd"], ["cmd"]),
    (["timeout", "5m", "cmd"], ["cmd"]),
    (["timeout", "--kill-after=1", "2.5", "cmd"], ["cmd"]),
    (["nice", "-n", "5", "cmd"], ["cmd"]),
    (["xargs", "-n", "1", "-I", "{}", "cmd"], ["cmd"]),
    (["then", "!", "env"], ["env"]),
    (["{", "env"], ["env"]),
    (["env"], ["env"]),                              # bare env: it prints the environment
    (["env", "-i"], ["env", "-i"]),
    (["env", "-u", "X", "-0"], ["env", "-u", "X", "-0"]),
    (["env", "VAR=1", "cmd", "a"], ["cmd", "a"]),
    (["env", "-i", "-u", "X", "VAR=1", "cmd"], ["cmd"]),
    (["env", "-S", "printenv X"], ["printenv", "X"]),
    (["env", "-Sprintenv X"], ["printenv", "X"]),
    (["env", "--split-string=a b", "c"], ["a", "b", "c"]),
    (["/usr/bin/env", "-C", "/tmp", "cmd"], ["cmd"]),
    (["sudo", "env", "-i", "sh", "-c", "env"], ["sh", "-c", "env"]),
    (["command", "env"], ["env"]),
    (["command", "-v", "env"], []),
    (["${x:-env}"], ["env"]),
    (["A=1"], []),
    ([], []),
])
def test_program(words_in, expected):
    assert shell.program(words_in) == expected


@pytest.mark.parametrize(("word", "expected"), [
    ("python", True), ("python3", True), ("python3.11", True), ("/usr/bin/python3", True),
    ("./venv/bin/python", True), ("python2", False), ("ipython", False), ("python3.x", False),
    ("pythonw", False),
])
def test_is_python(word, expected):
    assert shell.is_python(word) is expected


# ------------------------------------------------------------------------------------------
# escapes


@pytest.mark.parametrize(("text", "expected"), [
    ("session\\u005fsecrets", "session_secrets"),
    ("\\u{005f}", "_"),
    ("\\U0000005f", "_"),
    ("\\x5f", "_"),
    ("create%5Fas", "create_as"),
    ("&#x5f;&#95;", "__"),
    ("\\137", "_"),
    ("\\u{110000}", ""),        # not a character: dropped
    ("plain text", "plain text"),
])
def test_unescape(text, expected):
    assert shell.unescape(text) == expected


# ------------------------------------------------------------------------------------------
# against bash itself

BASH = shutil.which("bash")
# Each text runs `env` (a function here that leaves a mark) where the reader says a command runs.
RUNS_ENV = [
    "cat <<<'EOF'\nenv\nEOF", 'cat <<< "$x"\nenv', "cat <<<word\nenv\nword",
    "cat <<'E'OF\nE\nEOF\nenv", 'cat <<E"OF"\nEOF\nenv', "cat <<\\EOF\nEOF\nenv",
    "cat <<\"E\"'O'F\nEOF\nenv", "cat <<-EOF\n  EOF\n\tEOF\nenv", "cat <<A <<B\nA\nB\nenv",
    "cat <<A; cat <<B\nA\nB\nenv", "git commit -m 'use <<EOF here' 2>/dev/null\nenv\nEOF",
    "echo x # <<EOF\nenv\nEOF", "echo $((1<<2))\nenv", "e\\\nnv", "&>/dev/null env",
    "2>/dev/null env", ">/dev/null env", "</dev/null env", "cat <<EOF\na\\\\\nEOF\nenv",
    "cat <<EOF\nEO\\\nF\nenv", 'cat <<EOF "a\nb" 2>/dev/null\nbody\nEOF\nenv',
    "x=$(cat <<EOF\nhi\nEOF)\nenv", "x=$(cat <<EOF)\nbody\nEOF\nenv", "echo \"$(env)\"",
    "cat <(env)", "x=`env`", "a=(\nx <<-EOF\nenv\n)", "a=(a=(x\n env #",
]
# ... and here bash does not run it (the reader may still be more careful than bash)
NO_ENV = [
    "cat <<EOF\na\\\nEOF\nenv\nEOF", "cat <<'EOF'\nenv\nEOF", "cat <<-EOF\n\tenv\n\tEOF",
    "echo 'env'", "echo 'open\nenv", "# env", "cat <<A <<B\nA\nenv\nB",
]


def _bash_runs_env(tmp_path: Path, text: str) -> bool:
    mark = tmp_path / "mark"
    if mark.exists():
        mark.unlink()
    prelude = 'env() { for a; do case $a in -*) ;; *) return;; esac; done; echo ran >> "$MARK"; }\n'  # bare env
    subprocess.run([BASH, "--norc", "--noprofile", "-c", prelude + text], cwd=tmp_path,
                   env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "MARK": str(mark)},
                   stdin=subprocess.DEVNULL, capture_output=True, timeout=20)
    return mark.exists()


def _reader_sees_env(text: str) -> bool:
    """env among the commands read, or the reader unsure (then every line is read as a command)."""
    p = shell.parse(text)
    return p.uncertain or any(shell.program(c.words) == ["env"] for c in p.commands)


@pytest.mark.skipif(BASH is None, reason="bash is not installed")
@pytest.mark.parametrize("text", RUNS_ENV)
def test_bash_runs_what_the_reader_says(tmp_path, text):
    assert _bash_runs_env(tmp_path, text), "bash does not run env here: the case is wrong"
    assert _reader_sees_env(text)


@pytest.mark.skipif(BASH is None, reason="bash is not installed")
@pytest.mark.parametrize("text", NO_ENV)
def test_bash_does_not_run_what_the_reader_calls_text(tmp_path, text):
    assert not _bash_runs_env(tmp_path, text)
