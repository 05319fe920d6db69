"""One Bash command as the rules see it, and the two exemptions for this plugin's own scripts.

`Command` reads the command once; each view (the part that runs, the text that is checked, its
decoded, canonical and lower-case forms, the configured hosts, ...) is computed the first time a
rule asks for it and kept. Rules run in order, so views are computed in the order the rules need
them and an unrelated command costs only what the rules before its verdict look at.

The exemptions:

* free text: the body of a heredoc with a quoted delimiter that is the standard input of
  `create_session.py --prompt-file -` / `send_message.py --message-file -` (this plugin's scripts)
  is the task for Devin, not a command. It is left out of `Command.checked` (and of every view
  built from it); only `Command.raw` still has it.
* plugin scripts: `Command.only_plugin_scripts` is true when every simple command in the part that
  runs is a call of this plugin's scripts (or `true` / `:`); rules marked for it then let it pass.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from functools import cached_property
from itertools import pairwise

from .shell import (
    Heredoc,
    heredoc_operators,
    is_python,
    program,
    segments,
    split_heredocs,
    unescape,
    without_heredoc_operators,
)

FREE_TEXT_SCRIPTS = {"create_session.py": "--prompt-file", "send_message.py": "--message-file"}
TOKEN_VALUE_VARS = ("DEVIN_SERVICE_USER_TOKEN", "CLAUDE_PLUGIN_OPTION_DEVIN_TOKEN")


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


def only_plugin_scripts(runs: str, cwd: str, scripts_dir: str) -> bool:
    """True when every simple command of `runs` calls one of this plugin's scripts (or true / :)."""
    segs = segments(runs)
    if not segs:
        return False
    seen = False
    for words in segs:
        words = program(words)
        if words in ([], ["true"], [":"]):
            continue
        if plugin_script(words, cwd, scripts_dir) is None:
            return False
        seen = True
    return seen


def free_text_heredoc(opener: str, cwd: str, scripts_dir: str) -> bool:
    """True when the heredoc opened on this line is the task or message text for Devin."""
    segs = segments(without_heredoc_operators(opener))
    if not segs or len(segs) != 1 or heredoc_operators(opener) != 1:
        return False
    words = program(segs[0])
    script = plugin_script(words, cwd, scripts_dir)
    option = FREE_TEXT_SCRIPTS.get(script or "")
    if not option:
        return False
    return any(w == option and nxt == "-" for w, nxt in pairwise(words)) or \
        (option + "=-") in words


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
    def _split(self) -> tuple[str, list[Heredoc]]:
        return split_heredocs(self.raw)

    @property
    def runs(self) -> str:
        """The command without heredoc bodies: what the shell parses as commands."""
        return self._split[0]

    @property
    def heredocs(self) -> list[Heredoc]:
        return self._split[1]

    @cached_property
    def checked(self) -> list[str]:
        """`runs`, then the heredoc bodies that are not free text for Devin (the exemption)."""
        return [self.runs] + [body for opener, body, quoted in self.heredocs
                              if not (quoted and free_text_heredoc(opener, self.cwd, self.scripts_dir))]

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

    # --- what the environment says -------------------------------------------------------------

    @cached_property
    def token_values(self) -> list[tuple[str, str]]:
        """(variable, value) of the token variables set to a value long enough to look for."""
        values = [(v, self.environ.get(v, "")) for v in TOKEN_VALUE_VARS]
        return [(v, value) for v, value in values if len(value) >= 8]

    @cached_property
    def token_file_forms(self) -> list[str]:
        """Lower-case spellings of DEVIN_TOKEN_FILE's path (as set, resolved, ~/..., $HOME/...)."""
        path = self.environ.get("DEVIN_TOKEN_FILE", "").strip()
        if len(path) < 3:
            return []
        forms = {path.lower(), os.path.realpath(os.path.expanduser(path)).lower()}
        home = os.path.expanduser("~").rstrip("/")
        for form in list(forms):
            if home and form.startswith(home + "/"):
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
        return only_plugin_scripts(self.runs, self.cwd, self.scripts_dir)
