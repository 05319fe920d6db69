#!/usr/bin/env python3
"""Create or repair the plugin's own Python environment, outside the plugin folder (stdlib only).

The environment lives at ${DEVIN_PLUGIN_VENV:-${XDG_DATA_HOME:-~/.local/share}/devin-plugin/venv} and is
installed from the plugin's hash-pinned requirements.txt (pip --require-hashes). Running it again is
cheap: a stamp records what was installed, and nothing is done while it still matches.

--with-mcp installs requirements-mcp.txt instead: the same pins plus the optional MCP server extra
(the `mcp` SDK) that scripts/mcp_server.py needs. An environment with the extra also serves the scripts.

--install-launcher also writes `devin-plugin` into ${DEVIN_PLUGIN_BIN_DIR:-~/.local/bin} (or --bin-dir), for
agents other than Claude Code: `devin-plugin NAME ARGS...` runs this plugin's scripts/NAME.py ARGS... (only
the scripts of the outside contract). It records this plugin folder: rerun the option after the plugin moved.
"""

import contextlib
import errno
import hashlib
import os
import re
import stat
import tempfile
from collections.abc import Callable, Mapping
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "lib"))
from devin_plugin import cli, output  # noqa: E402  (stdlib only, like boot)
from devin_plugin.boot import venv_candidates  # noqa: E402
from devin_plugin.errors import ConfigError, InvalidInput  # noqa: E402

REQUIREMENTS = ROOT / "requirements.txt"
REQUIREMENTS_MCP = ROOT / "requirements-mcp.txt"
STAMP_NAME = ".devin-plugin-stamp"
OWNED_NAME = ".devin-plugin-owned"

# Not `devin`: that name belongs to Cognition's own CLI, which a user may have installed too.
LAUNCHER_NAME = "devin-plugin"
# The launcher's second line: how a later run knows the file is its own to refresh (and anything else is not).
LAUNCHER_MARKER = "# devin-plugin-launcher 1:"
# The scripts of the outside contract's entry-point table (/work/shared/contract.md), and nothing else: not
# _prelude, setup_env or the MCP server. A name whose file this plugin version lacks is refused at run time.
LAUNCHER_SCRIPTS = (
    "archive_session", "check_setup", "create_session", "delegate_batch", "get_session", "inbox", "knowledge",
    "list_attachments", "list_messages", "list_sessions", "pickup", "playbooks", "secrets", "send_message",
    "terminate_session", "unarchive_session", "update_tags", "upload_attachment", "usage", "wait_session",
)
LAUNCHER_READ_MAX = 64 * 1024

