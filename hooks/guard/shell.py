"""Reading a Bash command line the way bash reads it: words, simple commands, heredocs, substitutions.

A small reader, not a shell: one pass over the text (quotes, escapes, comments, operators,
redirections, `$(...)`, backquotes, `${...}`, `$((...))`, process substitutions and heredoc bodies),
linear in the length of the command, and it never decides anything. What it promises:

* a line bash executes is never taken for a heredoc body: a body is only read for a real `<<` /
  `<<-` operator (not `<<<`, not `<<` in quotes, comments or arithmetic), at the newline that ends
  the command, up to bash's delimiter (the word with its quotes removed, `<<-` stripping tabs, and
  for an unquoted delimiter backslash-newline joining lines first);
* where bash versions differ, or the text is one bash refuses, it says so (`Parse.uncertain`,
  `Parse.complete`) and the caller reads more conservatively (every line as a command).

Bash 5.2 is the reference (tests/hook/test_shell_reader.py checks the reader against it).
"""

from __future__ import annotations

import re

ASSIGN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(?:\[[^\]]*\])?\+?=")
PYTHON = re.compile(r"^(?:.*/)?python(?:3(?:\.\d+)?)?$")
SHELLS = frozenset({"sh", "bash", "zsh", "dash", "ksh", "fish", "busybox", "su", "runuser"})
# \uXXXX \u{X..} \UXXXXXXXX \xXX %XX &#xX..; &#D..; \OOO
ESCAPES = re.compile(
    r"\\u\{?([0-9a-fA-F]{4,6})\}?|\\U([0-9a-fA-F]{8})|\\x([0-9a-fA-F]{2})|%([0-9a-fA-F]{2})"
    r"|&#[xX]([0-9a-fA-F]{1,6});|&#([0-9]{1,7});|\\([0-7]{1,3})")

# Words that start a command or run the rest of the line as one, and the options of theirs that
# take a value (so the value is not read as the program).
WRAPPERS: dict[str, frozenset[str]] = {
    "sudo": frozenset({"-u", "-g", "-h", "-p", "-C", "-D", "-r", "-t", "-U", "-T", "--user", "--group",
                       "--host", "--prompt", "--close-from", "--chdir", "--role", "--type",
                       "--other-user", "--command-timeout"}),
    "doas": frozenset({"-u", "-C"}),
    "nice": frozenset({"-n", "--adjustment"}),
    "ionice": frozenset({"-c", "-n", "-p", "-P", "-u", "--class", "--classdata"}),
    "xargs": frozenset({"-n", "-I", "-L", "-P", "-d", "-E", "-s", "-a", "--max-args", "--max-lines",
                        "--max-procs", "--delimiter", "--arg-file", "--max-chars", "--eof", "--replace"}),
    "stdbuf": frozenset({"-i", "-o", "-e", "--input", "--output", "--error"}),
    "exec": frozenset({"-a"}),
    "watch": frozenset({"-n", "--interval", "-q", "--equexit"}),
    "timeout": frozenset({"-s", "-k", "--signal", "--kill-after"}),
    "nohup": frozenset(), "command": frozenset(), "builtin": frozenset(), "time": frozenset(),
    "setsid": frozenset(), "unbuffer": frozenset(), "chronic": frozenset(),
}
RESERVED = frozenset({"if", "then", "else", "elif", "do", "while", "until", "!", "{", "time"})
ENV_VALUE_OPTIONS = frozenset({"-u", "-C", "--unset", "--chdir", "-S", "--split-string"})

MAX_NESTING = 64   # backquote / heredoc-body levels read recursively; deeper text is `uncertain`

