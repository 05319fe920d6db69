"""Shared pieces of dev.py: the repository root, one-line errors, logging, locking, subprocesses."""

import hashlib
import os
import subprocess
import sys
import time

# tools/dev/util.py -> the repository root (where dev.py lives); every path is relative to it.
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class DevError(Exception):
    """A failure that is reported as one line, without a traceback."""


def log(msg):
    print("dev.py: " + msg, file=sys.stderr, flush=True)


def fmt_secs(start):
    return f"{time.monotonic() - start:.1f}s"


# --------------------------------------------------------------------------
# locking (two dev.py runs must not build the same .venv / client at once)


def cache_root():
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
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
            log(f"waiting for another dev.py run to finish ({self.path}) ...")
            fcntl.flock(self.fd, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc):
        if self.fd is not None:
            os.close(self.fd)  # releases the flock
            self.fd = None


def repo_key():
    return hashlib.sha256(os.path.realpath(ROOT).encode()).hexdigest()[:16]


# --------------------------------------------------------------------------
# subprocesses


def run_quiet_or_fail(cmd, what, **kwargs):
    """Run cmd; on failure show its output and raise a one-line DevError."""
    proc = subprocess.run(
        cmd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        check=False,
        **kwargs,
    )
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout.decode("utf-8", "replace"))
        raise DevError(f"{what} failed (exit {proc.returncode})")
    return proc
