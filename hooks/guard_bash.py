#!/usr/bin/env python3
"""PreToolUse guard for the Bash tool: keep Devin traffic inside the plugin's scripts.

Claude Code sends the tool call as JSON on standard input. This hook blocks (exit 2, one
paragraph on standard error that says what to do instead) a Bash command that

  (a) reaches the Devin API directly (api.devin.ai, *.devinenterprise.com, the host of
      DEVIN_API_BASE or the variable itself) instead of through the plugin's scripts;
  (b) carries a forbidden field (policy/forbidden.json, matched after lib/devin_plugin/
      fieldnames.canonical(), so case, separators, full-width letters, zero-width characters
      and \\uXXXX / %XX / \\xXX escapes do not hide it);
  (c) would print or leak the token: the token variables or DEVIN_TOKEN_FILE's file named in a
      command, Claude Code's credentials file (sensitive plugin options live there without a keychain), bare env/printenv/set/export -p/declare -p, /proc/*/environ, `ps e`, a whole
      environment dump in a one-liner, or a literal cog_ token.

Rules that decide what counts (kept simple on purpose, see tests/test_plugin_hook.py):

* A command whose every part is a call of this plugin's own scripts (`python3 <plugin>/scripts/
  NAME.py ...`, optionally `|| true`) may name the API host (e.g. an --attachment-url) and may
  carry free text in the quoted heredoc of `--prompt-file -` / `--message-file -`: that text is
  the task for Devin, not a command, so only the literal-token check (c) looks at it.
* Anywhere else the field names are blocked in any context, read-only greps included
  (`grep -r create_as_user_id .` is blocked): search with the Grep tool instead, which this hook
  does not see.
* Exit 1 is never used (it would not block). A crash while handling a command that mentions
  Devin, its token or its host blocks (fail closed); unparseable input unrelated to Devin passes.

Stdlib only and no work for unrelated commands beyond a few regular expressions: it runs before
every Bash call. DEVIN_GUARD_POLICY_FILE names an extra forbidden-field file (tests use it); its
names are added to the bundled ones, never replace them.
"""

from __future__ import annotations

import json
import os
import re
import sys

PLUGIN_ROOT = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))
SCRIPTS_DIR = os.path.join(PLUGIN_ROOT, "scripts")

TOKEN_VARS = ("DEVIN_SERVICE_USER_TOKEN", "DEVIN_TOKEN_FILE", "DEVIN_API_KEY", "DEVIN_PLUGIN_TOKEN",
              "CLAUDE_PLUGIN_OPTION_DEVIN_TOKEN")
# Claude Code keeps sensitive plugin options (the MCP server's token) in this file where there is
# no system keychain (Linux): reading it from Bash would hand the token to the model.
_CREDENTIALS_FILE = re.compile(r"\.credentials\.json|\bpluginSecrets\b", re.I)
FREE_TEXT_SCRIPTS = {"create_session.py": "--prompt-file", "send_message.py": "--message-file"}

_DEVIN_HINT = re.compile(r"d\W*e\W*v\W*i\W*n|cog_|environ|credentials|pluginsecrets", re.I)
_LITERAL_TOKEN = re.compile(r"\bcog_[A-Za-z0-9_\-]{16,}")
_HOST_FIXED = re.compile(r"api\.devin\.ai\b|[a-z0-9\-.]*\.?devinenterprise\.com\b", re.I)
_PROC_ENVIRON = re.compile(r"/proc/[^\s/]*/+(?:task/[^\s/]*/+)?environ", re.I)
_ENV_DUMP_CODE = re.compile(
    r"\b(?:print|pprint|dumps|write|log|dir|stringify|puts|p|pp|inspect|echo|say)\s*\(?\s*"
    r"(?:dict\s*\(|\*+|list\s*\()?\s*(?:os\.environ|process\.env|ENV)\s*(?:[),;:]|$)"
    r"|\bos\.environ\.(?:items|values)\s*\(\s*\).*\b(?:print|write)\b"
    r"|%ENV\b|\bENV\.(?:to_h|each|inspect|to_a)\b",
    re.M)
