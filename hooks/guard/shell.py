"""Reading a Bash command line: heredocs, words, simple commands, the program a command runs.

A deliberately small reader, not a shell: it is good enough to tell which words a command runs and
which text is a heredoc body, and it never decides anything. Where the reader cannot parse a line
(unbalanced quotes) it says so (None) and the caller chooses what that means.
"""

from __future__ import annotations

import re

# `<<WORD`, `<<-WORD`, `<<'WORD'`, `<<"WORD"`, `<<\WORD`: group 1 is "-" for `<<-`, groups 2/3/4
# the delimiter in single quotes / double quotes / bare (then maybe after one backslash).
HEREDOC = re.compile(r"<<(-?)[ \t]*(?:'([^'\n]*)'|\"([^\"\n]*)\"|\\?([A-Za-z0-9_.\-]+))")
# `$(...)` without nested parentheses, or `...` in backquotes: group 1 or group 2 is the inside.
SUBSTITUTION = re.compile(r"\$\(([^()]*)\)|`([^`]*)`")
# \uXXXX \u{X..} \UXXXXXXXX \xXX %XX &#xX..; &#D..; \OOO
ESCAPES = re.compile(
    r"\\u\{?([0-9a-fA-F]{4,6})\}?|\\U([0-9a-fA-F]{8})|\\x([0-9a-fA-F]{2})|%([0-9a-fA-F]{2})"
    r"|&#[xX]([0-9a-fA-F]{1,6});|&#([0-9]{1,7});|\\([0-7]{1,3})")
ASSIGN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
PYTHON = re.compile(r"^(?:.*/)?python(?:3(?:\.\d+)?)?$")
# Words that run the rest of the line (or start a compound command) rather than being the program.
WRAPPERS = frozenset({"sudo", "nohup", "exec", "command", "builtin", "time", "nice", "then", "do",
                      "else", "elif", "if", "while", "until", "!", "stdbuf", "doas", "xargs"})
SHELLS = frozenset({"sh", "bash", "zsh", "dash", "ksh", "fish", "busybox"})
SEPARATORS = frozenset({"$("})
PUNCT = frozenset("();|&`{}\n")

Heredoc = tuple[str, str, bool]
"""(the line that opens it, its body, whether its delimiter is quoted so the shell expands nothing)."""


def split_heredocs(command: str) -> tuple[str, list[Heredoc]]:
    """Return (the command without heredoc bodies, [(opening line, body, delimiter quoted)])."""
    lines = command.split("\n")
    kept: list[str] = []
    bodies: list[Heredoc] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        kept.append(line)
        i += 1
        for m in HEREDOC.finditer(line):
            strip_tabs = bool(m.group(1))
            delim = next(g for g in m.group(2, 3, 4) if g is not None)
            quoted = m.group(4) is None or m.group(0).lstrip("<-\t ").startswith("\\")
            body: list[str] = []
            while i < len(lines):
                candidate = lines[i].lstrip("\t") if strip_tabs else lines[i]
                i += 1
                if candidate == delim:
                    break
                body.append(lines[i - 1])
            bodies.append((line, "\n".join(body), quoted))
    return "\n".join(kept), bodies


def heredoc_operators(line: str) -> int:
    """How many heredocs `line` opens."""
    return len(HEREDOC.findall(line))


def without_heredoc_operators(line: str) -> str:
    """`line` with each heredoc operator and its delimiter replaced by a space."""
    return HEREDOC.sub(" ", line)


def tokens(text: str) -> list[str] | None:
    """Words and operators of `text` (quotes removed), or None if the quoting does not parse."""
    import shlex

    lex = shlex.shlex(text.replace("$(", " $( "), posix=True, punctuation_chars="();<>|&`{}\n")
    lex.whitespace = " \t\r"
    lex.whitespace_split = True
    lex.commenters = ""
    try:
        return list(lex)
    except ValueError:
        return None


def segments(text: str) -> list[list[str]] | None:
    """Simple commands of a shell line (words only; None if the quoting does not parse)."""
    toks = tokens(text)
    if toks is None:
        return None
    segs: list[list[str]] = [[]]
    for tok in toks:
        if tok in SEPARATORS or set(tok) <= PUNCT:
            segs.append([])
        else:
            segs[-1].append(tok)
    return [s for s in segs if s]


def strip_redirections(words: list[str]) -> list[str]:
    """`words` without redirection operators and their targets (`> f`, `2>&1`, `< in`)."""
    out: list[str] = []
    skip = False
    for w in words:
        if skip:
            skip = False
            continue
        if set(w) <= set("<>") or re.fullmatch(r"\d*[<>]+&?\d*-?", w):
            skip = not w.endswith("&") and not re.search(r"&\d*-?$", w)
            continue
        out.append(w)
    return out


def program(words: list[str]) -> list[str]:
    """Drop leading assignments and wrapper words (sudo, nohup, env A=B, timeout N, ...)."""
    words = strip_redirections(words)
    while words:
        w = words[0]
        if ASSIGN.match(w):
            words = words[1:]
        elif w in WRAPPERS:
            words = words[1:]
            while words and words[0].startswith("-"):
                words = words[1:]
        elif w == "timeout":
            words = words[1:]
            while words and (words[0].startswith("-") or re.fullmatch(r"[\d.]+[smhd]?", words[0])):
                words = words[1:]
        else:
            break
    return words


def is_python(word: str) -> bool:
    """True for python, python3, python3.11, /usr/bin/python3, ..."""
    return bool(PYTHON.match(word))


def substitutions(text: str) -> list[str]:
    """The insides of the `$(...)` (unnested) and `...` command substitutions in `text`."""
    return [m.group(1) if m.group(1) is not None else m.group(2) for m in SUBSTITUTION.finditer(text)]


def unescape(text: str) -> str:
    """`text` with \\uXXXX, \\xXX, %XX, &#...; and \\OOO escapes replaced by the characters."""
    def repl(m: re.Match[str]) -> str:
        for idx, base in ((1, 16), (2, 16), (3, 16), (4, 16), (5, 16), (6, 10), (7, 8)):
            if m.group(idx):
                try:
                    return chr(int(m.group(idx), base))
                except (ValueError, OverflowError):
                    return ""
        return ""

    return ESCAPES.sub(repl, text)
