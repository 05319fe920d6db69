#!/usr/bin/env python3
"""Developer entry point for the devin-plugin repository (stdlib only).

Usage (from any directory; every path is relative to this file):

    python3 dev.py setup            create/refresh .venv from requirements-dev.txt
                                    and requirements-mcp.txt (the MCP server extra)
    python3 dev.py test [ARGS...]   setup + pinned Claude Code client, then pytest
    python3 dev.py demo [ARGS...]   setup, then .venv/bin/python tools/demo.py
    python3 dev.py bench [ARGS...]  setup, then .venv/bin/python benchmarks/benchmark.py
    python3 dev.py mutmut [ARGS...] setup, then mutation testing of the policy, the
                                    HTTP helper and the dedup logic (tools/mutation.py)
    python3 dev.py claude           install the pinned Claude Code client only
                                    (prints the path of its binary)
    python3 dev.py lock [--upgrade] regenerate requirements*.txt (needs the
                                    package index; maintainers only)

Environment variables:

    DEVIN_PLUGIN_CLAUDE_BIN     use this Claude Code binary instead of
                                installing the pinned one
    DEVIN_PLUGIN_GEMINI_BIN     likewise for the pinned Gemini CLI (used only
                                for `gemini extensions validate`)
    DEVIN_PLUGIN_TEST_WORKERS   pytest-xdist workers for `test` (default
                                auto = one per CPU; 0 = run in one process)
    XDG_CACHE_HOME              where the client is cached (default ~/.cache)

`setup` is idempotent: .venv/.dev-stamp holds the sha256 of the requirements
files, and .venv is rebuilt from scratch when they change or when it is broken.
Pytest's exit code 5 ("no tests collected") is reported as a failure.
"""

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

MIN_PYTHON = (3, 10)

ROOT = os.path.dirname(os.path.abspath(__file__))
VENV = os.path.join(ROOT, ".venv")
VENV_PY = os.path.join(VENV, "bin", "python")
STAMP = os.path.join(VENV, ".dev-stamp")
REQ_FILES = ("requirements.txt", "requirements-dev.txt", "requirements-mcp.txt")
# Installed into .venv in this order; requirements-mcp.txt is the optional MCP server extra
# (the same pins as the other two plus the `mcp` SDK), so the tests can drive the server.
VENV_INSTALL = ("requirements-dev.txt", "requirements-mcp.txt")

CLAUDE_PACKAGE = "@anthropic-ai/claude-code"
CLAUDE_VERSION = "2.1.330"
CLAUDE_ENV = "DEVIN_PLUGIN_CLAUDE_BIN"
# Gemini CLI, only for its offline `gemini extensions validate` (tests/test_manifests.py).
GEMINI_PACKAGE = "@google/gemini-cli"
GEMINI_VERSION = "0.61.0"
GEMINI_ENV = "DEVIN_PLUGIN_GEMINI_BIN"
WORKERS_ENV = "DEVIN_PLUGIN_TEST_WORKERS"

# Pinned tool used only by `lock` (never by setup/test/CI).
UV_PIN = "uv==0.13.9"
LOCK_PYTHON = "3.10"  # lowest supported Python; the lock is universal


class DevError(Exception):
    """A failure that is reported as one line, without a traceback."""


def log(msg):
    print("dev.py: " + msg, file=sys.stderr, flush=True)


def fmt_secs(start):
    return "%.1fs" % (time.monotonic() - start)


# --------------------------------------------------------------------------
# locking (two dev.py runs must not build the same .venv / client at once)


def cache_root():
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(
        os.path.expanduser("~"), ".cache"
    )
    return os.path.join(base, "devin-plugin-dev")


class FileLock:
    def __init__(self, name):
        lock_dir = os.path.join(cache_root(), "locks")
        os.makedirs(lock_dir, exist_ok=True)
        self.path = os.path.join(lock_dir, name + ".lock")
        self.fd = None

    def __enter__(self):
        import fcntl

        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            log("waiting for another dev.py run to finish (%s) ..." % self.path)
            fcntl.flock(self.fd, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc):
        os.close(self.fd)  # releases the flock
        self.fd = None


def repo_key():
    return hashlib.sha256(os.path.realpath(ROOT).encode()).hexdigest()[:16]


# --------------------------------------------------------------------------
# Python virtual environment


def requirements_digest():
    h = hashlib.sha256()
    for name in REQ_FILES:
        path = os.path.join(ROOT, name)
        try:
            with open(path, "rb") as f:
                data = f.read()
        except OSError as e:
            raise DevError("cannot read %s: %s" % (name, e.strerror))
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
            "%s cannot create virtual environments (venv/ensurepip missing); "
            "install them, e.g. `apt-get install python3-venv`" % python
        )


