#!/usr/bin/env python3
"""SessionStart hook: hand the plugin's token option to the plugin's scripts, through the one file
Claude Code's sandbox masks.

Claude Code gives a sensitive plugin option to hooks and MCP servers only (as
CLAUDE_PLUGIN_OPTION_DEVIN_TOKEN), never to Bash. This hook runs outside the sandbox at the start of
every session and

* writes the token option to ~/.config/devin/token (mode 0600, written whole then renamed into
  place; a symlinked file or folder is refused), only when it differs from what is there: the
  README's sandbox settings mask that file, so a sandboxed command (the plugin's scripts included)
  reads a stand-in and the sandbox's proxy puts the real token back only on the way to the Devin API;
* adds `export DEVIN_ORG_ID=...` to CLAUDE_ENV_FILE when the org option is set and the environment
  has none, so the scripts are confined to the same organization as the MCP server.

Why a file and not the MCP server: the sandbox can mask a file (or an environment variable set
before Claude Code starts) but not a value handed over at run time, and a script reaching the MCP
server would need a socket any sandboxed command could reach too. The token never passes through a
process argument, standard output or the environment of a Bash command.

It prints nothing (a SessionStart hook's output would reach the model's context) and always exits 0:
a problem shows in /devin:setup, which names it. Stdlib only; runs under `python3 -I -S`.
"""

from __future__ import annotations

import os
import stat
import sys

# Run as `python3 -I -S`: the plugin's lib/ is not on the path. The token's place and shape are the
# scripts' own (devin_plugin.config), so what this writes is exactly what they read.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.realpath(__file__))), "lib"))
from devin_plugin import config  # noqa: E402
from devin_plugin.statefiles import read_private, write_private  # noqa: E402


def _private_dir(path: str) -> None:
    """Create `path` (0700) if missing; refuse a symlink or another user's folder."""
    try:
        os.makedirs(path, mode=0o700, exist_ok=True)
    except FileExistsError:
        pass
    st = os.lstat(path)
    if stat.S_ISLNK(st.st_mode) or not stat.S_ISDIR(st.st_mode):
        raise OSError(f"{path} is not a plain folder")
    if hasattr(os, "getuid") and st.st_uid != os.getuid():
        raise OSError(f"{path} belongs to another user")


def _current(path: str) -> bytes | None:
    try:
        return read_private(path, 4096)
    except FileNotFoundError:
        return None


def write_token(path: str, token: str) -> bool:
    """Put `token` in `path` (0600) unless it is already there; True when the file was (re)written."""
    _private_dir(os.path.dirname(path))
    wanted = (token + "\n").encode("ascii")
    try:
        if _current(path) == wanted and stat.S_IMODE(os.lstat(path).st_mode) == 0o600:
            return False
    except OSError:
        pass  # a symlink (O_NOFOLLOW) or unreadable file: replaced below by a plain file
    write_private(path, wanted)  # a rename replaces a symlink itself, never writes through it
    return True


def export_org(env_file: str, org: str) -> None:
    with open(env_file, "a", encoding="ascii") as fh:
        fh.write(f"export DEVIN_ORG_ID='{org}'\n")


def main(env: dict[str, str]) -> int:
    token = (env.get("CLAUDE_PLUGIN_OPTION_DEVIN_TOKEN") or "").strip()
    if config.TOKEN_PATTERN.fullmatch(token):
        try:
            write_token(str(config.default_token_file(env)), token)
        except OSError:
            pass  # /devin:setup reports a missing or unreadable token file
    org = (env.get("CLAUDE_PLUGIN_OPTION_DEVIN_ORG_ID") or "").strip()
    env_file = env.get("CLAUDE_ENV_FILE")
    if env_file and config.ORG_ID_PATTERN.fullmatch(org) and not env.get("DEVIN_ORG_ID"):
        try:
            export_org(env_file, org)
        except OSError:
            pass
    return 0


if __name__ == "__main__":
    try:
        sys.stdin.read(1 << 16)  # the event JSON: nothing in it changes what this hook does
    except (OSError, ValueError):
        pass
    sys.exit(main(dict(os.environ)))
