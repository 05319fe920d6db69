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
    """Download each attachment into `dest` (which must exist); one result per attachment."""
    real = os.path.realpath(dest)
    if not os.path.isdir(real):
        raise InvalidInput(f"--download {dest!r} is not a directory")
    results = []
    for att in attachments:
        try:
            req = client.build("GET", routes.ATTACHMENT_FILE, path=_download_path(att), action="download_attachment")
        except InvalidInput as err:
            results.append({"attachment_id": att.get("attachment_id"), "saved": None, "error": err.message})
            continue
        if dry_run:
            results.append({"attachment_id": att.get("attachment_id"), "request": req.describe()})
            continue
        target = _new_file(real, safe_name(att.get("name"), str(att.get("attachment_id"))))
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
        try:
            with os.fdopen(fd, "wb") as fh:
                size = client.download(req, fh.write, max_bytes=max_bytes)
        except DevinError as err:
            os.unlink(target)
            results.append({"attachment_id": att.get("attachment_id"), "saved": None, "error": err.message})
            continue
        results.append({"attachment_id": att.get("attachment_id"), "saved": target, "bytes": size})
    return results


def _new_file(directory: str, name: str) -> str:
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem:
        stem, ext = name, ""
    candidate, n = name, 1
    while os.path.lexists(os.path.join(directory, candidate)):
        candidate = f"{stem}-{n}{'.' + ext if ext else ''}"
        n += 1
    return os.path.join(directory, candidate)