# The launcher itself: stdlib only and plain enough for any python3 on PATH (the one that would run
# `python3 <plugin>/scripts/NAME.py`); the script's prelude then moves to the plugin's own environment.
LAUNCHER_TEMPLATE = '''#!/usr/bin/env python3
@MARKER@ written by the devin plugin's scripts/setup_env.py --install-launcher.
# Rerun that to refresh it (an upgrade installs the plugin in a new folder); delete this file to remove it.
"""devin-plugin NAME [ARGUMENT...]: run the devin plugin's scripts/NAME.py outside Claude Code.

The arguments reach the script untouched, with no shell in between. Only the scripts of the plugin's
outside contract run: never a path, an option, a private module or a name the contract does not list.
"""
import os
import sys

ROOT = @ROOT@
VENV = @VENV@
SCRIPTS = @SCRIPTS@


def say(message):
    sys.stderr.write("devin-plugin: " + message + "\\n")


def shown(word):
    # repr escapes control characters: a hostile name cannot steer the terminal it is shown on
    return repr(word if len(word) <= 60 else word[:60] + "...")


def usage():
    return ("usage: devin-plugin NAME [ARGUMENT...] runs NAME.py of the devin plugin at %s\\n"
            "NAME is one of: %s\\n" % (ROOT, " ".join(SCRIPTS)))


def live_copy():
    """The one other copy of the plugin beside ROOT that is not marked replaced (Claude Code keeps each
    version in its own folder and marks the old one .orphaned_at): named in the hint, never run."""
    parent = os.path.dirname(ROOT)
    try:
        names = sorted(os.listdir(parent))
    except OSError:
        return None
    found = []
    for name in names:
        cand = os.path.join(parent, name)
        if (cand != ROOT and os.path.isfile(os.path.join(cand, "scripts", "setup_env.py"))
                and os.path.isdir(os.path.join(cand, "lib", "devin_plugin"))
                and not os.path.exists(os.path.join(cand, ".orphaned_at"))):
            found.append(cand)
    return found[0] if len(found) == 1 else None


def refresh_hint():
    import shlex
    setup = os.path.join(live_copy() or "PLUGIN_FOLDER", "scripts", "setup_env.py")
    return "refresh this launcher: python3 %s --install-launcher" % shlex.quote(setup)


def main(argv):
    if not argv or argv[0] in ("-h", "--help"):
        (sys.stdout if argv else sys.stderr).write(usage())
        return 0 if argv else 2
    name = argv[0]
    if name not in SCRIPTS:
        if name.endswith(".py") and name[:-3] in SCRIPTS:
            how = "write the name without .py: devin-plugin " + name[:-3]
        elif name.startswith("-"):
            how = "the script name comes first, its options after it"
        else:
            how = "NAME is one of: " + " ".join(SCRIPTS)
        say("unknown script name %s, nothing was run; %s" % (shown(name), how))
        return 2
    if not os.path.isdir(os.path.join(ROOT, "scripts")):
        say("the plugin folder %s is gone (an upgrade moves it); %s" % (ROOT, refresh_hint()))
        return 3
    script = os.path.join(ROOT, "scripts", name + ".py")
    if not os.path.isfile(script):
        say("%s is not in the plugin version at %s; %s" % (name, ROOT, refresh_hint()))
        return 2
    if os.path.exists(os.path.join(ROOT, ".orphaned_at")):
        say("note: Claude Code replaced the plugin version at %s; %s" % (ROOT, refresh_hint()))
    # The environment setup_env.py made, unless the caller names another one (the prelude re-executes in it).
    os.environ.setdefault("DEVIN_PLUGIN_VENV", VENV)
    try:
        os.execv(sys.executable, [sys.executable, script] + argv[1:])
    except OSError as exc:
        say("cannot start %s (%s)" % (sys.executable or "python3", exc.strerror))
    return 3


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
'''


def wanted_stamp(requirements: Path = REQUIREMENTS) -> str:
    digest = hashlib.sha256(requirements.read_bytes()).hexdigest()
    return f"{digest} python{sys.version_info[0]}.{sys.version_info[1]}"


def healthy(target: Path, with_mcp: bool = False) -> bool:
    python = target / "bin" / "python"
    if not python.is_file():
        return False
    try:
        stamp = (target / STAMP_NAME).read_text().strip()
    except OSError:
        return False
    # The MCP set is a superset of the base set: it serves a plain check too.
    accepted = {wanted_stamp(REQUIREMENTS_MCP)} if with_mcp else {wanted_stamp(), wanted_stamp(REQUIREMENTS_MCP)}
    if stamp not in accepted:
        return False
    modules = "requests, jsonschema, yaml" + (", mcp" if stamp == wanted_stamp(REQUIREMENTS_MCP) else "")
    probe = subprocess.run([str(python), "-c", "import " + modules], capture_output=True)
    return probe.returncode == 0


def install(target: Path, say: Callable[[str], None], requirements: Path = REQUIREMENTS) -> None:
    ours = (target / STAMP_NAME).exists() or (target / OWNED_NAME).exists()
    if target.exists() and (not target.is_dir() or (any(target.iterdir()) and not ours)):
        # Rebuilding clears the folder: never one this script did not make (a DEVIN_PLUGIN_VENV pointing at
        # a project's own .venv, or any other folder, would be wiped).
        raise ConfigError(f"{target} exists and is not an environment this script made (no {STAMP_NAME} or "
                          f"{OWNED_NAME}); remove it yourself or point DEVIN_PLUGIN_VENV elsewhere. Nothing was "
                          "changed.")
    say(f"creating the environment at {target}")
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        venv.EnvBuilder(clear=True, with_pip=True, symlinks=True).create(str(target))
        (target / OWNED_NAME).write_text("made by the devin plugin's setup_env.py\n")  # an interrupted install too
    except Exception as exc:  # ensurepip missing is the usual cause on Debian
        raise ConfigError(f"cannot create a virtual environment ({type(exc).__name__}); on Debian "
                          "or Ubuntu run: sudo apt-get install python3-venv") from None
    say("installing the pinned, hash-checked requirements")
    proc = subprocess.run([str(target / "bin" / "python"), "-m", "pip", "install", "--disable-pip-version-check",
                           "--no-input", "--require-hashes", "-r", str(requirements)], capture_output=True, text=True)
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        raise ConfigError("installing the requirements failed: " + " | ".join(tail))
    (target / STAMP_NAME).write_text(wanted_stamp(requirements) + "\n")