_ENV_WHOLE = re.compile(r"\b(?:os\.environ|process\.env)\b(?!\s*[.\[])")
_SUBSTITUTION = re.compile(r"\$\(([^()]*)\)|`([^`]*)`")
_ENV_COMMANDS = re.compile(r"\b(?:env|printenv|set|export|declare|typeset|ps)\b")
_HEREDOC = re.compile(r"<<(-?)[ \t]*(?:'([^'\n]*)'|\"([^\"\n]*)\"|\\?([A-Za-z0-9_.\-]+))")
_ESCAPES = re.compile(
    r"\\u\{?([0-9a-fA-F]{4,6})\}?|\\U([0-9a-fA-F]{8})|\\x([0-9a-fA-F]{2})|%([0-9a-fA-F]{2})"
    r"|&#[xX]([0-9a-fA-F]{1,6});|&#([0-9]{1,7});|\\([0-7]{1,3})")
_PYTHON = re.compile(r"^(?:.*/)?python(?:3(?:\.\d+)?)?$")
_ASSIGN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
_WRAPPERS = {"sudo", "nohup", "exec", "command", "builtin", "time", "nice", "then", "do", "else",
             "elif", "if", "while", "until", "!", "stdbuf", "doas", "xargs"}
_SHELLS = {"sh", "bash", "zsh", "dash", "ksh", "fish", "busybox"}
_SEPARATORS = {"$("}
_PUNCT = set("();|&`{}\n")


class Block(Exception):
    """The command must not run; the message tells the agent what to do instead."""


# ---------------------------------------------------------------------------------------------
# policy

def _load_policy():
    lib = os.path.join(PLUGIN_ROOT, "lib")
    if lib not in sys.path:
        sys.path.insert(0, lib)
    from devin_plugin import fieldnames  # noqa: WPS433 (stdlib only; loads policy/forbidden.json)

    names = set(fieldnames.FORBIDDEN_FIELDS)
    extra = os.environ.get("DEVIN_GUARD_POLICY_FILE")
    if extra:
        names.update(fieldnames.load_forbidden(extra))
    canon = {fieldnames.canonical(n): n for n in names}
    if not canon or "" in canon:
        raise ValueError("empty forbidden-field name")
    return fieldnames.canonical, canon


def _api_hosts() -> list[str]:
    hosts = []
    base = os.environ.get("DEVIN_API_BASE", "").strip()
    if base:
        from urllib.parse import urlsplit

        netloc = urlsplit(base if "://" in base else "https://" + base).netloc.lower()
        netloc = netloc.rsplit("@", 1)[-1]
        if netloc and netloc not in ("api.devin.ai", "api.devin.ai:443"):
            hosts.append(netloc)
    return hosts


# ---------------------------------------------------------------------------------------------
# splitting a command into what runs and what is free text for Devin

def split_heredocs(command: str) -> tuple[str, list[tuple[str, str, bool]]]:
    """Return (the command without heredoc bodies, [(opening line, body, delimiter quoted)])."""
    lines = command.split("\n")
    kept: list[str] = []
    bodies: list[tuple[str, str, bool]] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        kept.append(line)
        i += 1
        for m in _HEREDOC.finditer(line):
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


def _tokens(text: str) -> list[str] | None:
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
    toks = _tokens(text)
    if toks is None:
        return None
    segs: list[list[str]] = [[]]
    for tok in toks:
        if tok in _SEPARATORS or set(tok) <= _PUNCT:
            segs.append([])
        else:
            segs[-1].append(tok)
    return [s for s in segs if s]


def _strip_redirections(words: list[str]) -> list[str]:
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


