"""The guard's rules: one named entry each in `RULES`, tried in order; the first that fires wins.

A rule's check takes the `Command` and returns what it found (a short, non-secret description;
for `forbidden-field` the field's name, which the message quotes) or None. `kind` picks the advice
the agent gets (guard.messages.ADVICE). `plugin_scripts_exempt` lets a command made only of calls
of this plugin's scripts pass the rule (they may name the API host or the token variables: they
read the token themselves and never print it).

To add a rule: write its check, add one `Rule(...)` line where its priority belongs, and give it
blocking and passing cases in tests/hook/test_rules.py (a rule without cases fails the tests).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from .command import Command, commands_of
from .shell import SHELLS, program, unescape

TOKEN_VARS = ("DEVIN_SERVICE_USER_TOKEN", "DEVIN_TOKEN_FILE", "DEVIN_API_KEY", "DEVIN_PLUGIN_TOKEN",
              "CLAUDE_PLUGIN_OPTION_DEVIN_TOKEN")
LITERAL_TOKEN = re.compile(r"\bcog_([A-Za-z0-9_\-]{16,})")
# discord.py's cog_app_command_error & co.: lower-case words joined by underscores are names, not
# tokens (a random token has digits or capitals long before it could look like this).
IDENTIFIER = re.compile(r"[a-z]{2,}(?:_[a-z]{2,})+")
# Claude Code keeps sensitive plugin options (the MCP server's token) in this file where there is
# no system keychain (Linux): reading it from Bash would hand the token to the model.
CREDENTIALS_FILE = re.compile(r"\.credentials\.json|\bpluginSecrets\b", re.I)
# No leading [a-z0-9.-]* for the subdomain: it matches the same texts and, searched from every
# position of a long run of such characters, took quadratic time.
HOST_FIXED = re.compile(r"api\.devin\.ai\b|devinenterprise\.com\b", re.I)
# print(os.environ), console.log(process.env), puts ENV, print dict(os.environ), ... Each \s* is
# followed by a character that ends it, so no two of them share a run of blanks (linear time).
ENV_DUMP_CALL = re.compile(
    r"\b(?:print|pprint|dumps|write|log|dir|stringify|puts|p|pp|inspect|echo|say)\s*(?:\(\s*)?"
    r"(?:(?:dict|list)\s*\(\s*|\*+\s*)?(?:os\.environ|process\.env|ENV)\s*(?:[),;:]|$)", re.M)
ENV_ITEMS = re.compile(r"\bos\.environ\.(?:items|values)\s*\(\s*\)")
PRINT_OR_WRITE = re.compile(r"\b(?:print|write)\b")
ENV_DUMP_OTHER = re.compile(r"%ENV\b|\bENV\.(?:to_h|each|inspect|to_a)\b"
                            r"|\bfor\s*\(\s*\w+\s+in\s+ENVIRON\s*\)")
# os.environ / process.env used whole in code: next to an operator or bracket (x = os.environ,
# dict(os.environ), {...process.env}, for k in os.environ) or copied whole; not .get(...) or [...],
# and not the bare name a search or a sentence has ("grep -rn os.environ src/").
ENV_WHOLE = re.compile(
    r"(?:[(=,*\[{:|&+]|\.\.\.|\b(?:in|of|return|yield|await)\s)\s*(?:os\.environ|process\.env)\b(?!\s*[.\[])"
    r"|\b(?:os\.environ|process\.env)\b(?!\s*[.\[])\s*[),;}\]]"
    r"|\bos\.environ\.(?:copy|items|values)\b")
# Programs that read their arguments as patterns or text to find, never as code to run.
SEARCH_TOOLS = frozenset({"grep", "egrep", "fgrep", "zgrep", "rg", "ag", "ack", "ack-grep", "git"})
GIT_SEARCHES = frozenset({"grep", "log", "show", "diff", "blame", "shortlog"})
SECRET_NAME = re.compile(r"token|cog_|key|secret|pass", re.I)
PS_ENV_OPTION = re.compile(r"[A-Za-z]*e[A-Za-z]*")
DASH_C = re.compile(r"-[A-Za-z]*c[A-Za-z]*")
GLOB = re.compile(r"[*?\[]")


class Rule:
    """A named check: `check(command)` returns what it found, or None to let the next rule look.

    Read-only. A plain class, not a dataclass: importing dataclasses costs about 10 ms, in a hook
    that runs before every Bash call.
    """

    __slots__ = ("check", "kind", "name", "plugin_scripts_exempt")

    name: str
    kind: str
    check: Callable[[Command], str | None]
    plugin_scripts_exempt: bool

    def __init__(self, name: str, kind: str, check: Callable[[Command], str | None], *,
                 plugin_scripts_exempt: bool = False) -> None:
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "kind", kind)
        object.__setattr__(self, "check", check)
        object.__setattr__(self, "plugin_scripts_exempt", plugin_scripts_exempt)

    def __setattr__(self, key: str, value: object) -> None:
        raise AttributeError(f"Rule {self.name!r} is read-only")

    def __repr__(self) -> str:
        return f"Rule({self.name!r}, kind={self.kind!r})"


def _glob_component(pattern: str, name: str) -> bool:
    """True when one path part `pattern` (maybe with * ? [...]) matches `name`; a pattern longer than
    256 characters with a wildcard in it is taken to match (not worth the time to compile)."""
    if pattern == name:
        return True
    if not GLOB.search(pattern):
        return False
    if len(pattern) > 256:
        return True
    from fnmatch import fnmatchcase

    return fnmatchcase(name, pattern)


def glob_path(pattern: str, path: str) -> bool:
    """True when the absolute path `pattern` (maybe with * ? [...] in its parts) names `path`."""
    parts, want = pattern.split("/"), path.split("/")
    return len(parts) == len(want) and all(_glob_component(p, w) for p, w in zip(parts, want, strict=True))


# ---------------------------------------------------------------------------------------------
# the token itself: anywhere, free text for Devin included (it would leave the machine)

def literal_token(cmd: Command) -> str | None:
    """What looks like a Devin token (cog_ and 16 or more characters, not a snake_case name)."""
    for m in LITERAL_TOKEN.finditer(cmd.raw):
        if not IDENTIFIER.fullmatch(m.group(1)):
            return "a cog_ token"
    return None


def configured_token_value(cmd: Command) -> str | None:
    """The value of DEVIN_SERVICE_USER_TOKEN or the plugin-option token (8+ characters)."""
    return next((var for var, value in cmd.token_values if value in cmd.raw), None)


def credentials_file(cmd: Command) -> str | None:
    """Claude Code's credentials file (.credentials.json, pluginSecrets), escapes decoded too."""
    m = CREDENTIALS_FILE.search(cmd.raw) or CREDENTIALS_FILE.search(unescape(cmd.raw))
    return m.group(0) if m else None