def remove_venv():
    # Guard rail: only ever delete <repo>/.venv.
    assert os.path.basename(VENV) == ".venv" and os.path.dirname(VENV) == ROOT
    if os.path.islink(VENV) or os.path.isfile(VENV):
        os.unlink(VENV)
    elif os.path.isdir(VENV):
        shutil.rmtree(VENV)


def npm_env():
    """The environment for npm: node also trusts the system's CA bundle (as pip does), in case no
    npmrc names a cafile (a fresh HOME otherwise fails with SELF_SIGNED_CERT_IN_CHAIN here)."""
    env = dict(os.environ)
    system_cas = "/etc/ssl/certs/ca-certificates.crt"
    if "NODE_EXTRA_CA_CERTS" not in env and os.path.isfile(system_cas):
        env["NODE_EXTRA_CA_CERTS"] = system_cas
    return env


def run_quiet_or_fail(cmd, what, **kwargs):
    """Run cmd; on failure show its output and raise a one-line DevError."""
    proc = subprocess.run(
        cmd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        check=False,
        **kwargs
    )
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout.decode("utf-8", "replace"))
        raise DevError("%s failed (exit %d)" % (what, proc.returncode))
    return proc


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


def ensure_python_env():
    """Create/refresh .venv; fast no-op when the stamp matches."""
    if sys.version_info < MIN_PYTHON:
        raise DevError(
            "Python %d.%d+ is required, this is %s"
            % (MIN_PYTHON + (sys.version.split()[0],))
        )
    digest = requirements_digest()
    stamp = read_stamp()
    if stamp and stamp.get("requirements_sha256") == digest and venv_works():
        return
    with FileLock("venv-" + repo_key()):
        stamp = read_stamp()  # another run may have finished it meanwhile
        if stamp and stamp.get("requirements_sha256") == digest and venv_works():
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
            log("rebuilding .venv (%s) ..." % reason)
            remove_venv()
        log("setting up .venv with %s (Python %s) ..." % (python, sys.version.split()[0]))
        check_venv_support(python)
        run_quiet_or_fail([python, "-m", "venv", VENV], "creating .venv")
        if not os.path.isfile(VENV_PY):
            raise DevError("creating .venv did not produce %s" % VENV_PY)
        for req in VENV_INSTALL:
            log("installing %s into .venv (hash-checked) ..." % req)
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
                    "pip install --require-hashes -r %s failed "
                    "(exit %d); .venv left without a stamp, the next run rebuilds it"
                    % (req, proc.returncode)
                )
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
        log(".venv ready in %s" % fmt_secs(start))


# --------------------------------------------------------------------------
# pinned Claude Code client (npm package, cached outside the repository)


def claude_bin_in(prefix):
    return os.path.join(prefix, "node_modules", ".bin", "claude")


