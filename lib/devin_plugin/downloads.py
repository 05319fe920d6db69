"""Saving a session's attachments under a directory the user named: the names come from the API
(untrusted), so each file gets a sanitised base name, is created new (never overwriting, never
through a symlink) inside that directory, and is removed again if its download fails."""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING, Any

from . import ids, routes
from .errors import DevinError, InvalidInput

if TYPE_CHECKING:
    from .http import Client

DOWNLOAD_MAX_BYTES = 100 * 2**20
_UNSAFE = re.compile(r"[^A-Za-z0-9._ ()+,=@~-]")


def safe_name(name: Any, fallback: str) -> str:
    """A base name that is one harmless path segment: no separators, controls, leading dots or '..'."""
    text = os.path.basename(str(name or "").replace("\\", "/"))
    text = _UNSAFE.sub("_", text).strip(" .")
    text = text.replace("..", "_")[:200]
    return text or fallback


def _download_path(attachment: dict) -> dict:
    """The API route of one attachment's file, from its id and name (never from its `url` field)."""
    raw_id = attachment.get("attachment_id")
    if not isinstance(raw_id, str):
        raise InvalidInput("an attachment without an id cannot be downloaded")
    aid = ids.check_resource_id(raw_id, "attachment id")
    name = str(attachment.get("name") or "")
    if not ids.FILE_NAME.fullmatch(name) or ".." in name:
        raise InvalidInput(f"attachment {aid} has a name that cannot be requested safely")
    return {"attachment_id": aid, "file_name": name}


def save(client: Client, attachments: list[dict], dest: str, *, max_bytes: int = DOWNLOAD_MAX_BYTES,
         dry_run: bool = False) -> list[dict]:
    """Download each attachment into `dest` (which must exist); one result per attachment.

    The folder is opened once (no symlink as its last part) and every file is created relative to that
    handle, so swapping a folder on the way for a symlink after the caller checked the path cannot move
    a file elsewhere."""
    real = os.path.realpath(dest)
    if not os.path.isdir(real):
        raise InvalidInput(f"--download {dest!r} is not a directory")
    dfd = os.open(real, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_NOFOLLOW", 0))
    try:
        from . import localfiles
        localfiles.opened_as_checked(dfd, real, "--download", dest)
        return [_save_one(client, att, real, dfd, max_bytes, dry_run) for att in attachments]
    finally:
        os.close(dfd)


def _save_one(client: Client, att: dict, real: str, dfd: int, max_bytes: int, dry_run: bool) -> dict:
    try:
        req = client.build("GET", routes.ATTACHMENT_FILE, path=_download_path(att), action="download_attachment")
    except InvalidInput as err:
        return {"attachment_id": att.get("attachment_id"), "saved": None, "error": err.message}
    if dry_run:
        return {"attachment_id": att.get("attachment_id"), "request": req.describe()}
    name = _new_name(dfd, safe_name(att.get("name"), str(att.get("attachment_id"))))
    fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600, dir_fd=dfd)
    try:
        with os.fdopen(fd, "wb") as fh:
            size = client.download(req, fh.write, max_bytes=max_bytes)
    except DevinError as err:
        os.unlink(name, dir_fd=dfd)
        return {"attachment_id": att.get("attachment_id"), "saved": None, "error": err.message}
    except BaseException:  # a bug or Ctrl-C: never leave a partial file behind
        os.unlink(name, dir_fd=dfd)
        raise
    return {"attachment_id": att.get("attachment_id"), "saved": os.path.join(real, name), "bytes": size}


def _exists(dfd: int, name: str) -> bool:
    try:
        os.stat(name, dir_fd=dfd, follow_symlinks=False)
        return True
    except FileNotFoundError:
        return False


def _new_name(dfd: int, name: str) -> str:
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem:
        stem, ext = name, ""
    candidate, n = name, 1
    while _exists(dfd, candidate):
        candidate = f"{stem}-{n}{'.' + ext if ext else ''}"
        n += 1
    return candidate