# ---------------------------------------------------------------------------------------------
# forbidden fields, any spelling

def forbidden_field(cmd: Command) -> str | None:
    """A forbidden field (policy/forbidden.json) in any spelling: case, separators, look-alikes,
    escapes, or spaced out on its own ('MESSAGE AS USER ID'); not words of a phrase."""
    return next((name for canon, name in cmd.forbidden.items() if cmd.names(canon)), None)


# ---------------------------------------------------------------------------------------------
# the environment

def _environ_part(part: str) -> bool:
    return "environ" in part or _glob_component(part, "environ")


def proc_environ(cmd: Command) -> str | None:
    """/proc/<pid>/environ (or a thread's), after resolving . .. // and matching globs."""
    for path in cmd.paths("proc", "environ"):
        parts = path.split("/")
        for i in range(len(parts) - 2):
            if parts[i] != "proc" and not _glob_component(parts[i], "proc"):
                continue
            if _environ_part(parts[i + 2]) or (i + 4 < len(parts) and _glob_component(parts[i + 2], "task")
                                               and _environ_part(parts[i + 4])):
                return path
    return None


def env_dump_code(cmd: Command) -> str | None:
    """A one-liner printing the whole environment: print(os.environ), puts ENV, %ENV, ..."""
    text = cmd.text
    m = ENV_DUMP_CALL.search(text) or ENV_DUMP_OTHER.search(text)
    if m:
        return m.group(0)
    pos = 0
    while (m := ENV_ITEMS.search(text, pos)) is not None:   # ...items() and a print on its line
        line_end = text.find("\n", m.end())
        line_end = len(text) if line_end < 0 else line_end
        if PRINT_OR_WRITE.search(text, m.end(), line_end):
            return m.group(0)
        pos = line_end
    return None


def whole_environment(cmd: Command) -> str | None:
    """os.environ / process.env used whole in code (not .get or [...]) in a word of a command (heredoc
    bodies read as commands too: a line of Python there splits into words without the code around
    the name); not the arguments of a search (grep, rg, git grep/log, ...)."""
    for words in cmd.all_commands:
        prog = program(words)
        name = prog[0].rsplit("/", 1)[-1] if prog else ""
        if name in SEARCH_TOOLS and (name != "git" or any(w in GIT_SEARCHES for w in prog[1:3])):
            continue
        for word in words:
            m = ENV_WHOLE.search(word)
            if m:
                return m.group(0)
    return None


def _dash_c(args: list[str]) -> str | None:
    """The command string of `sh -c STRING` (also -lc, -ec, ...)."""
    for i, a in enumerate(args[:-1]):
        if DASH_C.fullmatch(a):
            return args[i + 1]
    return None


