"""`last`: the newest session this machine created, per organization.

Every successful create records its id under the state directory (one small JSON file per org,
written atomically, mode 0600); `last` reads it back. The file is local state anyone with the
account could edit, so it is read as untrusted: no symlinks, FIFOs or devices, a size cap, strict
JSON, and the id checked like one the user typed. A bad record makes `last` fail with exit 2;
it never breaks a create (the next create replaces it).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from . import ids
from .errors import InvalidInput
from .statefiles import private_folder, read_private, record_name, write_private

RECORD_DIR = "last-session"
RECORD_MAX_BYTES = 4096


def record_path(state_dir: str | os.PathLike[str], org_id: str) -> Path:
    return Path(state_dir) / RECORD_DIR / f"{record_name(org_id)}.json"


def remember_created(state_dir: str | os.PathLike[str], org_id: str, session: Mapping[str, Any],
                     note: Callable[[str], None] | None = None) -> bool:
    """Record a session this machine has just created (is_new_session true); anything else is left alone.
    A failure is a warning through `note`: the create itself succeeded and must say so."""
    sid = session.get("session_id")
    if session.get("is_new_session") is not True or not isinstance(sid, str) or not ids.SESSION_ID.fullmatch(sid):
        return False
    data = json.dumps({"session_id": sid, "org_id": org_id}).encode("ascii")
    why = f"{Path(state_dir) / RECORD_DIR} is not a private directory of this user"
    if private_folder(state_dir, RECORD_DIR, create=True) is not None:
        try:
            write_private(record_path(state_dir, org_id), data)
            return True
        except OSError as exc:
            why = str(exc.strerror)
    if note is not None:
        note(f"warning: could not record this session as `last` ({why})")
    return False


def last_session(state_dir: str | os.PathLike[str], org_id: str) -> str:
    """The id recorded by the newest create in this org on this machine, or InvalidInput (exit 2)."""
    path = record_path(state_dir, org_id)
    fix = "give the session's id instead (list_sessions.py shows them); the next create records a new one"
    try:
        raw = read_private(path, RECORD_MAX_BYTES) or b""
    except FileNotFoundError:
        raise InvalidInput(f"`last`: no session created on this machine is recorded for organization {org_id}; "
                           "create one with create_session.py, or give a session id. Nothing was sent.") from None
    except OSError as exc:
        raise InvalidInput(f"`last`: the record {path} cannot be read ({exc.strerror}); {fix}. "
                           "Nothing was sent.") from None
    sid = _recorded_id(raw, org_id)
    if sid is None:
        raise InvalidInput(f"`last`: the record {path} is not one this plugin wrote (corrupt or changed); {fix}. "
                           "Nothing was sent.")
    return sid


def _recorded_id(raw: bytes, org_id: str) -> str | None:
    if not raw or len(raw) > RECORD_MAX_BYTES:
        return None
    try:
        doc = json.loads(raw.decode("ascii"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None
    if not isinstance(doc, dict) or doc.get("org_id") != org_id:
        return None
    sid = doc.get("session_id")
    return sid if isinstance(sid, str) and ids.SESSION_ID.fullmatch(sid) else None