# -- the launcher for other agents -----------------------------------------------------------------

def launcher_dir(explicit: str | None, env: Mapping[str, str]) -> Path:
    """--bin-dir, else $DEVIN_PLUGIN_BIN_DIR, else ~/.local/bin (on PATH in most distributions' profiles).

    Never one of the plugin's own folders (state, configuration, environment, token, the plugin itself):
    this script runs outside Claude Code's sandbox, and a file named devin-plugin there would break or
    shadow them (attacker review)."""
    chosen = explicit or env.get("DEVIN_PLUGIN_BIN_DIR")
    home = env.get("HOME") or os.path.expanduser("~")
    folder = Path(os.path.expanduser(chosen)).absolute() if chosen else Path(home) / ".local" / "bin"
    from devin_plugin.localfiles import protected_dirs
    default_bin = os.path.realpath(os.path.join(home, ".local", "bin"))
    for path in (os.path.realpath(folder), os.path.realpath(folder / LAUNCHER_NAME)):
        for shown, real in protected_dirs(env):
            if real != default_bin and (path == real or path.startswith(real + os.sep)):
                raise InvalidInput(f"--bin-dir {chosen}: {shown} belongs to the plugin or holds secrets; "
                                       "choose a folder on PATH such as ~/.local/bin. Nothing was written.")
    return folder


def launcher_text(root: Path, venv_dir: Path) -> str:
    # ascii() gives a Python literal for any path, undecodable bytes included (as surrogate escapes); one
    # pass, so a path that happens to contain "@VENV@" is not filled in again.
    values = {"MARKER": LAUNCHER_MARKER, "ROOT": ascii(str(root)), "VENV": ascii(str(venv_dir)),
              "SCRIPTS": repr(LAUNCHER_SCRIPTS)}
    return re.sub(r"@(MARKER|ROOT|VENV|SCRIPTS)@", lambda m: values[m.group(1)], LAUNCHER_TEMPLATE)


