"""Small private records under the state folder, written and read one way (standard library only).

Writes are atomic (a fresh 0600 file, then a rename that replaces a planted symlink or file itself,
never what it points to). Reads never follow a symlink, never block on a FIFO, take a regular file of
this user only, and stop at a size cap.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path


def write_private(path: str | os.PathLike[str], data: bytes) -> None:
    """Raises OSError; the temporary file is removed on failure."""
    target = Path(path)
    tmp = target.with_name(f".{target.name}.{os.getpid()}-{os.urandom(6).hex()}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
        try:
            os.fchmod(fd, 0o600)
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, target)
    except OSError:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def read_private(path: str | os.PathLike[str], max_bytes: int) -> bytes | None:
    """The file's bytes, or None when it is not a regular file of this user within `max_bytes`. Raises
    FileNotFoundError when it does not exist, OSError when it cannot be opened."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_size > max_bytes or (
                hasattr(os, "getuid") and st.st_uid != os.getuid()):
            return None
        data = os.read(fd, max_bytes + 1)
    finally:
        os.close(fd)
    return data if len(data) <= max_bytes else None
