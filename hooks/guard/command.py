"""One Bash command as the rules see it, and the two exemptions for this plugin's own scripts.

`Command` reads the command once (guard.shell.parse); each view (the part that runs, the text that
is checked, its decoded, canonical and lower-case forms, the simple commands, the configured hosts,
...) is computed the first time a rule asks for it and kept. Rules run in order, so views are
computed in the order the rules need them and an unrelated command costs only what the rules
before its verdict look at.

The exemptions:

* free text: the body of a heredoc with a quoted delimiter that is the standard input of
  `create_session.py --prompt-file -` / `send_message.py --message-file -` (this plugin's scripts)
  is the task for Devin, not a command. It is left out of `Command.checked` (and of every view
  built from it); only `Command.raw` still has it.
* plugin scripts: `Command.only_plugin_scripts` is true when every simple command the text runs
  (substitutions included) is a call of this plugin's scripts (or `true` / `:`); rules marked for
  it then let it pass.

Where the reader is unsure (guard.shell.Parse.uncertain: constructs bash versions read differently)
neither exemption applies, the whole text is checked and every line is also read as a command.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from functools import cached_property
from itertools import pairwise

from devin_plugin.locations import TOKEN_FILE as DEFAULT_TOKEN_FILE  # lib/ is on the path (guard_bash.py)

from .shell import Heredoc, Parse, flat_commands, is_python, parse, program, unescape

FREE_TEXT_SCRIPTS = {"create_session.py": "--prompt-file", "send_message.py": "--message-file"}
TOKEN_VALUE_VARS = ("DEVIN_SERVICE_USER_TOKEN", "CLAUDE_PLUGIN_OPTION_DEVIN_TOKEN")
# What separates one field or variable name from the next in JSON, URLs, shell and code: a name
# spelled with spaces ("message as user id") counts only when it is all there is between two of these.
_UNIT_BREAK = re.compile(r"[\"'`=:,;{}\[\]()<>|&?!#$/\\\n\r]")
_PATH_RUN = re.compile(r"[^\s\"'`;&|()<>=,]+")


def api_hosts(environ: Mapping[str, str]) -> list[str]:
    """The host[:port] of DEVIN_API_BASE when it is not api.devin.ai (may raise on a bad URL)."""
    hosts: list[str] = []
    base = environ.get("DEVIN_API_BASE", "").strip()
    if base:
        from urllib.parse import urlsplit

        netloc = urlsplit(base if "://" in base else "https://" + base).netloc.lower()
        netloc = netloc.rsplit("@", 1)[-1]
        if netloc and netloc not in ("api.devin.ai", "api.devin.ai:443"):
            hosts.append(netloc)
    return hosts


def plugin_script(words: list[str], cwd: str, scripts_dir: str) -> str | None:
    """The script's file name if `words` runs one of this plugin's own scripts, else None."""
    if len(words) < 2 or not is_python(words[0]):
        return None
    path = words[1]
    if not path.endswith(".py") or path.startswith("-"):
        return None
    full = path if os.path.isabs(path) else os.path.join(cwd or os.getcwd(), path)
    full = os.path.realpath(os.path.expanduser(full))
    if os.path.dirname(full) != scripts_dir or not os.path.isfile(full):
        return None
    return os.path.basename(full)


def only_plugin_scripts(parsed: Parse, cwd: str, scripts_dir: str) -> bool:
    """True when every simple command `parsed` runs, at any depth, calls one of this plugin's scripts
    (or is true / :, or only assigns); False for text the reader is unsure of."""
    if parsed.uncertain or not parsed.complete:
        return False
    if any(h.depth for h in parsed.heredocs):   # (bash 3.2 may end a $(...) inside its heredoc)
        return False
    seen = False
    for cmd in parsed.commands:
        words = program(cmd.words)
        if words in ([], ["true"], [":"]):
            continue
        if plugin_script(words, cwd, scripts_dir) is None:
            return False
        seen = True
    return seen


def free_text_heredoc(h: Heredoc, cwd: str, scripts_dir: str) -> bool:
    """True when this heredoc is the task or message text for Devin: a quoted delimiter, the only
    standard input of a `create_session.py --prompt-file -` / `send_message.py --message-file -`
    call of this plugin's scripts, outside any substitution."""
    owner = h.owner
    if not h.quoted or h.depth or owner is None or owner.depth or h.fd not in (None, "0"):
        return False
    if len(owner.heredocs) != 1 or owner.stdin != 1:
        return False
    words = program(owner.words)
    option = FREE_TEXT_SCRIPTS.get(plugin_script(words, cwd, scripts_dir) or "")
    if not option:
        return False
    return any(w == option and nxt == "-" for w, nxt in pairwise(words)) or (option + "=-") in words


def _unique(commands: Iterable[list[str]]) -> list[list[str]]:
    """`commands` without repeats (in the order first seen)."""
    return [list(words) for words in dict.fromkeys(tuple(words) for words in commands)]