_CMD, _DQ, _PARAM, _ARITH, _BODY = range(5)
_PLAIN = re.compile(r"[^\s;&|()<>'\"\\$`]+")
_CMD_SPECIAL = frozenset(" \t\r\n#;&|()<>'\"\\$`")
_BLANKS = re.compile(r"[ \t\r]+")
_DQ_PLAIN = re.compile(r"[^\"\\$`]+")
_BODY_PLAIN = re.compile(r"[^\\$`]+")
_PARAM_PLAIN = re.compile(r"[^{}'\"\\$`]+")
_ARITH_PLAIN = re.compile(r"[^()'\"\\$`]+")
_BACKQUOTE_STOP = re.compile(r"[\\`]")
_ANSI_INSIDE = re.compile(r"(?:[^'\\]|\\.)*", re.S)
_FD_VAR = re.compile(r"\{[A-Za-z_][A-Za-z0-9_]*\}")
_ANSI_C = re.compile(r"\\(x[0-9a-fA-F]{1,2}|u[0-9a-fA-F]{1,4}|U[0-9a-fA-F]{1,8}|[0-7]{1,3}|c.|.)", re.S)
_ANSI_SIMPLE = {"a": "\a", "b": "\b", "e": "\x1b", "E": "\x1b", "f": "\f", "n": "\n", "r": "\r",
                "t": "\t", "v": "\v", "\\": "\\", "'": "'", '"': '"', "?": "?"}
_ARRAY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\[[^\]]*\])?\+?=")
_PARAM_DEFAULT = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*:?[-=+](.*)\}$", re.S)
_FLAT_SPLIT = re.compile(r"\$\(|[;&|()<>`\n]")
_FLAT_DROP = {ord("'"): None, ord('"'): None, ord("\\"): None}


def _ansi_c(text: str) -> str:
    """The value of a $'...' string's inside (bash's ANSI-C escapes)."""
    def repl(m: re.Match[str]) -> str:
        e = m.group(1)
        head = e[0]
        try:
            if head in "xuU" and len(e) > 1:
                return chr(int(e[1:], 16))
            if head.isdigit():
                return chr(int(e, 8) & 0xFF)
        except (ValueError, OverflowError):
            return ""
        if head == "c" and len(e) == 2:
            return chr(ord(e[1]) & 0x1F)
        return _ANSI_SIMPLE.get(e, "\\" + e)
    return _ANSI_C.sub(repl, text)


class Heredoc:
    """One `<<` / `<<-` heredoc: where its operator and body are, and whose input it is."""

    __slots__ = ("body_end", "body_start", "delimiter", "end", "fd", "op", "owner", "quoted",
                 "strip_tabs", "text", "depth")

    def __init__(self, text: str, op: int, delimiter: str, quoted: bool, strip_tabs: bool,
                 fd: str | None, depth: int) -> None:
        self.text = text
        self.op = op                      # offset of the `<<` operator in text
        self.delimiter = delimiter
        self.quoted = quoted              # any quoting in the delimiter: the body is not expanded
        self.strip_tabs = strip_tabs
        self.fd = fd                      # None or "0": standard input
        self.depth = depth                # 0 unless opened inside a substitution
        self.owner: Simple | None = None  # the simple command it belongs to
        self.body_start = self.body_end = self.end = len(text)

    @property
    def opener(self) -> str:
        """The line (physical) the operator is on."""
        start = self.text.rfind("\n", 0, self.op) + 1
        end = self.text.find("\n", self.op)
        return self.text[start:end if end >= 0 else len(self.text)]

    @property
    def body(self) -> str:
        return self.text[self.body_start:self.body_end]

    def __repr__(self) -> str:
        return f"Heredoc({self.delimiter!r}, quoted={self.quoted}, body={self.body!r})"


class Simple:
    """A simple command: its words (quotes removed, redirections left out) and its redirections."""

    __slots__ = ("depth", "heredocs", "stdin", "words")

    def __init__(self, words: list[str], depth: int, heredocs: list[Heredoc], stdin: int) -> None:
        self.words = words
        self.depth = depth        # 0: runs as written; 1+: inside $(...), `...`, <(...) (nesting)
        self.heredocs = heredocs
        self.stdin = stdin        # how many redirections of its standard input (<, <<, <<<, <>, <&)

    def __repr__(self) -> str:
        return f"Simple({self.words!r}, depth={self.depth})"


