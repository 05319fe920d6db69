"""The dev.py commands (setup, test, lint, demo, bench, mutmut, claude, lock) and main()."""

import os
import shutil
import sys
import tempfile

from .npm_tools import CLAUDE_ENV, GEMINI_ENV, ensure_claude, ensure_gemini
from .util import ROOT, DevError, log, run_quiet_or_fail
from .venv import (
    VENV,
    VENV_BIN,
    VENV_PY,
    check_venv_support,
    ensure_python_env,
    pip_env,
    run_in_venv,
    venv_env,
)

WORKERS_ENV = "DEVIN_PLUGIN_TEST_WORKERS"
SKIP_LINT_ENV = "DEVIN_PLUGIN_SKIP_LINT"

# Pinned tool used only by `lock` (never by setup/test/CI).
UV_PIN = "uv==0.13.9"
LOCK_PYTHON = "3.10"  # lowest supported Python; the lock is universal


def cmd_setup(args):
    if args:
        raise DevError("setup takes no arguments")
    ensure_python_env()
    log(f".venv is up to date ({VENV})")
    return 0


def cmd_claude(args):
    if args:
        raise DevError("claude takes no arguments")
    print(ensure_claude())
    return 0


# --------------------------------------------------------------------------
# lint: ruff and mypy, configured in pyproject.toml ([tool.ruff], [tool.mypy])


def run_lint():
    """Run `ruff check .` and `mypy` from .venv (set up already); return the failures, if any."""
    failures = []
    for what, argv in (
        ("ruff check .", [os.path.join(VENV_BIN, "ruff"), "check", "."]),
        # The files to check and the options are in [tool.mypy]; see the comment there.
        ("mypy", [VENV_PY, "-m", "mypy"]),
    ):
        log(f"running {what} ...")
        rc = run_in_venv(argv)
        if rc == 130:
            raise KeyboardInterrupt
        if rc != 0:
            failures.append(f"{what} exited with code {rc}")
    return failures


def cmd_lint(args):
    if args:
        raise DevError("lint takes no arguments")
    ensure_python_env()
    failures = run_lint()
    if failures:
        log("FAILED: lint: " + "; ".join(failures))
        return 1
    log("lint passed (ruff, mypy)")
    return 0


# --------------------------------------------------------------------------
# test


def cmd_test(args):
    ensure_python_env()
    skip = os.environ.get(SKIP_LINT_ENV, "").strip()
    if skip not in ("", "0"):
        log(f"skipping ruff and mypy ({SKIP_LINT_ENV}={skip})")
    else:
        failures = run_lint()
        if failures:
            why = "; ".join(failures)
            log(f"FAILED: lint: {why}; pytest not run ({SKIP_LINT_ENV}=1 skips lint locally)")
            return 1
    claude = ensure_claude()
    gemini = ensure_gemini()
    argv = [VENV_PY, "-m", "pytest"]
    # pytest-xdist: measured on the 2-core CI machine kind, `-n auto` (= 2
    # workers there) halves the suite's wall time, so it is the default.
    # DEVIN_PLUGIN_TEST_WORKERS=0 turns it off; an explicit -n or
    # -p no:xdist among the pytest args wins.
    workers = os.environ.get(WORKERS_ENV, "auto").strip() or "auto"
    user_chose = any(a.startswith("-n") or a.startswith("--numprocesses") or "no:xdist" in a for a in args)
    if workers != "0" and not user_chose:
        argv += ["-n", workers]
    argv += list(args)
    log(f"running pytest ({CLAUDE_ENV}={claude}) ...")
    rc = run_in_venv(argv, venv_env({CLAUDE_ENV: claude, GEMINI_ENV: gemini}))
    if rc == 5:
        log("FAILED: pytest collected no tests (pytest exit code 5)")
        return 5
    if rc != 0:
        log(f"FAILED: pytest exited with code {rc}")
    return rc


# --------------------------------------------------------------------------
# scripts run from .venv


def run_script(relpath, args):
    ensure_python_env()
    script = os.path.join(ROOT, relpath)
    if not os.path.isfile(script):
        raise DevError(f"{relpath} does not exist yet (nothing to run)")
    return run_in_venv([VENV_PY, script] + list(args))


def cmd_demo(args):
    return run_script(os.path.join("tools", "demo.py"), args)


def cmd_mutmut(args):
    return run_script(os.path.join("tools", "mutation.py"), args)


def cmd_bench(args):
    return run_script(os.path.join("benchmarks", "benchmark.py"), args)


# --------------------------------------------------------------------------
# lock

LOCK_HEADER = """\
# Hash-pinned lock of {src}: one file for Python 3.10-3.13 on any platform
# (environment markers pick the right pins). Do not edit by hand.
# Regenerate with:  python3 dev.py lock            (same versions where possible)
#              or:  python3 dev.py lock --upgrade  (newest releases)
# Install with:     pip install --require-hashes -r {dst}

"""

LOCKS = (
    ("requirements.in", "requirements.txt"),
    ("requirements-dev.in", "requirements-dev.txt"),
    # after the other two: it is constrained by both
    ("requirements-mcp.in", "requirements-mcp.txt"),
)


def cmd_lock(args):
    upgrade = False
    for a in args:
        if a == "--upgrade":
            upgrade = True
        else:
            raise DevError("lock takes only --upgrade")
    scratch = tempfile.mkdtemp(prefix="devin-plugin-lock-")
    try:
        log(f"creating a scratch venv with {UV_PIN} in {scratch} ...")
        check_venv_support(sys.executable)
        run_quiet_or_fail([sys.executable, "-m", "venv", scratch], "creating scratch venv")
        run_quiet_or_fail(
            [os.path.join(scratch, "bin", "python"), "-m", "pip", "install", "-q", UV_PIN],
            "installing " + UV_PIN,
            env=pip_env(),
        )
        uv = os.path.join(scratch, "bin", "uv")
        for src, dst in LOCKS:
            _compile(uv, scratch, src, dst, upgrade)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    log("done; review with `git diff requirements*.txt`")
    return 0


def _compile(uv, scratch, src, dst, upgrade):
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
    log(f"compiling {src} -> {dst} ...")
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


# --------------------------------------------------------------------------

COMMANDS = {
    "setup": cmd_setup,
    "test": cmd_test,
    "demo": cmd_demo,
    "bench": cmd_bench,
    "claude": cmd_claude,
    "lock": cmd_lock,
    "mutmut": cmd_mutmut,
    "lint": cmd_lint,
}


def main(argv, usage):
    """dev.py's main: argv as sys.argv, usage the help text (dev.py's docstring)."""
    if len(argv) < 2 or argv[1] in ("-h", "--help", "help"):
        print(usage.strip())
        return 0 if len(argv) >= 2 else 2
    name, args = argv[1], argv[2:]
    func = COMMANDS.get(name)
    if func is None:
        log("error: unknown command {!r} (try: {})".format(name, ", ".join(COMMANDS)))
        return 2
    try:
        return func(args)
    except DevError as e:
        log(f"error: {e}")
        return 1
    except KeyboardInterrupt:
        log("interrupted")
        return 130
