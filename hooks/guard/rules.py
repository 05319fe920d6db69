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

import os
import re
from collections.abc import Callable

from .command import Command
from .shell import ASSIGN, SHELLS, program, segments, substitutions, unescape

TOKEN_VARS = ("DEVIN_SERVICE_USER_TOKEN", "DEVIN_TOKEN_FILE", "DEVIN_API_KEY", "DEVIN_PLUGIN_TOKEN",
              "CLAUDE_PLUGIN_OPTION_DEVIN_TOKEN")
LITERAL_TOKEN = re.compile(r"\bcog_[A-Za-z0-9_\-]{16,}")
# Claude Code keeps sensitive plugin options (the MCP server's token) in this file where there is
# no system keychain (Linux): reading it from Bash would hand the token to the model.
CREDENTIALS_FILE = re.compile(r"\.credentials\.json|\bpluginSecrets\b", re.I)
HOST_FIXED = re.compile(r"api\.devin\.ai\b|[a-z0-9\-.]*\.?devinenterprise\.com\b", re.I)
PROC_ENVIRON = re.compile(r"/proc/[^\s/]*/+(?:task/[^\s/]*/+)?environ", re.I)
ENV_DUMP_CODE = re.compile(
    r"\b(?:print|pprint|dumps|write|log|dir|stringify|puts|p|pp|inspect|echo|say)\s*\(?\s*"
    r"(?:dict\s*\(|\*+|list\s*\()?\s*(?:os\.environ|process\.env|ENV)\s*(?:[),;:]|$)"
    r"|\bos\.environ\.(?:items|values)\s*\(\s*\).*\b(?:print|write)\b"
    r"|%ENV\b|\bENV\.(?:to_h|each|inspect|to_a)\b",
    re.M)
ENV_WHOLE = re.compile(r"\b(?:os\.environ|process\.env)\b(?!\s*[.\[])")
ENV_COMMANDS = re.compile(r"\b(?:env|printenv|set|export|declare|typeset|ps)\b")
SECRET_NAME = re.compile(r"token|cog_|key|secret|pass", re.I)


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


# ---------------------------------------------------------------------------------------------
# the token itself: anywhere, free text for Devin included (it would leave the machine)

def literal_token(cmd: Command) -> str | None:
    """What looks like a Devin token (cog_ and 16 or more characters)."""
    return "a cog_ token" if LITERAL_TOKEN.search(cmd.raw) else None


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
    """A forbidden field (policy/forbidden.json) after canonical(): case, separators, escapes."""
    return next((name for canon, name in cmd.forbidden.items() if canon in cmd.squashed), None)


# ---------------------------------------------------------------------------------------------
# the environment

def proc_environ(cmd: Command) -> str | None:
    """/proc/<pid>/environ (or a thread's)."""
    m = PROC_ENVIRON.search(cmd.lowered)
    return m.group(0) if m else None


def env_dump_code(cmd: Command) -> str | None:
    """A one-liner printing the whole environment: print(os.environ), puts ENV, %ENV, ..."""
    m = ENV_DUMP_CODE.search(cmd.text)
    return m.group(0) if m else None


def whole_environment(cmd: Command) -> str | None:
    """os.environ / process.env used whole (not .get or [...]) in the part that runs."""
    m = ENV_WHOLE.search(cmd.runs)
    return m.group(0) if m else None


def find_env_dump(text: str, depth: int = 0) -> str | None:
    """The program of the first command in `text` that dumps the environment, else None.

    bare env (also after its options and assignments), printenv with no name or a secret-looking
    one, bare set, export / export -p, declare / typeset -p / -x, ps with an `e` option; looks
    inside `sh -c`, `eval` and `env -S` (three levels at most).
    """
    if depth > 3 or not ENV_COMMANDS.search(text):
        return None
    segs = segments(text)
    if segs is None:  # unbalanced quotes: the shell still runs the lines before the bad one
        segs = [seg for line in text.split("\n") for seg in (segments(line) or [])]
    for words in segs:
        words = program(words)
        if not words:
            continue
        prog, args = os.path.basename(words[0]), words[1:]
        found: str | None = None
        if prog in SHELLS and "-c" in args[:-1]:
            found = find_env_dump(args[args.index("-c") + 1], depth + 1)
        elif prog == "eval" and args:
            found = find_env_dump(" ".join(args), depth + 1)
        elif prog == "env":
            rest = list(args)
            while rest and (rest[0].startswith("-") or ASSIGN.match(rest[0])):
                if rest[0] in ("-u", "-C", "--unset", "--chdir") and len(rest) > 1:
                    rest = rest[1:]
                if rest[0] in ("-S", "--split-string") and len(rest) > 1:
                    found = find_env_dump(rest[1], depth + 1)
                    rest = []
                    break
                rest = rest[1:]
            if found is None:
                found = "env" if not rest else find_env_dump(" ".join(rest), depth + 1)
        elif prog == "printenv":
            names = [a for a in args if not a.startswith("-")]
            if not names or any(SECRET_NAME.search(n) for n in names):
                found = "printenv"
        elif prog == "set" and not args:
            found = "set"
        elif prog == "export" and (not args or args == ["-p"]):
            found = "export"
        elif prog in ("declare", "typeset"):
            opts = [a for a in args if a.startswith(("-", "+"))]
            names = [a for a in args if not a.startswith(("-", "+"))]
            if not names and (not opts or any(set(o[1:]) & set("px") for o in opts if o[0] == "-")):
                found = prog
        elif prog == "ps" and any(re.fullmatch(r"[A-Za-z]*e[A-Za-z]*", a) and not a.startswith("-")
                                  for a in args):
            found = "ps"
        if found is not None:
            return found
    return None


def env_dump_command(cmd: Command) -> str | None:
    """A command that dumps the environment (see find_env_dump), in any checked part."""
    return next((found for part in cmd.checked if (found := find_env_dump(part)) is not None), None)


def env_dump_in_substitution(cmd: Command) -> str | None:
    """The same inside $(...) or `...`, even within double quotes (`echo "$(env)"`)."""
    return next((found for part in cmd.checked for inner in substitutions(part)
                 if (found := find_env_dump(inner, 1)) is not None), None)


# ---------------------------------------------------------------------------------------------
# the token by name: the variables, DEVIN_TOKEN_FILE's file

def token_variable(cmd: Command) -> str | None:
    """A token variable named (DEVIN_SERVICE_USER_TOKEN, DEVIN_TOKEN_FILE, ...), any spelling."""
    return next((var for var in TOKEN_VARS if cmd.canonical(var) in cmd.squashed), None)


def token_file(cmd: Command) -> str | None:
    """The file DEVIN_TOKEN_FILE names, by its path, resolved path, ~/..., or $HOME/..."""
    return next((form for form in cmd.token_file_forms if form in cmd.lowered), None)


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
    return "DEVIN_API_BASE" if cmd.canonical("DEVIN_API_BASE") in cmd.squashed else None


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