class Parse:
    """What reading a command found. `commands` are in the order their words end."""

    __slots__ = ("broken_at", "commands", "complete", "heredocs", "removed", "text", "uncertain")

    def __init__(self, text: str) -> None:
        self.text = text
        self.commands: list[Simple] = []
        self.heredocs: list[Heredoc] = []
        self.removed: list[tuple[int, int]] = []  # heredoc bodies and delimiter lines
        self.complete = True     # False: an unterminated quote or substitution (bash refuses it)
        self.broken_at = -1      # where an unterminated quote starts (-1: none)
        self.uncertain = False   # True: a construct bash versions read differently (or too deep)

    @property
    def runs(self) -> str:
        """The text without heredoc bodies (and their delimiter lines)."""
        if not self.removed:
            return self.text
        parts: list[str] = []
        at = 0
        for start, end in self.removed:
            parts.append(self.text[at:start])
            at = end
        parts.append(self.text[at:])
        return "".join(parts)


class _Frame:
    __slots__ = ("close", "case", "depth", "expect", "heredocs", "in_dq", "kind", "owner", "parens",
                 "pending", "quoted", "expansion", "stdin", "word", "word_end", "words", "braces", "start",
                 "array")

    def __init__(self, kind: int, owner: _Frame | None, depth: int, close: str = "",
                 in_dq: bool = False, start: int = 0) -> None:
        self.kind = kind
        self.start = start
        self.array = False              # the ( ... ) of NAME=( ... ): words, no commands
        # the command frame a word goes to (a command frame's own: no cycle for the collector)
        self.owner: _Frame = owner if owner is not None else _NO_OWNER
        self.depth = depth
        self.close = close              # ")" for $( <( >(, "" for the top level
        self.in_dq = in_dq
        self.parens = 0                 # ( ... ) nesting inside this frame
        self.braces = 0
        self.case = 0                   # case ... esac nesting (its patterns end with ")")
        self.pending: list[Heredoc] = []
        self.word: list[str] | None = None
        self.word_end = -1
        self.quoted = False
        self.expansion = False
        self.expect: tuple[str, str | None] | None = None  # a redirection waiting for its word
        self.words: list[str] = []
        self.heredocs: list[Heredoc] = []
        self.stdin = 0


_NO_OWNER = object.__new__(_Frame)