def _line_commands(text: str) -> Iterator[tuple[list[str], int]]:
    """Each line of `text` read on its own (what runs if a line break were a command's end)."""
    for line in text.split("\n"):
        if line.strip():
            for c in parse(line).commands:
                yield c.words, c.depth


def _flat(text: str) -> Iterator[tuple[list[str], int]]:
    """flat_commands of `text`, as written and with backslash-newline joining lines."""
    for version in (text, text.replace("\\\n", "")) if "\\\n" in text else (text,):
        for words in flat_commands(version):
            yield words, 0


def _read(p: Parse) -> list[tuple[list[str], int]]:
    """(words, depth) of the simple commands of `p`, and where the reader is not sure of them more:
    after an unterminated quote, each later line on its own (bash runs none of it, but the quote
    may be a mistake of ours); where shells differ, each line on its own and every stretch between
    separators with quotes ignored (guard.shell.flat_commands)."""
    out = [(c.words, c.depth) for c in p.commands]
    text = p.text
    if p.uncertain:
        if "\n" in text:          # (one line: the same as what was just read)
            out.extend(_line_commands(text))
        out.extend(_flat(text))
    elif p.broken_at >= 0:
        line_end = text.find("\n", p.broken_at)
        if line_end >= 0:
            out.extend(_line_commands(text[line_end + 1:]))
    elif not p.complete and "\n" in text:
        # Unterminated with no quote to start from (an open backtick or $( ...): every line on its own.
        out.extend(_line_commands(text))
    return out


def commands_of(text: str) -> list[tuple[list[str], int]]:
    """(words, depth) of every simple command in `text`, read carefully (see _read)."""
    return _read(parse(text))