def _program(words: list[str]) -> list[str]:
    """Drop leading assignments and wrapper words (sudo, nohup, env A=B, timeout N, ...)."""
    words = _strip_redirections(words)
    while words:
        w = words[0]
        if _ASSIGN.match(w):
            words = words[1:]
        elif w in _WRAPPERS:
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


def _plugin_script(words: list[str], cwd: str) -> str | None:
    """The script's file name if `words` runs one of this plugin's own scripts, else None."""
    if len(words) < 2 or not _PYTHON.match(words[0]):
        return None
    path = words[1]
    if not path.endswith(".py") or path.startswith("-"):
        return None
    full = path if os.path.isabs(path) else os.path.join(cwd or os.getcwd(), path)
    full = os.path.realpath(os.path.expanduser(full))
    if os.path.dirname(full) != SCRIPTS_DIR or not os.path.isfile(full):
        return None
    return os.path.basename(full)


def _only_plugin_scripts(runs: str, cwd: str) -> bool:
    segs = segments(runs)
    if not segs:
        return False
    seen = False
    for words in segs:
        words = _program(words)
        if words in ([], ["true"], [":"]):
            continue
        if _plugin_script(words, cwd) is None:
            return False
        seen = True
    return seen


def _free_text_heredoc(opener: str, cwd: str) -> bool:
    """True when the heredoc opened on this line is the task or message text for Devin."""
    segs = segments(_HEREDOC.sub(" ", opener))
    if not segs or len(segs) != 1 or len(_HEREDOC.findall(opener)) != 1:
        return False
    words = _program(segs[0])
    script = _plugin_script(words, cwd)
    option = FREE_TEXT_SCRIPTS.get(script or "")
    if not option:
        return False
    return any(w == option and nxt == "-" for w, nxt in zip(words, words[1:])) or \
        (option + "=-") in words


# ---------------------------------------------------------------------------------------------
# the decision

def _unescape(text: str) -> str:
    def repl(m: re.Match) -> str:
        for idx, base in ((1, 16), (2, 16), (3, 16), (4, 16), (5, 16), (6, 10), (7, 8)):
            if m.group(idx):
                try:
                    return chr(int(m.group(idx), base))
                except (ValueError, OverflowError):
                    return ""
        return ""

    return _ESCAPES.sub(repl, text)


def _check_env_dumps(runs: str, depth: int = 0) -> None:
    if depth > 3 or not _ENV_COMMANDS.search(runs):
        return
    segs = segments(runs)
    if segs is None:  # unbalanced quotes: the shell still runs the lines before the bad one
        segs = [seg for line in runs.split("\n") for seg in (segments(line) or [])]
    for words in segs:
        words = _program(words)
        if not words:
            continue
        prog, args = os.path.basename(words[0]), words[1:]
        if prog in _SHELLS and "-c" in args[:-1]:
            _check_env_dumps(args[args.index("-c") + 1], depth + 1)
        elif prog == "eval" and args:
            _check_env_dumps(" ".join(args), depth + 1)
        elif prog == "env":
            rest = list(args)
            while rest and (rest[0].startswith("-") or _ASSIGN.match(rest[0])):
                if rest[0] in ("-u", "-C", "--unset", "--chdir") and len(rest) > 1:
                    rest = rest[1:]
                if rest[0] in ("-S", "--split-string") and len(rest) > 1:
                    _check_env_dumps(rest[1], depth + 1)
                    rest = []
                    break
                rest = rest[1:]
            if not rest:
                raise Block("env-dump:env")
            _check_env_dumps(" ".join(rest), depth + 1)
        elif prog == "printenv":
            names = [a for a in args if not a.startswith("-")]
            if not names or any(re.search(r"token|cog_|key|secret|pass", n, re.I) for n in names):
                raise Block("env-dump:printenv")
        elif prog == "set" and not args:
            raise Block("env-dump:set")
        elif prog == "export" and (not args or args == ["-p"]):
            raise Block("env-dump:export")
        elif prog in ("declare", "typeset"):
            opts = [a for a in args if a.startswith(("-", "+"))]
            names = [a for a in args if not a.startswith(("-", "+"))]
            if not names and (not opts or any(set(o[1:]) & set("px") for o in opts if o[0] == "-")):
                raise Block("env-dump:declare")
        elif prog == "ps" and any(re.fullmatch(r"[A-Za-z]*e[A-Za-z]*", a) and not a.startswith("-")
                                  for a in args):
            raise Block("env-dump:ps")