class _Reader:
    def __init__(self, text: str, out: Parse, depth: int, level: int, top: bool) -> None:
        self.text = text
        self.out = out
        self.depth = depth
        self.level = level
        self.top = top          # reading the whole command (offsets are the command's own)
        self.pending = 0        # heredocs waiting for their newline, in any frame
        self._op_pos = 0        # where the last redirection operator was

    # --- words and commands ---------------------------------------------------------------

    def add(self, f: _Frame, s: str, pos: int) -> None:
        if f.word is None:
            f.word = []
        f.word.append(s)
        f.word_end = pos

    def end_word(self, f: _Frame) -> None:
        if f.word is None:
            return
        value = "".join(f.word)
        quoted, expansion = f.quoted, f.expansion
        f.word, f.quoted, f.expansion = None, False, False
        if f.expect is not None:
            op, fd = f.expect
            f.expect = None
            if op in ("<<", "<<-"):
                self.heredoc(f, value, quoted, expansion, op, fd)
            elif op in ("<", "<<<", "<>", "<&") and fd in (None, "0"):
                f.stdin += 1
            return
        if not f.words and not quoted:
            if value == "case":
                f.case += 1
            elif value == "esac" and f.case:
                f.case -= 1
        f.words.append(value)

    def heredoc(self, f: _Frame, delimiter: str, quoted: bool, expansion: bool, op: str,
                fd: str | None) -> None:
        if expansion or "\n" in delimiter:
            self.out.uncertain = True   # `<<$(x)`, `<<"$x"`-like delimiters: read literally by bash,
        if not self.top or f.array:     # differently by other shells; in backquotes or an array too
            self.out.uncertain = True
        # Inside $(...) shells agree on the body (git commit -m "$(cat <<'EOF' ... EOF\n)"); they
        # differ on `EOF ...)` lines and on a $(...) that ends before the body (both uncertain).
        h = Heredoc(self.text, self._op_pos, delimiter, quoted, op == "<<-", fd, f.depth)
        if fd in (None, "0"):
            f.stdin += 1
        f.heredocs.append(h)
        f.pending.append(h)
        self.pending += 1

    def broken(self, pos: int) -> None:
        """An unterminated quote at `pos`: bash refuses the command; the text after it is hidden."""
        self.out.complete = False
        if self.top and (self.out.broken_at < 0 or pos < self.out.broken_at):
            self.out.broken_at = pos

    def end_command(self, f: _Frame) -> None:
        if f.word is None and f.expect is None and not f.words and not f.heredocs and not f.stdin:
            return
        self.end_word(f)
        if f.expect is not None:        # `cat <<` then a newline or `;`: bash refuses it
            self.out.uncertain = True
            f.expect = None
        if f.array:                     # an array's words are not a command
            f.words = []
        if f.words or f.heredocs or f.stdin:
            cmd = Simple(f.words, f.depth, f.heredocs, f.stdin)
            for h in f.heredocs:
                h.owner = cmd
            self.out.commands.append(cmd)
            f.words, f.heredocs, f.stdin = [], [], 0

    # --- the reader ---------------------------------------------------------------------------

    def run(self, kind: int = _CMD) -> None:
        text, n = self.text, len(self.text)
        root = _Frame(kind, None if kind == _CMD else _Frame(_CMD, None, self.depth), self.depth)
        stack = [root]
        pos = 0
        while pos < n:
            f = stack[-1]
            k = f.kind
            c = text[pos]
            if k == _CMD:
                if c not in _CMD_SPECIAL:
                    m = _PLAIN.match(text, pos)
                    end = m.end() if m else pos + 1
                    self.add(f, text[pos:end], end)
                    pos = end
                elif c in " \t\r":
                    self.end_word(f)
                    blanks = _BLANKS.match(text, pos)
                    pos = blanks.end() if blanks else pos + 1
                elif c == "\n":
                    self.end_command(f)
                    pos += 1
                    if f.pending:
                        pos = self.gather(f, pos)
                    elif self.pending:
                        self.out.uncertain = True   # a newline inside a substitution, heredocs waiting
                elif c == "#" and f.word is None:
                    nl = text.find("\n", pos)
                    pos = n if nl < 0 else nl
                elif c == "'":
                    end = text.find("'", pos + 1)
                    if end < 0:
                        self.broken(pos)
                        self.add(f, text[pos + 1:], n)
                        pos = n
                        break
                    if self.pending and "\n" in text[pos:end]:
                        self.out.uncertain = True
                    f.quoted = True
                    self.add(f, text[pos + 1:end], end + 1)
                    pos = end + 1
                elif c == '"':
                    f.quoted = True
                    self.add(f, "", pos)
                    stack.append(_Frame(_DQ, f, f.depth, in_dq=True, start=pos))
                    pos += 1
                elif c == "\\":
                    if pos + 1 >= n:
                        self.add(f, "\\", n)
                        pos = n
                    elif text[pos + 1] == "\n":
                        pos += 2            # line continuation: nothing, not even a word break
                    else:
                        f.quoted = True
                        self.add(f, text[pos + 1], pos + 2)
                        pos += 2
                elif c == "$":
                    pos = self.dollar(f, f, pos, stack, ansi=True)
                elif c == "`":
                    pos = self.backquote(f, pos)
                elif c in "<>":
                    if pos + 1 < n and text[pos + 1] == "(":   # process substitution
                        f.expansion = True
                        self.add(f, c + "(...)", pos)
                        stack.append(_Frame(_CMD, None, f.depth + 1, close=")"))
                        pos += 2
                    else:
                        pos = self.redirection(f, pos)
                elif c in "&|;" and f.array:
                    self.out.uncertain = True   # bash's recovery from errors in arrays runs on
                    self.end_command(f)
                    pos += 1
                elif c == "&":
                    if pos + 1 < n and text[pos + 1] == ">":
                        pos = self.redirection(f, pos)
                    else:
                        self.end_command(f)
                        pos += 2 if text.startswith("&&", pos) else 1
                elif c == "|":
                    self.end_command(f)
                    pos += 2 if pos + 1 < n and text[pos + 1] in "|&" else 1
                elif c == ";":
                    self.end_command(f)
                    pos += 1
                    while pos < n and text[pos] in ";&":
                        pos += 1
                elif c == "(":
                    if f.array:
                        self.out.uncertain = True   # bash's recovery from errors in arrays runs on
                        self.end_command(f)
                        f.parens += 1
                        pos += 1
                    elif f.word is not None and not f.quoted and _ARRAY.fullmatch("".join(f.word)):
                        self.add(f, "(...)", pos + 1)         # NAME=( ... ): an array's words
                        array = _Frame(_CMD, None, f.depth, close=")")
                        array.array = True
                        stack.append(array)
                        pos += 1
                    elif f.word is None and not f.words and text.startswith("((", pos):
                        self.end_command(f)
                        stack.append(_Frame(_ARITH, f, f.depth))   # (( arithmetic ))
                        pos += 2
                    else:
                        self.end_command(f)
                        f.parens += 1
                        pos += 1
                else:  # c == ")" or an ordinary character
                    if c == ")":
                        self.end_command(f)
                        pos += 1
                        if f.parens:
                            f.parens -= 1
                        elif f.close:
                            if f.case:
                                self.out.uncertain = True   # a case pattern inside $(...)
                                continue
                            stack.pop()
                            if f.pending:       # `$(cat <<EOF)`: bash 5.2 reads the body after the
                                self.out.uncertain = True       # enclosing newline; others differ
                                parent = stack[-1] if stack[-1].kind == _CMD else stack[-1].owner
                                parent.pending.extend(f.pending)
                        continue
                    m = _PLAIN.match(text, pos)
                    end = m.end() if m else pos + 1
                    self.add(f, text[pos:end], end)
                    pos = end
            elif k == _DQ or k == _BODY:
                m = (_DQ_PLAIN if k == _DQ else _BODY_PLAIN).match(text, pos)
                if m:
                    run = m.group()
                    if self.pending and "\n" in run:
                        self.out.uncertain = True
                    if k == _DQ:
                        self.add(f.owner, run, m.end())
                    pos = m.end()
                elif c == '"':
                    stack.pop()
                    pos += 1
                elif c == "\\":
                    nxt = text[pos + 1] if pos + 1 < n else ""
                    if nxt == "\n":
                        pos += 2
                    elif nxt and nxt in ('$`"\\' if k == _DQ else "$`\\"):
                        self.add(f.owner, nxt, pos + 2)
                        pos += 2
                    else:
                        self.add(f.owner, "\\", pos + 1)
                        pos += 1
                elif c == "$":
                    pos = self.dollar(f, f.owner, pos, stack, ansi=False)
                else:  # "`"
                    pos = self.backquote(f.owner, pos)
            elif k == _PARAM:
                m = _PARAM_PLAIN.match(text, pos)
                if m:
                    self.add(f.owner, m.group(), m.end())
                    pos = m.end()
                elif c == "}":
                    self.add(f.owner, "}", pos + 1)
                    pos += 1
                    if f.braces:
                        f.braces -= 1
                    else:
                        stack.pop()
                elif c == "{":
                    f.braces += 1
                    self.add(f.owner, "{", pos + 1)
                    pos += 1
                elif c == "'":
                    if f.in_dq:
                        self.out.uncertain = True   # '...' inside "${...}": shells differ
                    end = text.find("'", pos + 1)
                    if end < 0:
                        self.broken(pos)
                        pos = n
                        break
                    self.add(f.owner, text[pos + 1:end], end + 1)
                    pos = end + 1
                elif c == '"':
                    stack.append(_Frame(_DQ, f.owner, f.depth, in_dq=True, start=pos))
                    pos += 1
                elif c == "\\":
                    self.add(f.owner, text[pos + 1:pos + 2], pos + 2)
                    pos += 2
                elif c == "$":
                    pos = self.dollar(f, f.owner, pos, stack, ansi=not f.in_dq)
                else:  # "`"
                    pos = self.backquote(f.owner, pos)
            else:  # _ARITH: $(( ... )) or (( ... )); only substitutions inside matter
                m = _ARITH_PLAIN.match(text, pos)
                if m:
                    pos = m.end()
                elif c == "(":
                    f.parens += 1
                    pos += 1
                elif c == ")":
                    if f.parens:
                        f.parens -= 1
                        pos += 1
                    else:
                        stack.pop()
                        if text.startswith("))", pos):
                            pos += 2
                        else:
                            self.out.uncertain = True   # `$((a) b)`: a substitution to bash
                            pos += 1
                elif c == "'":
                    end = text.find("'", pos + 1)
                    pos = n if end < 0 else end + 1
                elif c == '"':
                    stack.append(_Frame(_DQ, f.owner, f.depth, in_dq=True, start=pos))
                    pos += 1
                elif c == "\\":
                    pos += 2
                elif c == "$":
                    pos = self.dollar(f, f.owner, pos, stack, ansi=False)
                else:
                    pos = self.backquote(f.owner, pos)
        # the end of the text
        while len(stack) > 1:
            f = stack.pop()
            if f.kind == _CMD:
                self.end_command(f)
            elif f.kind != _ARITH:
                self.broken(f.start)     # an unclosed "..." or ${...}: what follows is hidden in it
            self.out.complete = False
        if root.kind == _CMD:
            self.end_command(root)

    def dollar(self, f: _Frame, owner: _Frame, pos: int, stack: list[_Frame], ansi: bool) -> int:
        text, n = self.text, len(self.text)
        nxt = text[pos + 1] if pos + 1 < n else ""
        if nxt == "(":
            owner.expansion = True
            if text.startswith("((", pos + 1):
                self.add(owner, "$((...))", pos + 3)
                stack.append(_Frame(_ARITH, owner, f.depth))
                return pos + 3
            self.add(owner, "$(...)", pos + 2)
            stack.append(_Frame(_CMD, None, f.depth + 1, close=")"))
            return pos + 2
        if nxt == "{":
            owner.expansion = True
            self.add(owner, "${", pos + 2)
            stack.append(_Frame(_PARAM, owner, f.depth, in_dq=f.in_dq or f.kind == _BODY, start=pos))
            return pos + 2
        if ansi and nxt == "'":         # $'...': ANSI-C quoting
            m = _ANSI_INSIDE.match(text, pos + 2)
            i = m.end() if m else pos + 2
            if i >= n or text[i] != "'":
                self.broken(pos)
                self.add(owner, _ansi_c(text[pos + 2:]), n)
                return n
            owner.quoted = True
            self.add(owner, _ansi_c(text[pos + 2:i]), i + 1)
            return i + 1
        if ansi and nxt == '"':         # $"...": like "..."
            owner.quoted = True
            self.add(owner, "", pos + 2)
            stack.append(_Frame(_DQ, owner, f.depth, in_dq=True, start=pos))
            return pos + 2
        self.add(owner, "$", pos + 1)
        return pos + 1

    def backquote(self, owner: _Frame, pos: int) -> int:
        """`...`: the inside, its \\` \\$ \\\\ unescaped, is read as a command of its own."""
        text, n = self.text, len(self.text)
        parts: list[str] = []
        i = pos + 1
        end = n
        while True:
            m = _BACKQUOTE_STOP.search(text, i)
            if m is None:
                parts.append(text[i:])
                self.out.complete = False
                break
            j = m.start()
            if text[j] == "`":
                parts.append(text[i:j])
                end = j
                break
            nxt = text[j + 1:j + 2]
            if nxt in ("`", "$", "\\"):
                parts.append(text[i:j])
                parts.append(nxt)
            else:
                parts.append(text[i:j + 2])
            i = j + 2
        inside = "".join(parts)
        if self.pending and "\n" in inside:
            self.out.uncertain = True
        owner.expansion = True
        self.add(owner, "`...`", min(end + 1, n))
        if inside.strip():
            self.nested(inside, owner.depth + 1, _CMD)
        return min(end + 1, n)

    def nested(self, text: str, depth: int, kind: int) -> None:
        if self.level >= MAX_NESTING:
            self.out.uncertain = True
            return
        sub = _Reader(text, self.out, depth, self.level + 1, top=False)
        sub.run(kind)

    def redirection(self, f: _Frame, pos: int) -> int:
        text = self.text
        if f.array:
            self.out.uncertain = True       # bash's recovery from errors in arrays runs on
        fd: str | None = None
        if f.word is not None and f.word_end == pos and not f.quoted and not f.expansion:
            word = "".join(f.word)
            if word.isdigit() or _FD_VAR.fullmatch(word):
                fd = word
                f.word = None
        self.end_word(f)
        if f.expect is not None:
            self.out.uncertain = True
            f.expect = None
        self._op_pos = pos
        for op in ("<<<", "<<-", "<<", "<>", "<&", "<", "&>>", "&>", ">>", ">|", ">&", ">"):
            if text.startswith(op, pos):
                break
        f.expect = (op, fd)
        return pos + len(op)

    def gather(self, f: _Frame, pos: int) -> int:
        """Read the bodies of the heredocs waiting in `f`, in order, from `pos` (a line start)."""
        text, n = self.text, len(self.text)
        waiting, f.pending = f.pending, []
        self.pending -= len(waiting)
        for h in waiting:
            start = pos
            h.body_start = start
            while True:
                if pos >= n:                       # no delimiter: the body runs to the end
                    h.body_end = h.end = n
                    break
                nl = text.find("\n", pos)
                line_end = n if nl < 0 else nl
                line = text[pos:line_end]
                joined = False
                if not h.quoted and line.endswith("\\"):
                    pieces = [line]
                    while nl >= 0 and (len(pieces[-1]) - len(pieces[-1].rstrip("\\"))) % 2:
                        joined = True
                        pieces[-1] = pieces[-1][:-1]
                        nl = text.find("\n", line_end + 1)
                        seg_end = n if nl < 0 else nl
                        pieces.append(text[line_end + 1:seg_end])
                        line_end = seg_end
                    line = "".join(pieces)
                after = n if nl < 0 else line_end + 1
                check = line.lstrip("\t") if h.strip_tabs else line
                if check == h.delimiter:
                    h.body_end = max(start, pos - 1)
                    h.end = after
                    pos = after
                    break
                if f.close and check.startswith(h.delimiter) and ")" in check[len(h.delimiter):]:
                    # bash 5.2: inside $(...), `EOF ...)` ends the body and the rest is read again
                    self.out.uncertain = True
                    h.body_end = max(start, pos - 1)
                    h.end = after if joined else pos + (len(line) - len(check)) + len(h.delimiter)
                    pos = h.end
                    break
                pos = after
            if h.end >= n and start > 0 and text[start - 1] == "\n":
                removed_start = start - 1          # the body ends the text: drop the newline before it
            else:
                removed_start = start
            if self.top:
                self.out.heredocs.append(h)
                self.out.removed.append((removed_start, h.end))
            if not h.quoted and h.body_end > h.body_start:
                self.nested(h.body, f.depth, _BODY)   # $(...) in the body runs (one level down)
        return pos


