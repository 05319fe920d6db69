"""The guard's shell reader (hooks/guard/shell.py) on its own: no policy, no rules.

These pin what the reader does today, including its known simplifications (it is not a shell);
a case marked "today" records a limitation, not a wish.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

HOOKS = Path(__file__).resolve().parents[2] / "hooks"
if str(HOOKS) not in sys.path:
    sys.path.insert(0, str(HOOKS))

from guard import shell  # noqa: E402

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
    runs, bodies = shell.split_heredocs(f"{opener}\n$(date)\nEOF\nls")
    assert runs == f"{opener}\nls"
    assert bodies == [(opener, "$(date)", quoted)]


def test_dash_heredoc_closes_on_a_tab_indented_delimiter_and_keeps_the_body_tabs():
    runs, bodies = shell.split_heredocs("cat <<-X\n\tone\n\t\tX\nls")
    assert runs == "cat <<-X\nls"
    assert bodies == [("cat <<-X", "\tone", False)]


def test_plain_heredoc_needs_the_delimiter_alone_on_its_line():
    runs, bodies = shell.split_heredocs("cat <<X\n\tX\n X\nX\nls")
    assert runs == "cat <<X\nls"
    assert bodies == [("cat <<X", "\tX\n X", False)]


def test_two_heredocs_on_one_line_are_read_in_order():
    runs, bodies = shell.split_heredocs("paste <<A <<'B'\na1\nA\nb1\nb2\nB\necho done")
    assert runs == "paste <<A <<'B'\necho done"
    assert bodies == [("paste <<A <<'B'", "a1", False), ("paste <<A <<'B'", "b1\nb2", True)]


def test_heredocs_on_separate_lines():
    runs, bodies = shell.split_heredocs("a <<'X'\nbody 1\nX\nb <<-Y\n\tbody 2\n\tY\nc")
    assert runs == "a <<'X'\nb <<-Y\nc"
    assert bodies == [("a <<'X'", "body 1", True), ("b <<-Y", "\tbody 2", False)]


def test_an_unclosed_heredoc_runs_to_the_end():
    runs, bodies = shell.split_heredocs("a <<'X'\nnever closed\nstill body")
    assert runs == "a <<'X'"
    assert bodies == [("a <<'X'", "never closed\nstill body", True)]


def test_no_heredoc_leaves_the_command_as_it_is():
    assert shell.split_heredocs("ls -la\necho hi") == ("ls -la\necho hi", [])
    assert shell.split_heredocs("") == ("", [])


def test_heredoc_operators_and_their_removal():
    assert shell.heredoc_operators("python3 x.py --prompt-file - <<'E'") == 1
    assert shell.heredoc_operators("paste <<A <<-'B'") == 2
    assert shell.heredoc_operators("echo 1 << 2") == 1  # today: any <<WORD counts, even arithmetic
    assert shell.heredoc_operators("ls") == 0
    assert shell.without_heredoc_operators("cat <<'E' -n") == "cat   -n"


def test_today_a_here_string_is_read_as_a_heredoc():
    """Known limitation (see the report for issue 12): `<<<word` opens a heredoc for the reader."""
    runs, bodies = shell.split_heredocs("cat <<<'x'\nls\nx")
    assert runs == "cat <<<'x'"
    assert bodies == [("cat <<<'x'", "ls", True)]


# ------------------------------------------------------------------------------------------
# words and simple commands


def test_tokens_remove_quotes_and_split_operators():
    assert shell.tokens("echo 'a b' \"c\"d e\\ f") == ["echo", "a b", "cd", "e f"]
    assert shell.tokens("a&&b||c;d|e") == ["a", "&&", "b", "||", "c", ";", "d", "|", "e"]
    assert shell.tokens("ls >out 2>&1") == ["ls", ">", "out", "2", ">&", "1"]
    # today: `$(` comes out as `$` and `(` (so SEPARATORS' "$(" never matches; `(` separates)
    assert shell.tokens("echo $(date) `id`") == ["echo", "$", "(", "date", ")", "`", "id", "`"]
    assert shell.tokens("a\nb") == ["a", "\n", "b"]
    assert shell.tokens("echo # not a comment") == ["echo", "#", "not", "a", "comment"]


@pytest.mark.parametrize("text", ["echo 'open", 'echo "open', "echo \\"])
def test_tokens_of_unbalanced_quoting_are_none(text):
    assert shell.tokens(text) is None
    assert shell.segments(text) is None


@pytest.mark.parametrize(("text", "expected"), [
    ("ls -la", [["ls", "-la"]]),
    ("a && b || c; d | e & f", [["a"], ["b"], ["c"], ["d"], ["e"], ["f"]]),
    ("echo \"$(env)\"", [["echo", " $( env)"]]),    # inside double quotes: one word
    ("echo $(env) `id`", [["echo", "$"], ["env"], ["id"]]),   # today: a stray `$` word
    ("if true; then env; fi", [["if", "true"], ["then", "env"], ["fi"]]),
    ("{ env; }", [["env"]]),
    ("(cd /x && make)", [["cd", "/x"], ["make"]]),
    ("a\nb", [["a"], ["b"]]),
    ("", []),
    ("echo 'a;b'", [["echo", "a;b"]]),
])
def test_segments(text, expected):
    assert shell.segments(text) == expected


@pytest.mark.parametrize(("words", "expected"), [
    (["ls", ">", "out"], ["ls"]),
    (["ls", "2", ">&", "1"], ["ls", "2", "1"]),  # tokens() splits `2>&1` so; today both digits stay
    (["ls", "2>&1"], ["ls"]),
    (["ls", ">>", "log", "<", "in"], ["ls"]),
    (["ls", "2>", "err"], ["ls"]),
    (["cat", "<&-"], ["cat"]),
    ([">", "out", "env"], ["env"]),
    (["ls", "&>", "out"], ["ls", "&>", "out"]),  # today: &> is not read as a redirection
])
def test_strip_redirections(words, expected):
    assert shell.strip_redirections(words) == expected


@pytest.mark.parametrize(("words", "expected"), [
    (["ls", "-l"], ["ls", "-l"]),
    (["A=1", "B=2", "make"], ["make"]),
    (["sudo", "-E", "-u", "x", "env"], ["x", "env"]),   # wrapper options are dropped, not their values
    (["nohup", "python3", "a.py"], ["python3", "a.py"]),
    (["timeout", "-s", "KILL", "5", "cmd"], ["KILL", "5", "cmd"]),
    (["timeout", "5m", "cmd"], ["cmd"]),
    (["timeout", "--kill-after=1", "2.5", "cmd"], ["cmd"]),
    (["then", "!", "env"], ["env"]),
    (["2", ">", "/dev/null", "x"], ["2", "x"]),  # today: the fd number reads as the program
    (["A=1"], []),
    ([], []),
])
def test_program(words, expected):
    assert shell.program(words) == expected


@pytest.mark.parametrize(("word", "expected"), [
    ("python", True), ("python3", True), ("python3.11", True), ("/usr/bin/python3", True),
    ("./venv/bin/python", True), ("python2", False), ("ipython", False), ("python3.x", False),
    ("pythonw", False),
])
def test_is_python(word, expected):
    assert shell.is_python(word) is expected


# ------------------------------------------------------------------------------------------
# substitutions and escapes


def test_substitutions():
    assert shell.substitutions('echo "$(env)" `id` $(a b)') == ["env", "id", "a b"]
    assert shell.substitutions("echo '$(quoted)'") == ["quoted"]  # quotes are not looked at
    assert shell.substitutions("echo $( (nested) )") == []  # today: nested parentheses are missed
    assert shell.substitutions("ls") == []


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
