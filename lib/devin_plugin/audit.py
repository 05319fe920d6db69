"""Append-only local audit log of mutating calls: what was done, never the token or the text."""

from __future__ import annotations

import hashlib
import json
import os
import time
from typing import TYPE_CHECKING, Any

from . import redact

if TYPE_CHECKING:
    from .config import Settings
    from .request import Request

TEXT_FIELDS = ("prompt", "message", "body")


def text_digest(text: str) -> dict:
    data = text.encode("utf-8", "surrogatepass")
    return {"length": len(text), "sha256": hashlib.sha256(data).hexdigest()}


def ensure_private_dir(path: str | os.PathLike[str]) -> None:
    os.makedirs(path, mode=0o700, exist_ok=True)
    try:
        os.chmod(path, 0o700)
    except OSError:
        pass


def check_writable(path: str | os.PathLike[str]) -> None:
    """The state directory (audit log, locks) must be writable before a mutating call is sent: a call
    that could not be recorded is refused as a configuration error, nothing sent."""
    from .errors import ConfigError
    try:
        ensure_private_dir(path)
    except OSError as exc:
        raise ConfigError(f"the state directory {path} cannot be created ({exc.strerror}); set XDG_STATE_HOME "
                          "to a writable directory. Nothing was sent.") from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise ConfigError(f"the state directory {path} is not writable; set XDG_STATE_HOME to a writable "
                          "directory. Nothing was sent.")


def record(settings: Settings, req: Request, http_status: int | None, outcome: str,
           attempts: int | None = None, session_id: str | None = None) -> None:
    """One JSON line per mutating call. A failure to write must not hide the call's own result."""
    entry: dict[str, Any] = {
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "action": req.action or req.method.lower(),
        "method": req.method,
        "path": req.template,
        "org_id": settings.org_id,
        "session_id": req.session_id or session_id,
        "http_status": http_status,
        "outcome": outcome,
    }
    if attempts is not None:
        entry["attempts"] = attempts
    if isinstance(req.body, dict):
        for key in TEXT_FIELDS:
            if isinstance(req.body.get(key), str):
                entry[key] = text_digest(req.body[key])
    if req.files is not None:
        entry["file"] = {"bytes": req.files[2]}
    line = redact.redact(json.dumps(entry, ensure_ascii=True, sort_keys=True)) + "\n"
    try:
        ensure_private_dir(settings.state_dir)
        fd = os.open(settings.state_dir / "audit.jsonl", os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.fchmod(fd, 0o600)
            os.write(fd, line.encode("ascii"))
        finally:
            os.close(fd)
    except OSError as exc:
        import sys
        print(f"devin-plugin: warning: could not write the audit log ({exc.strerror})", file=sys.stderr)