def decide(payload: dict, canonical=None, forbidden: dict | None = None) -> str | None:
    """Return None to allow the call, or the reason to block it."""
    if payload.get("tool_name") != "Bash":
        return None
    tool_input = payload.get("tool_input") or {}
    command = tool_input.get("command") if isinstance(tool_input, dict) else None
    if not isinstance(command, str):
        raise TypeError("tool_input.command is not a string")
    cwd = payload.get("cwd") if isinstance(payload.get("cwd"), str) else ""
    if canonical is None or forbidden is None:
        canonical, forbidden = _load_policy()

    # (c) a literal token anywhere, free text for Devin included: it would leave the machine.
    values = [os.environ.get(v, "") for v in ("DEVIN_SERVICE_USER_TOKEN", "CLAUDE_PLUGIN_OPTION_DEVIN_TOKEN")]
    if _LITERAL_TOKEN.search(command) or any(len(v) >= 8 and v in command for v in values):
        return _reason("token-literal")
    if _CREDENTIALS_FILE.search(command) or _CREDENTIALS_FILE.search(_unescape(command)):
        return _reason("credentials-file")

    runs, bodies = split_heredocs(command)
    checked = [runs] + [body for opener, body, quoted in bodies
                        if not (quoted and _free_text_heredoc(opener, cwd))]
    text = "\n".join(checked)
    decoded = _unescape(text)
    squashed = canonical(text) + "\n" + canonical(decoded)

    # (b) forbidden fields, any spelling.
    for canon, name in forbidden.items():
        if canon in squashed:
            return _reason("forbidden-field", name)

    # (c) the environment or the token file.
    lowered = (text + "\n" + decoded).lower()
    if _PROC_ENVIRON.search(lowered) or _ENV_DUMP_CODE.search(text) or _ENV_WHOLE.search(runs):
        return _reason("env-dump")
    try:
        for part in checked:
            _check_env_dumps(part)
            for m in _SUBSTITUTION.finditer(part):
                _check_env_dumps(m.group(1) if m.group(1) is not None else m.group(2), 1)
    except Block:
        return _reason("env-dump")

    only_plugin = None
    token_names = [canonical(v) for v in TOKEN_VARS]
    if any(t in squashed for t in token_names) or _mentions_token_file(lowered):
        only_plugin = _only_plugin_scripts(runs, cwd)
        if not only_plugin:
            return _reason("token-var")

    # (a) the Devin API host (or the variable naming it), reached by anything but the scripts.
    hosts = _api_hosts()
    unquoted = re.sub(r"[\"'\\]", "", lowered)
    if any(_HOST_FIXED.search(t) for t in (lowered, unquoted)) or \
            any(h in t for h in hosts for t in (lowered, unquoted)) or \
            canonical("DEVIN_API_BASE") in squashed:
        if only_plugin is None:
            only_plugin = _only_plugin_scripts(runs, cwd)
        if not only_plugin:
            return _reason("api-host")
    return None


def _mentions_token_file(lowered: str) -> bool:
    path = os.environ.get("DEVIN_TOKEN_FILE", "").strip()
    if len(path) < 3:
        return False
    forms = {path.lower(), os.path.realpath(os.path.expanduser(path)).lower()}
    home = os.path.expanduser("~").rstrip("/")
    for form in list(forms):
        if home and form.startswith(home + "/"):
            forms.add("~" + form[len(home):])
            forms.add("$home" + form[len(home):])
            forms.add("${home}" + form[len(home):])
    return any(f in lowered for f in forms)


