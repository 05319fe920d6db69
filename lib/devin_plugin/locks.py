"""A per-machine lock so that concurrent creates with one title make one session."""

from __future__ import annotations

import contextlib
import hashlib
import os
import time
from collections.abc import Iterator

from .audit import ensure_private_dir
from .errors import ConfigError, NetworkError


@contextlib.contextmanager
def title_lock(state_dir: str | os.PathLike[str], org_id: str, title: str, timeout_s: float) -> Iterator[None]:
    import fcntl
    lock_dir = os.path.join(state_dir, "locks")
    key = hashlib.sha256(f"{org_id}\0{title}".encode("utf-8", "surrogatepass")).hexdigest()[:32]
    try:
        ensure_private_dir(state_dir)
        ensure_private_dir(lock_dir)
        fd = os.open(os.path.join(lock_dir, f"create-{key}.lock"), os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise ConfigError(f"the state directory {state_dir} is not writable ({exc.strerror}); set XDG_STATE_HOME "
                          "to a writable directory. Nothing was sent.") from None
    try:
        end = time.monotonic() + max(0.0, timeout_s)
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= end:
                    raise NetworkError("another create with the same title is still running on this machine; "
                                       "try again when it has finished") from None
                time.sleep(0.05)
        yield
    finally:
        os.close(fd)  # closing releases the lock