def parse(text: str, depth: int = 0) -> Parse:
    """Read `text` as bash would (see the module's docstring)."""
    out = Parse(text)
    _Reader(text, out, depth, 0, top=True).run()
    return out


def flat_commands(text: str) -> list[list[str]]:
    """Every stretch between separators, quotes ignored: what any line could run, read bluntly.

    For text the reader is unsure of: `'; env; '` is a command here whatever quoting it is in.
    """
    out: list[list[str]] = []
    for part in _FLAT_SPLIT.split(text.translate(_FLAT_DROP)):
        words = part.split()
        if words:
            out.append(words)
    return out


def split_heredocs(command: str) -> tuple[str, list[tuple[str, str, bool]]]:
    """Return (the command without heredoc bodies, [(opening line, body, delimiter quoted)])."""
    p = parse(command)
    return p.runs, [(h.opener, h.body, h.quoted) for h in p.heredocs]


def segments(text: str) -> list[list[str]] | None:
    """The words of each simple command bash runs as written (not inside substitutions), or None if
    the text does not read to its end (an unterminated quote or substitution)."""
    p = parse(text)
    if not p.complete:
        return None
    return [c.words for c in p.commands if c.depth == 0 and c.words]


def words_of(text: str) -> list[str]:
    """All the words of `text` in order, as `env -S` splits a string."""
    return [w for c in parse(text).commands if c.depth == 0 for w in c.words]