_ADVICE = {
    "api-host": "This command reaches the Devin API directly. Call Devin only through the plugin's "
                "scripts (python3 <plugin root>/scripts/NAME.py, e.g. create_session.py, "
                "get_session.py, list_sessions.py, send_message.py, check_setup.py), which confine "
                "calls to the configured organisation, refuse forbidden fields and never print the "
                "token; run the script that does what you need, with --dry-run to preview the request.",
    "forbidden-field": "This command carries the forbidden Devin API field {name!r} (in some "
                       "spelling). The plugin never sends it: impersonation is not allowed and "
                       "secrets go by id (create_session.py --secret-id ID), never inline. Remove "
                       "it. If you only meant to search code for it, use the Grep tool instead of "
                       "Bash; if it is part of the task text for Devin, rephrase it and pass the "
                       "text on standard input (--prompt-file - / --message-file - with a quoted "
                       "heredoc).",
    "env-dump": "This command would print environment variables or a process environment, which "
                "would expose the Devin token. Do not dump the environment; to check the Devin "
                "configuration run python3 <plugin root>/scripts/check_setup.py (it reports what is "
                "set without printing the token), or print one named, non-secret variable.",
    "token-var": "This command reads or passes the Devin token (DEVIN_SERVICE_USER_TOKEN, "
                 "DEVIN_TOKEN_FILE or the file it names). Never print, copy or send the token "
                 "yourself: the plugin's scripts read it; run python3 <plugin root>/scripts/"
                 "check_setup.py to check it. If the token must change, ask the user to set it in "
                 "their own shell or token file (mode 0600), outside this conversation.",
    "token-literal": "This command contains what looks like a Devin token (cog_...). Never put a "
                     "token on a command line or in text sent to Devin; remove it. The plugin's "
                     "scripts read the token from DEVIN_SERVICE_USER_TOKEN or DEVIN_TOKEN_FILE, "
                     "which the user sets outside this conversation; tell the user a token may "
                     "have been exposed so they can revoke it.",
    "credentials-file": "This command touches Claude Code's credentials file, where the Devin token "
                        "given as a plugin option is kept. Never read, copy or print it; the plugin's "
                        "MCP server gets the token from Claude Code directly. To check the setup, run "
                        "python3 <plugin root>/scripts/check_setup.py or /devin:setup.",
    "internal": "The Devin guard hook failed while checking a Devin-related command, so the command "
                "was blocked (fail closed). Use the plugin's scripts (python3 <plugin root>/"
                "scripts/NAME.py) or /devin:setup, and tell the user the guard reported: {name}.",
}


def _reason(kind: str, name: str = "") -> str:
    return "Blocked by the devin plugin guard: " + _ADVICE[kind].format(name=name).replace(
        "<plugin root>", PLUGIN_ROOT)


def _devin_related(raw: str) -> bool:
    if _DEVIN_HINT.search(raw) or _LITERAL_TOKEN.search(raw):
        return True
    lowered = raw.lower()
    try:
        return any(h in lowered for h in _api_hosts())
    except Exception:  # noqa: BLE001
        return True


def main() -> int:
    try:
        raw = sys.stdin.buffer.read().decode("utf-8", "replace")
    except Exception:  # noqa: BLE001 (nothing to judge)
        return 0
    try:
        payload = json.loads(raw)
        if not isinstance(payload, dict):
            raise TypeError("hook input is not a JSON object")
        reason = decide(payload)
    except Exception as exc:  # noqa: BLE001 (fail closed on anything Devin-related)
        if not _devin_related(raw):
            return 0
        reason = _reason("internal", f"{type(exc).__name__}: {exc}"[:300])
    if reason is None:
        return 0
    sys.stderr.write(reason + "\n")
    return 2


if __name__ == "__main__":
    sys.exit(main())