def find_env_dump(words: list[str], depth: int = 0, seen: set[str] | None = None) -> str | None:
    """The program if this simple command dumps the environment, else None.

    bare env (also after its options and assignments), printenv with no name or a secret-looking
    one, bare set, export / export -p, declare / typeset -p / -x, ps with an `e` option; looks
    inside `sh -c`, `eval` and `env -S` (three levels at most).
    """
    words = program(words)
    if not words:
        return None
    prog, args = words[0].rsplit("/", 1)[-1], words[1:]
    if prog in SHELLS:
        script = _dash_c(args)
        return None if script is None else dump_in_text(script, depth + 1, seen)
    if prog == "eval" and args:
        return dump_in_text(" ".join(args), depth + 1, seen)
    if prog == "env":                       # program() leaves env in place only when it runs nothing
        return "env"
    if prog == "printenv":
        names = [a for a in args if not a.startswith("-")]
        return "printenv" if not names or any(SECRET_NAME.search(n) for n in names) else None
    if prog == "set":
        return "set" if not args else None
    if prog == "export":
        return "export" if not args or args == ["-p"] else None
    if prog in ("declare", "typeset"):
        opts = [a for a in args if a.startswith(("-", "+"))]
        names = [a for a in args if not a.startswith(("-", "+"))]
        if not names and (not opts or any(set(o[1:]) & set("px") for o in opts if o[0] == "-")):
            return prog
        return None
    if prog == "ps" and any(PS_ENV_OPTION.fullmatch(a) and not a.startswith("-") for a in args):
        return "ps"
    return None


def dump_in_text(text: str, depth: int, seen: set[str] | None = None) -> str | None:
    """find_env_dump for every simple command in `text` (substitutions included)."""
    if depth > 3:
        return None
    seen = set() if seen is None else seen
    if text in seen:
        return None
    seen.add(text)
    return next((found for words, _ in commands_of(text)
                 if (found := find_env_dump(words, depth, seen)) is not None), None)


def env_dump_command(cmd: Command) -> str | None:
    """A command that dumps the environment (see find_env_dump), in any checked part."""
    seen: set[str] = set()
    return next((found for words in cmd.commands if (found := find_env_dump(words, 0, seen)) is not None),
                None)


def env_dump_in_substitution(cmd: Command) -> str | None:
    """The same inside $(...), `...` or <(...), even within double quotes (`echo "$(env)"`)."""
    seen: set[str] = set()
    return next((found for words in cmd.substituted if (found := find_env_dump(words, 1, seen)) is not None),
                None)


# ---------------------------------------------------------------------------------------------
# the token by name: the variables, DEVIN_TOKEN_FILE's file

def token_variable(cmd: Command) -> str | None:
    """A token variable named (DEVIN_SERVICE_USER_TOKEN, DEVIN_TOKEN_FILE, ...), any spelling."""
    return next((var for var in TOKEN_VARS if cmd.names(cmd.canonical(var))), None)


def token_file(cmd: Command) -> str | None:
    """The token file (DEVIN_TOKEN_FILE's, and ~/.config/devin/token) by its path as set, resolved,
    ~/..., $HOME/..., with . .. // resolved, or a glob that matches it."""
    found = next((form for form in cmd.token_file_forms if form in cmd.lowered), None)
    if found is not None:
        return found
    targets = cmd.token_files
    needles = {t.rsplit("/", 1)[-1] for t in targets} | {"*", "?", "["}
    for path in cmd.paths(*sorted(needles)):
        if path in targets:
            return path
        if path.startswith("/") and GLOB.search(path) and any(glob_path(path, t) for t in targets):
            return path
    return None


# ---------------------------------------------------------------------------------------------
# the Devin API reached directly

def configured_api_host(cmd: Command) -> str | None:
    """The host of DEVIN_API_BASE (when it is not api.devin.ai), quotes removed too."""
    return next((h for h in cmd.api_hosts if h in cmd.lowered or h in cmd.unquoted), None)


def devin_api_host(cmd: Command) -> str | None:
    """api.devin.ai or a *.devinenterprise.com host, quotes removed too."""
    m = HOST_FIXED.search(cmd.lowered) or HOST_FIXED.search(cmd.unquoted)
    return m.group(0) if m else None


def api_base_variable(cmd: Command) -> str | None:
    """The DEVIN_API_BASE variable named, any spelling."""
    return "DEVIN_API_BASE" if cmd.names(cmd.canonical("DEVIN_API_BASE")) else None


# ---------------------------------------------------------------------------------------------

RULES: tuple[Rule, ...] = (
    Rule("literal-token", "token-literal", literal_token),
    Rule("configured-token-value", "token-literal", configured_token_value),
    Rule("credentials-file", "credentials-file", credentials_file),
    Rule("forbidden-field", "forbidden-field", forbidden_field),
    Rule("proc-environ", "env-dump", proc_environ),
    Rule("env-dump-code", "env-dump", env_dump_code),
    Rule("whole-environment", "env-dump", whole_environment),
    Rule("env-dump-command", "env-dump", env_dump_command),
    Rule("env-dump-in-substitution", "env-dump", env_dump_in_substitution),
    Rule("token-variable", "token-var", token_variable, plugin_scripts_exempt=True),
    Rule("token-file", "token-var", token_file, plugin_scripts_exempt=True),
    # configured-api-host first: it reads DEVIN_API_BASE, which raises on a malformed URL, and that
    # must happen before any API-host verdict (the hook then fails closed, as it always has).
    Rule("configured-api-host", "api-host", configured_api_host, plugin_scripts_exempt=True),
    Rule("devin-api-host", "api-host", devin_api_host, plugin_scripts_exempt=True),
    Rule("api-base-variable", "api-host", api_base_variable, plugin_scripts_exempt=True),
)
