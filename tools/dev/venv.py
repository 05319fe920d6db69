"""The repository's .venv: built from the hash-pinned requirements, stamped with their sha256.

`ensure_python_env()` is a fast no-op while .venv/.dev-stamp matches the requirements files and
.venv/bin/python runs; otherwise .venv is rebuilt from scratch (under a lock shared by all dev.py
runs on this machine). Nothing here imports the standard `venv` module: .venv is made by running
`python -m venv` in a subprocess.
"""

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time

from .util import ROOT, DevError, FileLock, fmt_secs, log, repo_key, run_quiet_or_fail

MIN_PYTHON = (3, 10)

VENV = os.path.join(ROOT, ".venv")
VENV_BIN = os.path.join(VENV, "bin")
VENV_PY = os.path.join(VENV_BIN, "python")
STAMP = os.path.join(VENV, ".dev-stamp")
REQ_FILES = ("requirements.txt", "requirements-dev.txt", "requirements-mcp.txt")
# Installed into .venv in this order; requirements-mcp.txt is the optional MCP server extra
# (the same pins as the other two plus the `mcp` SDK), so the tests can drive the server.
VENV_INSTALL = ("requirements-dev.txt", "requirements-mcp.txt")


def requirements_digest():
    h = hashlib.sha256()
    for name in REQ_FILES:
        path = os.path.join(ROOT, name)
        try:
            with open(path, "rb") as f:
                data = f.read()
        except OSError as e:
            raise DevError(f"cannot read {name}: {e.strerror}") from None
        h.update(name.encode() + b"\0")
        h.update(hashlib.sha256(data).digest())
    return h.hexdigest()


def read_stamp():
    try:
        with open(STAMP, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def venv_works():
    """True if .venv/bin/python runs and is a Python we support."""
    if not os.path.isfile(os.path.join(VENV, "pyvenv.cfg")):
        return False
    try:
        out = subprocess.run(
            [VENV_PY, "-c", "import sys; print(sys.version_info >= (3, 10))"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            timeout=60,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return out.returncode == 0 and out.stdout.strip() == b"True"


def base_python():
    """The interpreter to build .venv with: the one running dev.py.

    If dev.py itself runs from inside a virtual environment, use the
    interpreter that environment was made from, so .venv never chains to
    another (possibly soon deleted) venv.
    """
    if sys.prefix != sys.base_prefix:
        base = getattr(sys, "_base_executable", None)
        if base and os.path.isfile(base):
            return base
    return sys.executable


def check_venv_support(python):
    probe = subprocess.run(
        [python, "-c", "import venv, ensurepip"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=False,
    )
    if probe.returncode != 0:
        raise DevError(
            f"{python} cannot create virtual environments (venv/ensurepip missing); "
            "install them, e.g. `apt-get install python3-venv`"
        )


def remove_venv():
    # Guard rail: only ever delete <repo>/.venv.
    assert os.path.basename(VENV) == ".venv" and os.path.dirname(VENV) == ROOT
    if os.path.islink(VENV) or os.path.isfile(VENV):
        os.unlink(VENV)
    elif os.path.isdir(VENV):
        shutil.rmtree(VENV)


def pip_env():
    env = dict(os.environ)
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    env["PIP_NO_INPUT"] = "1"
    env.pop("PIP_REQUIRE_VIRTUALENV", None)
    # Never let an activated venv or a user site leak into .venv's pip.
    env.pop("PYTHONPATH", None)
    env.pop("PYTHONHOME", None)
    env["PYTHONNOUSERSITE"] = "1"
    return env


def _stamp_matches(digest):
    stamp = read_stamp()
    return stamp, bool(stamp and stamp.get("requirements_sha256") == digest and venv_works())


def ensure_python_env():
    """Create/refresh .venv; fast no-op when the stamp matches."""
    if sys.version_info < MIN_PYTHON:
        raise DevError("Python {}.{}+ is required, this is {}".format(*MIN_PYTHON, sys.version.split()[0]))
    digest = requirements_digest()
    if _stamp_matches(digest)[1]:
        return
    with FileLock("venv-" + repo_key()):
        stamp, ok = _stamp_matches(digest)  # another run may have finished it meanwhile
        if ok:
            return
        start = time.monotonic()
        python = base_python()
        if os.path.lexists(VENV):
            if not venv_works():
                reason = "it is broken or incomplete"
            elif stamp is None:
                reason = "no install stamp: an earlier setup did not finish"
            else:
                reason = "requirements changed"
            log(f"rebuilding .venv ({reason}) ...")
            remove_venv()
        log(f"setting up .venv with {python} (Python {sys.version.split()[0]}) ...")
        check_venv_support(python)
        run_quiet_or_fail([python, "-m", "venv", VENV], "creating .venv")
        if not os.path.isfile(VENV_PY):
            raise DevError(f"creating .venv did not produce {VENV_PY}")
        for req in VENV_INSTALL:
            _pip_install(req)
        tmp = STAMP + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(
                {
                    "requirements_sha256": digest,
                    "python": sys.version.split()[0],
                    "base_python": python,
                },
                f,
                indent=1,
            )
            f.write("\n")
        os.replace(tmp, STAMP)
        log(f".venv ready in {fmt_secs(start)}")


def _pip_install(req):
    log(f"installing {req} into .venv (hash-checked) ...")
    cmd = [
        VENV_PY, "-m", "pip", "install",
        "--require-hashes",
        "--no-input",
        "--quiet",
        "-r", os.path.join(ROOT, req),
    ]
    proc = subprocess.run(
        cmd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=pip_env(),
        check=False,
    )
    for line in proc.stdout.decode("utf-8", "replace").splitlines():
        # An index directory of a local mirror that lacks a project makes
        # older pips warn once per package; that is noise, not a problem.
        if "is ignored: it is neither a file nor a directory" not in line:
            sys.stderr.write(line + "\n")
    if proc.returncode != 0:
        raise DevError(
            f"pip install --require-hashes -r {req} failed "
            f"(exit {proc.returncode}); .venv left without a stamp, the next run rebuilds it"
        )


# --------------------------------------------------------------------------
# running programs from .venv


def venv_env(extra=None):
    """Environment for programs run from .venv (as if it were activated)."""
    env = dict(os.environ)
    env.pop("PYTHONHOME", None)
    env["VIRTUAL_ENV"] = VENV
    env["PATH"] = VENV_BIN + os.pathsep + env.get("PATH", "")
    if extra:
        env.update(extra)
    return env


def run_in_venv(argv, env=None):
    try:
        return subprocess.call(argv, cwd=ROOT, env=env or venv_env())
    except KeyboardInterrupt:
        return 130