def launcher_state(path: Path, text: str) -> str:
    """missing, ready (this very launcher), stale (ours, for another folder or version), symlink or foreign.

    Opened without following a symlink: a link is never read through, whatever it points at."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        return "missing"
    except OSError as exc:
        if exc.errno == errno.ELOOP or path.is_symlink():
            return "symlink"
        raise ConfigError(f"cannot read {path} ({exc.strerror})") from None
    with os.fdopen(fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
            return "foreign"
        head = fh.read(LAUNCHER_READ_MAX)
    if head == text.encode("utf-8"):
        return "ready"
    lines = head.split(b"\n", 2)
    return "stale" if len(lines) > 1 and lines[1].startswith(LAUNCHER_MARKER.encode()) else "foreign"


def write_launcher(path: Path, text: str) -> None:
    """Atomically: a private temporary file beside it, mode 0755, renamed over the destination. A rename
    replaces a symlink itself, never the file it points to."""
    directory, tmp = path.parent, None
    try:
        directory.mkdir(parents=True, exist_ok=True)
        if directory.stat().st_mode & stat.S_IWOTH:
            raise ConfigError(f"{directory} is writable by every user, who could replace the launcher; "
                              "choose another folder with --bin-dir")
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{LAUNCHER_NAME}.", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
            os.fchmod(fh.fileno(), 0o755)
        os.replace(tmp, path)
        tmp = None
    except OSError as exc:
        raise ConfigError(f"cannot write {path} ({exc.strerror or type(exc).__name__})") from None
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def place_launcher(path: Path, text: str, *, force: bool, check: bool) -> str:
    """The launcher's state after this run: ready, installed, updated, replaced (--force), or, with
    --check, what it is now. A file this script did not write is never replaced without --force."""
    state = launcher_state(path, text)
    if check or state == "ready":
        return state
    if state in ("symlink", "foreign") and not force:
        what = "is a symbolic link" if state == "symlink" else "exists and was not written by setup_env.py"
        raise InvalidInput(f"{path} {what}; nothing was written. Move it away, choose another folder with "
                           "--bin-dir, or pass --force to replace it" +
                           (" (the link itself, never the file it points to)" if state == "symlink" else ""))
    write_launcher(path, text)
    return {"missing": "installed", "stale": "updated"}.get(state, "replaced")


def on_path(directory: Path, env: Mapping[str, str]) -> bool:
    entries = [p for p in (env.get("PATH") or "").split(os.pathsep) if p]
    return any(os.path.realpath(p) == os.path.realpath(directory) for p in entries)


def launcher_report(doc: dict) -> str:
    words = {"ready": "is up to date", "installed": "was installed", "updated": "was updated for this plugin folder",
             "replaced": "was written over the file that was there (--force)", "missing": "is not installed",
             "stale": "points at another copy of the plugin (rerun with --install-launcher)",
             "symlink": "is a symbolic link, not this launcher", "foreign": "is another program, not this launcher"}
    text = f"Launcher {doc['path']} {words[doc['state']]}."
    if doc["state"] in ("ready", "installed", "updated", "replaced"):
        text += f" Outside Claude Code, run a script as: {LAUNCHER_NAME} NAME [ARGUMENTS...]."
        if not doc["on_path"]:
            text += f" {Path(doc['path']).parent} is not on PATH: add it, or give agents the full path."
    return text


def build() -> cli.Parser:
    p = cli.parser("setup_env.py", __doc__)
    p.add_argument("--check", action="store_true", help="only report whether the environment is ready")
    p.add_argument("--with-mcp", action="store_true",
                   help="also install the optional MCP server extra (requirements-mcp.txt)")
    p.add_argument("--install-launcher", action="store_true",
                   help=f"also install the {LAUNCHER_NAME} command, which runs this plugin's scripts "
                        "in agents other than Claude Code")
    p.add_argument("--bin-dir", metavar="DIR",
                   help="where --install-launcher puts it (default $DEVIN_PLUGIN_BIN_DIR, else ~/.local/bin)")
    p.add_argument("--force", action="store_true",
                   help="let --install-launcher replace a file it did not write")
    return p


def main(inv: cli.Invocation) -> int:
    args, json_mode = inv.args, inv.json
    check = args.check or args.dry_run
    if sys.version_info < (3, 10):
        raise ConfigError("Python 3.10 or newer is needed; this is " + sys.version.split()[0])
    for given, name in ((args.bin_dir is not None, "--bin-dir"), (args.force, "--force")):
        if given and not args.install_launcher:
            raise InvalidInput(f"{name} goes with --install-launcher")
    if args.install_launcher and os.name == "nt":
        raise ConfigError("--install-launcher writes a POSIX launcher; on Windows run python scripts\\NAME.py")
    bin_path = launcher_dir(args.bin_dir, inv.env) if args.install_launcher else Path()  # refused before any step
    target = venv_candidates()[0]
    steps = []

    def say(msg: str) -> None:
        steps.append(msg)
        if not json_mode:
            output.note(f"devin setup: {msg}")

    requirements = REQUIREMENTS_MCP if args.with_mcp else REQUIREMENTS
    if healthy(target, args.with_mcp):
        state = "ready"
    elif check:
        state = "missing"
    else:
        install(target, say, requirements)
        state = "installed" if healthy(target, args.with_mcp) else "broken"
    doc: dict = {"environment": str(target), "state": state, "python": sys.version.split()[0], "steps": steps,
                 "mcp_extra": args.with_mcp}
    ok = state in ("ready", "installed")
    if args.install_launcher:
        path = bin_path / LAUNCHER_NAME
        placed = place_launcher(path, launcher_text(ROOT, target), force=args.force, check=check)
        doc["launcher"] = {"path": str(path), "state": placed, "on_path": on_path(path.parent, inv.env)}
        ok = ok and placed in ("ready", "installed", "updated", "replaced")
    words = {"ready": "is ready", "installed": "was installed and is ready", "missing": "is not installed",
             "broken": "was installed but does not import its packages"}
    inv.emit(doc, lambda: " ".join([f"Plugin environment {target} {words[state]}."] +
                                   ([launcher_report(doc["launcher"])] if "launcher" in doc else [])))
    return 0 if ok else 3


if __name__ == "__main__":
    sys.exit(cli.run(main, build))