def claude_version_ok(binary):
    """Run `claude --version` offline in a throwaway HOME."""
    home = tempfile.mkdtemp(prefix="devin-plugin-claude-home-")
    try:
        env = dict(os.environ)
        env.update(
            HOME=home,
            CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC="1",
            DISABLE_TELEMETRY="1",
            DISABLE_AUTOUPDATER="1",
        )
        env.pop("ANTHROPIC_API_KEY", None)
        try:
            proc = subprocess.run(
                [binary, "--version"],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                env=env,
                timeout=120,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as e:
            return False, str(e)
        text = proc.stdout.decode("utf-8", "replace").strip()
        return proc.returncode == 0 and CLAUDE_VERSION in text, text
    finally:
        shutil.rmtree(home, ignore_errors=True)


def ensure_npm_tool(title, package, version, bin_name, env_var, size, verify=None):
    """Install package@version once into the cache (outside the repo); return its binary.

    An executable named by env_var wins. The install goes to a scratch directory next to the
    target and is renamed into place only once it works, so an interrupted install is never
    mistaken for a finished one (npm's .bin links are relative, so renaming is safe).
    verify(work_dir) returns (ok, text) for a fresh install; text is kept in the marker.
    """
    override = os.environ.get(env_var)
    if override:
        if not (os.path.isfile(override) and os.access(override, os.X_OK)):
            raise DevError("%s=%s is not an executable file" % (env_var, override))
        return override
    name = package.rsplit("/", 1)[-1]
    target = os.path.join(cache_root(), "%s-%s" % (name, version))
    binary = os.path.join(target, "node_modules", ".bin", bin_name)
    marker = os.path.join(target, ".dev-installed")
    if os.path.isfile(marker) and os.access(binary, os.X_OK):
        return binary
    with FileLock("%s-%s" % (name, version)):
        if os.path.isfile(marker) and os.access(binary, os.X_OK):
            return binary
        npm = shutil.which("npm")
        if not npm:
            raise DevError("npm not found on PATH; install Node.js and npm (e.g. `apt-get install nodejs npm`)")
        start = time.monotonic()
        log("installing %s %s into %s (one time, %s) ..." % (title, version, target, size))
        os.makedirs(os.path.dirname(target), exist_ok=True)
        work = tempfile.mkdtemp(prefix=".%s-install-" % name, dir=os.path.dirname(target))
        try:
            run_quiet_or_fail(
                [
                    npm, "install",
                    "--prefix", work,
                    "--no-audit", "--no-fund",
                    "--no-update-notifier",
                    "--engine-strict=false",  # Claude Code declares node>=22; works on 20
                    "--ignore-scripts=false",  # Claude Code's postinstall places its binary
                    "--loglevel=error",
                    "%s@%s" % (package, version),
                ],
                "npm install %s@%s" % (package, version),
                cwd=work,
                env=npm_env(),
            )
            ok, text = verify(work) if verify else (True, version)
            if not ok:
                raise DevError("installed %s does not run: `%s --version` said %r" % (title, bin_name, text[-300:]))
            with open(os.path.join(work, ".dev-installed"), "w", encoding="utf-8") as f:
                f.write(text + "\n")
            if os.path.lexists(target):
                shutil.rmtree(target)
            os.rename(work, target)
            os.chmod(target, 0o755)
        finally:
            if os.path.isdir(work):
                shutil.rmtree(work, ignore_errors=True)
        log("%s %s installed in %s" % (title, version, fmt_secs(start)))
    return binary


def _verify_claude(work):
    work_bin = claude_bin_in(work)
    ok, text = claude_version_ok(work_bin)
    if not ok:
        # The package's postinstall copies the native binary over a placeholder; if npm
        # skipped scripts, run it ourselves.
        pkg = os.path.join(work, "node_modules", *CLAUDE_PACKAGE.split("/"))
        node = shutil.which("node")
        if node and os.path.isfile(os.path.join(pkg, "install.cjs")):
            run_quiet_or_fail([node, "install.cjs"], "claude-code postinstall", cwd=pkg)
            ok, text = claude_version_ok(work_bin)
    return ok, text


def ensure_claude():
    """The pinned Claude Code client."""
    return ensure_npm_tool("Claude Code", CLAUDE_PACKAGE, CLAUDE_VERSION, "claude", CLAUDE_ENV, "~380 MB",
                           verify=_verify_claude)


def ensure_gemini():
    """The pinned Gemini CLI (only for its offline `gemini extensions validate`)."""
    return ensure_npm_tool("Gemini CLI", GEMINI_PACKAGE, GEMINI_VERSION, "gemini", GEMINI_ENV, "~100 MB")


# --------------------------------------------------------------------------
# commands


def venv_env(extra=None):
    """Environment for programs run from .venv (as if it were activated)."""
    env = dict(os.environ)
    env.pop("PYTHONHOME", None)
    env["VIRTUAL_ENV"] = VENV
    env["PATH"] = os.path.join(VENV, "bin") + os.pathsep + env.get("PATH", "")
    if extra:
        env.update(extra)
    return env


def run_in_venv(argv, env=None):
    try:
        return subprocess.call(argv, cwd=ROOT, env=env or venv_env())
    except KeyboardInterrupt:
        return 130


def cmd_setup(args):
    if args:
        raise DevError("setup takes no arguments")
    ensure_python_env()
    log(".venv is up to date (%s)" % VENV)
    return 0


def cmd_claude(args):
    if args:
        raise DevError("claude takes no arguments")
    print(ensure_claude())
    return 0


def cmd_test(args):
    ensure_python_env()
    claude = ensure_claude()
    gemini = ensure_gemini()
    argv = [VENV_PY, "-m", "pytest"]
    # pytest-xdist: measured on the 2-core CI machine kind, `-n auto` (= 2
    # workers there) halves the suite's wall time, so it is the default.
    # DEVIN_PLUGIN_TEST_WORKERS=0 turns it off; an explicit -n or
    # -p no:xdist among the pytest args wins.
    workers = os.environ.get(WORKERS_ENV, "auto").strip() or "auto"
    user_chose = any(
        a.startswith("-n") or a.startswith("--numprocesses") or "no:xdist" in a
        for a in args
    )
    if workers != "0" and not user_chose:
        argv += ["-n", workers]
    argv += list(args)
    log("running pytest (%s=%s) ..." % (CLAUDE_ENV, claude))
    rc = run_in_venv(argv, venv_env({CLAUDE_ENV: claude, GEMINI_ENV: gemini}))
    if rc == 5:
        log("FAILED: pytest collected no tests (pytest exit code 5)")
        return 5
    if rc != 0:
        log("FAILED: pytest exited with code %d" % rc)
    return rc


def run_script(relpath, args):
    ensure_python_env()
    script = os.path.join(ROOT, relpath)
    if not os.path.isfile(script):
        raise DevError("%s does not exist yet (nothing to run)" % relpath)
    return run_in_venv([VENV_PY, script] + list(args))


def cmd_demo(args):
    return run_script(os.path.join("tools", "demo.py"), args)


def cmd_mutmut(args):
    return run_script(os.path.join("tools", "mutation.py"), args)


def cmd_bench(args):
    return run_script(os.path.join("benchmarks", "benchmark.py"), args)


LOCK_HEADER = """\
# Hash-pinned lock of {src}: one file for Python 3.10-3.13 on any platform
# (environment markers pick the right pins). Do not edit by hand.
# Regenerate with:  python3 dev.py lock            (same versions where possible)
#              or:  python3 dev.py lock --upgrade  (newest releases)
# Install with:     pip install --require-hashes -r {dst}

"""


def cmd_lock(args):
    upgrade = False
    for a in args:
        if a == "--upgrade":
            upgrade = True
        else:
            raise DevError("lock takes only --upgrade")
    scratch = tempfile.mkdtemp(prefix="devin-plugin-lock-")
    try:
        log("creating a scratch venv with %s in %s ..." % (UV_PIN, scratch))
        check_venv_support(sys.executable)
        run_quiet_or_fail([sys.executable, "-m", "venv", scratch], "creating scratch venv")
        run_quiet_or_fail(
            [os.path.join(scratch, "bin", "python"), "-m", "pip", "install", "-q", UV_PIN],
            "installing " + UV_PIN,
            env=pip_env(),
        )
        uv = os.path.join(scratch, "bin", "uv")
        for src, dst in (
            ("requirements.in", "requirements.txt"),
            ("requirements-dev.in", "requirements-dev.txt"),
            # after the other two: it is constrained by both
            ("requirements-mcp.in", "requirements-mcp.txt"),
        ):
            out = os.path.join(scratch, dst)
            cmd = [
                uv, "pip", "compile",
                "--universal",
                "--python-version", LOCK_PYTHON,
                "--generate-hashes",
                "--no-header",
                "--quiet",
                src,
                "-o", out,
            ]
            if upgrade:
                cmd.append("--upgrade")
            elif os.path.exists(os.path.join(ROOT, dst)):
                # keep current pins as preferences
                shutil.copyfile(os.path.join(ROOT, dst), out)
            log("compiling %s -> %s ..." % (src, dst))
            env = dict(os.environ)
            env["UV_NO_CONFIG"] = "1"
            env["UV_CACHE_DIR"] = os.path.join(scratch, "uv-cache")
            run_quiet_or_fail(cmd, "uv pip compile " + src, cwd=ROOT, env=env)
            with open(out, encoding="utf-8") as f:
                body = f.read()
            tmp = os.path.join(ROOT, dst + ".tmp")
            with open(tmp, "w", encoding="utf-8") as f:
                f.write(LOCK_HEADER.format(src=src, dst=dst))
                f.write(body)
            os.replace(tmp, os.path.join(ROOT, dst))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    log("done; review with `git diff requirements*.txt`")
    return 0


COMMANDS = {
    "setup": cmd_setup,
    "test": cmd_test,
    "demo": cmd_demo,
    "bench": cmd_bench,
    "claude": cmd_claude,
    "lock": cmd_lock,
    "mutmut": cmd_mutmut,
}


def main(argv):
    if len(argv) < 2 or argv[1] in ("-h", "--help", "help"):
        print(__doc__.strip())
        return 0 if len(argv) >= 2 else 2
    name, args = argv[1], argv[2:]
    func = COMMANDS.get(name)
    if func is None:
        log("error: unknown command %r (try: %s)" % (name, ", ".join(COMMANDS)))
        return 2
    try:
        return func(args)
    except DevError as e:
        log("error: %s" % e)
        return 1
    except KeyboardInterrupt:
        log("interrupted")
        return 130


if __name__ == "__main__":
    sys.exit(main(sys.argv))
