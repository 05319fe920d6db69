"""Small private records under the state folder, written and read one way (standard library only).

Writes are atomic (a fresh 0600 file, then a rename that replaces a planted symlink or file itself,
never what it points to). Reads never follow a symlink, never block on a FIFO, take a regular file of
this user only, and stop at a size cap.
"""

from __future__ import annotations

import hashlib
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


def record_name(*keys: str) -> str:
    """A file name from a digest of `keys`, so that no id, however odd, ever becomes part of a path."""
    return hashlib.sha256("\0".join(keys).encode("utf-8", "surrogatepass")).hexdigest()[:32]


def private_folder(state_dir: str | os.PathLike[str], name: str, *, create: bool) -> Path | None:
    """The folder `name` under the state directory, or None when it is missing (and not to be created) or
    is not a real directory of this user: a symlink or another user's folder could point a write elsewhere."""
    from .audit import ensure_private_dir
    folder = Path(state_dir) / name
    try:
        if create:
            ensure_private_dir(state_dir)
            if not os.path.lexists(folder):
                os.mkdir(folder, 0o700)
        st = os.lstat(folder)
    except OSError:
        return None
    if not stat.S_ISDIR(st.st_mode) or (hasattr(os, "getuid") and st.st_uid != os.getuid()):
        return None
    return folder
