"""Which local files a script may read or write for the agent.

Under Claude Code's sandbox settings the plugin's scripts are the only commands that run outside the
sandbox, so a file a script reads (a task file, a payload file, an upload) or writes (a downloaded
attachment) must not reach what the sandbox withholds from the agent: the credentials, the user's
configuration and policy, the plugin's own code and environment, Python's start-up paths, and the
kernel's pseudo-files. Every such path is resolved (symlinks followed) and must lie inside the working
directory and outside the protected folders below; a script started by Claude Code
(CLAUDECODE=1, which the agent cannot take off an exempt call: a changed environment keeps a call in
the sandbox) never reaches outside the working directory.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from .errors import InvalidInput

PSEUDO_ROOTS = ("/proc", "/sys", "/dev")
# Secrets Claude Code's sandbox lets commands read but that no script hands over for the agent.
_SECRETS = ("~/.ssh", "~/.gnupg", "~/.aws", "~/.netrc")


def protected_dirs(env: Mapping[str, str]) -> list[tuple[str, str]]:
    """(as written, resolved) for every folder no script reads from or writes to for the agent: what the
    sandbox settings keep the agent from writing (sandbox.DENY_WRITE), the secrets above, the state and
    configuration folders as configured, the plugin's folder and its environments."""
    from . import boot, config, sandbox
    home = str(config.home_dir(env))
    dirs = [*sandbox.DENY_WRITE, *_SECRETS, str(config.state_dir(env)), str(config.config_dir(env)),
            str(boot.ROOT), *map(str, boot.venv_candidates(env))]
    out: dict[str, str] = {}
    for d in dirs:
        shown = "~" + d[len(home):] if d.startswith(home + os.sep) else d
        out.setdefault(shown, os.path.realpath(_expand(shown, home)))
    return list(out.items())


def _expand(path: str, home: str) -> str:
    return os.path.join(home, path[2:]) if path.startswith("~/") else path


def under(path: str, root: str) -> bool:
    """`path` is `root` or inside it (both resolved)."""
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


_under = under


def under_claude_code(env: Mapping[str, str]) -> bool:
    return env.get("CLAUDECODE") == "1"


def opened_as_checked(fd: int, real: str, what: str, path: str) -> None:
    """After opening: the open file is still the one `check` resolved, so a folder on the way swapped for a
    symlink between the check and the open is caught (Linux; elsewhere the check stands alone)."""
    try:
        actual = os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        return
    if actual != real:
        raise InvalidInput(f"{what} {path!r} changed while it was checked (a folder on the way was replaced); "
                           "refused")


def check(path: str, *, cwd: str, env: Mapping[str, str], what: str, allow_outside_cwd: bool = False,
          writing: bool = False, outside_hint: str = "") -> str:
    """The resolved path of `path` (relative to `cwd`) if a script may use it for the agent; otherwise
    InvalidInput naming `what`, the path as given and what is allowed. Nothing is opened here: the
    caller opens the returned path and calls opened_as_checked. With `writing`, no part of the path
    inside the project may be hidden (.claude, .git, .vscode, ...): Claude Code's sandbox protects those
    from the agent's own commands, and a script outside the sandbox must not write there for it."""
    from . import config
    base = os.path.realpath(cwd)
    given = os.path.abspath(os.path.join(base, _expand(path, str(config.home_dir(env)))))
    real = os.path.realpath(given)
    if any(_under(real, root) for root in PSEUDO_ROOTS):
        raise InvalidInput(f"{what} {path!r} is (or leads to) a pseudo-file under {', '.join(PSEUDO_ROOTS)}; "
                           "refused")
    for shown, root in protected_dirs(env):
        if _under(real, root):
            raise InvalidInput(f"{what} {path!r} is (or leads) inside {shown}, which holds credentials, the "
                               "plugin's configuration or its code; the plugin's scripts never read or write "
                               "there for the agent. Use a file in the project.")
    if writing and _under(real, base):
        hidden = [part for part in os.path.relpath(real, base).split(os.sep) if part.startswith(".") and part != "."]
        if hidden:
            raise InvalidInput(f"{what} {path!r} is inside the project's hidden folder {hidden[0]!r}; Claude Code "
                               "protects such folders (.claude, .git, .vscode, ...) and the plugin never writes "
                               "there for the agent. Use a plain folder, e.g. devin-attachments.")
    if _under(given, base) and not _under(real, base):
        raise InvalidInput(f"{what} {path!r} is a symlink (or under one) that leads out of the working directory; "
                           "refused")
    if not _under(real, base):
        if under_claude_code(env):
            raise InvalidInput(f"{what} {path!r} is outside the working directory; inside Claude Code the plugin's "
                               "scripts only use files in the project (a person can run the script in a terminal)")
        if not allow_outside_cwd:
            raise InvalidInput(f"{what} {path!r} is outside the working directory; refused{outside_hint}")
    return real