class Command:
    """A Bash command with what the rules need to judge it: where it runs, the policy, the environment.

    `raw` is the whole command, free text for Devin included; `runs` is the command without its
    heredoc bodies; `checked` is `runs` followed by every heredoc body that is not free text.
    """

    def __init__(self, raw: str, *, cwd: str, root: str, canonical: Callable[[str], str],
                 forbidden: Mapping[str, str], environ: Mapping[str, str] | None = None) -> None:
        self.raw = raw
        self.cwd = cwd
        self.root = root
        self.scripts_dir = os.path.join(os.path.realpath(root), "scripts")
        self.canonical = canonical
        self.forbidden = forbidden  # canonical spelling -> the name as the policy writes it
        self.environ: Mapping[str, str] = os.environ if environ is None else environ

    def __repr__(self) -> str:
        return f"Command({self.raw!r}, cwd={self.cwd!r})"

    # --- the command's parts -------------------------------------------------------------------

    @cached_property
    def parsed(self) -> Parse:
        return parse(self.raw)

    @property
    def uncertain(self) -> bool:
        return self.parsed.uncertain

    @cached_property
    def runs(self) -> str:
        """The command without heredoc bodies: what the shell parses as commands (all of it when
        the reader is unsure)."""
        return self.raw if self.uncertain else self.parsed.runs

    @property
    def heredocs(self) -> list[Heredoc]:
        return [] if self.uncertain else self.parsed.heredocs

    @cached_property
    def checked_bodies(self) -> list[str]:
        """The heredoc bodies that are not free text for Devin (the exemption)."""
        return [h.body for h in self.heredocs
                if not free_text_heredoc(h, self.cwd, self.scripts_dir)]

    @cached_property
    def checked(self) -> list[str]:
        """`runs`, then the heredoc bodies that are not free text for Devin."""
        return [self.runs, *self.checked_bodies]

    @cached_property
    def text(self) -> str:
        return "\n".join(self.checked)

    @cached_property
    def decoded(self) -> str:
        """`text` with \\uXXXX, %XX, \\xXX, ... escapes decoded."""
        return unescape(self.text)

    @cached_property
    def squashed(self) -> str:
        """`text` and `decoded` in the policy's canonical form (case, separators, look-alikes gone)."""
        return self.canonical(self.text) + "\n" + self.canonical(self.decoded)

    @cached_property
    def lowered(self) -> str:
        return (self.text + "\n" + self.decoded).lower()

    @cached_property
    def unquoted(self) -> str:
        """`lowered` without quotes and backslashes (`api."devin".ai` reads api.devin.ai)."""
        return re.sub(r"[\"'\\]", "", self.lowered)

    # --- names in any spelling -----------------------------------------------------------------

    @cached_property
    def _chunks(self) -> str:
        """Each blank-separated piece of `text` and `decoded` in canonical form, one per line."""
        return "\n".join(self.canonical(piece) for t in (self.text, self.decoded) for piece in t.split())

    @cached_property
    def _units(self) -> set[str]:
        """The canonical form of each stretch with blanks in it between two _UNIT_BREAK characters."""
        return {self.canonical(unit) for t in (self.text, self.decoded) for unit in _UNIT_BREAK.split(t)
                if " " in unit.strip() or "\t" in unit.strip()}

    def names(self, canon: str) -> bool:
        """True when the checked text spells the name whose canonical form is `canon`: inside one
        blank-free piece (`session_secrets`, `Session-Secrets`, `sessionSecrets`, escapes decoded),
        or spaced out but alone between quotes or separators (`'MESSAGE AS USER ID'`); not as words
        of a longer phrase (`'Rotate session secrets'`)."""
        if canon not in self.squashed:
            return False
        return canon in self._chunks or canon in self._units

    # --- the simple commands ---------------------------------------------------------------------

    @cached_property
    def _structure(self) -> list[tuple[list[str], int]]:
        """(words, depth) of every simple command of the command (see _read; where the reader is
        unsure that is every line of it), then of each checked heredoc body (it may be fed to a
        shell)."""
        out = _read(self.parsed)
        for body in self.checked_bodies:
            out.extend(commands_of(body))
        return out

    @cached_property
    def commands(self) -> list[list[str]]:
        """The words of each simple command run as written (not inside a substitution), each once."""
        return _unique(words for words, depth in self._structure if depth == 0)

    @cached_property
    def substituted(self) -> list[list[str]]:
        """The words of each simple command inside $(...), `...`, <(...) or >(...), each once."""
        return _unique(words for words, depth in self._structure if depth > 0)

    @cached_property
    def all_commands(self) -> list[list[str]]:
        """The words of every simple command, substitutions and checked heredoc bodies included, each
        once."""
        return _unique(words for words, _ in self._structure)

    # --- paths -----------------------------------------------------------------------------------

    def paths(self, *needles: str) -> Iterator[str]:
        """Path-like words of `lowered` and `unquoted` that contain one of `needles` (lower case), with
        ~ and $HOME expanded and ., .. and // resolved (as written, links not followed)."""
        home = os.path.expanduser("~").rstrip("/").lower()
        wanted = re.compile("|".join(re.escape(needle) for needle in needles))
        for view in (self.lowered, self.unquoted):
            if not wanted.search(view):
                continue
            for run in [r for r in _PATH_RUN.findall(view) if "/" in r and wanted.search(r)]:
                for prefix in ("~", "$home", "${home}"):
                    if run == prefix or run.startswith(prefix + "/"):
                        run = home + run[len(prefix):]
                        break
                if run.startswith("/"):
                    run = os.path.normpath(run)
                    if run.startswith("//"):
                        run = "/" + run.lstrip("/")
                elif self.cwd.startswith("/") and "/" in run:
                    run = os.path.normpath(os.path.join(self.cwd.lower(), run))
                yield run

    # --- what the environment says -------------------------------------------------------------

    @cached_property
    def token_values(self) -> list[tuple[str, str]]:
        """(variable, value) of the token variables set to a value long enough to look for."""
        values = [(v, self.environ.get(v, "")) for v in TOKEN_VALUE_VARS]
        return [(v, value) for v, value in values if len(value) >= 8]

    @cached_property
    def token_files(self) -> list[str]:
        """Lower-case absolute paths of the token file: DEVIN_TOKEN_FILE's (as set and resolved) and
        the default ~/.config/devin/token."""
        home = os.path.expanduser("~").rstrip("/")
        paths = {os.path.normpath(os.path.expanduser(DEFAULT_TOKEN_FILE)).lower()}
        path = self.environ.get("DEVIN_TOKEN_FILE", "").strip()
        if len(path) >= 3:
            for prefix in ("$HOME", "${HOME}"):
                if path.startswith(prefix + "/"):
                    path = home + path[len(prefix):]
            expanded = os.path.expanduser(path)
            if os.path.isabs(expanded):
                paths.add(os.path.normpath(expanded).lower())
            paths.add(os.path.realpath(expanded).lower())
        return sorted(paths)

    @cached_property
    def token_file_forms(self) -> list[str]:
        """Lower-case spellings of DEVIN_TOKEN_FILE's path (as set, resolved, ~/..., $HOME/...)."""
        path = self.environ.get("DEVIN_TOKEN_FILE", "").strip()
        if len(path) < 3:
            return []
        forms = {path.lower(), os.path.realpath(os.path.expanduser(path)).lower()}
        home = os.path.expanduser("~").rstrip("/")
        for form in list(forms):
            if home and form.startswith(home.lower() + "/"):
                forms.add("~" + form[len(home):])
                forms.add("$home" + form[len(home):])
                forms.add("${home}" + form[len(home):])
        return sorted(forms)

    @cached_property
    def api_hosts(self) -> list[str]:
        """The configured API host (DEVIN_API_BASE) if it is not api.devin.ai; may raise."""
        return api_hosts(self.environ)

    # --- the plugin-script exemption -----------------------------------------------------------

    @cached_property
    def only_plugin_scripts(self) -> bool:
        return only_plugin_scripts(self.parsed, self.cwd, self.scripts_dir)