def program(words: list[str]) -> list[str]:
    """The command a simple command runs: without leading assignments, reserved words and wrappers
    (sudo, nohup, env A=B, env -S '...', timeout N, xargs -n 1, ...). Bare `env` stays `env`."""
    i = 0
    while i < len(words):
        w = words[i]
        base = w.rsplit("/", 1)[-1]
        if ASSIGN.match(w) or w in RESERVED:
            i += 1
        elif w.startswith("${") and (m := _PARAM_DEFAULT.match(w)):
            return program(m.group(1).split() + words[i + 1:])   # ${x:-env}: the default runs
        elif base == "env":
            j = i + 1
            while j < len(words):
                a = words[j]
                if a in ("-S", "--split-string") and j + 1 < len(words):
                    return program(words_of(words[j + 1]) + words[j + 2:])
                if a.startswith("-S") and len(a) > 2:
                    return program(words_of(a[2:]) + words[j + 1:])
                if a.startswith("--split-string="):
                    return program(words_of(a.split("=", 1)[1]) + words[j + 1:])
                if a in ENV_VALUE_OPTIONS:
                    j += 2
                elif a.startswith("-") or ASSIGN.match(a):
                    j += 1
                else:
                    break
            if j >= len(words):
                return words[i:]             # bare env (options only): it prints the environment
            i = j
        elif base in WRAPPERS:
            if base == "command" and i + 1 < len(words) and words[i + 1] in ("-v", "-V"):
                return []                    # `command -v x` prints where x is, runs nothing
            takes = WRAPPERS[base]
            i += 1
            while i < len(words) and words[i].startswith("-") and words[i] != "-":
                option = words[i]
                i += 2 if option in takes else 1
                if option == "--":
                    break
            if base == "timeout" and i < len(words):
                i += 1                       # the duration
        else:
            break
    return words[i:]


def is_python(word: str) -> bool:
    """True for python, python3, python3.11, /usr/bin/python3, ..."""
    return bool(PYTHON.match(word))


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
