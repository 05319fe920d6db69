"""Which of a session's messages this machine has already shown: one small file per org and session
under the state directory, naming the last message shown (`list_messages.py --new` shows what follows).

The file is a convenience, never a source of truth: one that is missing, corrupt, oversized, of the
wrong shape, a symlink or not a regular file is ignored (everything counts as new) and replaced by
the next successful write. Writes are atomic (a private temporary file renamed over the old one), so a
concurrent reader sees the old record or the new one, never half of one.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .statefiles import private_folder, read_private, record_name, write_private


RECORD_MAX_BYTES = 4096   # a record is ~200 bytes; anything much larger is not ours
EVENT_ID_MAX = 256
FOLDER = "seen"
_VERSION = 1

Note = Callable[[str], None]


@dataclass(frozen=True)
class Mark:
    """The last message shown: its id and, as a fallback when that id is gone, its time."""
    event_id: str | None
    created_at: float | None


def _file_name(org_id: str, session_id: str) -> str:
    return f"messages-{record_name(org_id, session_id)}.json"


def _number(value: Any) -> float | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


def _event_id(value: Any) -> str | None:
    if isinstance(value, str) and 0 < len(value) <= EVENT_ID_MAX and value.isprintable():
        return value
    return None


def _read_record(path: Path) -> bytes | None:
    """At most RECORD_MAX_BYTES of a regular file, without following a symlink or blocking on a FIFO."""
    try:
        return read_private(path, RECORD_MAX_BYTES)
    except OSError:
        return None


def _parse(data: bytes, org_id: str, session_id: str) -> Mark | None:
    from .http_json import loads_strict
    try:
        doc = loads_strict(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    if (not isinstance(doc, dict) or doc.get("v") != _VERSION or doc.get("org_id") != org_id
            or doc.get("session_id") != session_id):
        return None
    mark = Mark(_event_id(doc.get("event_id")), _number(doc.get("created_at")))
    return mark if mark.event_id is not None or mark.created_at is not None else None


def load(state_dir: str | os.PathLike[str], org_id: str, session_id: str, note: Note) -> Mark | None:
    """The last message shown for this session, or None (nothing shown yet, or a record not to trust)."""
    folder = private_folder(state_dir, FOLDER, create=False)
    if folder is None:
        return None
    path = folder / _file_name(org_id, session_id)
    if not os.path.lexists(path):
        return None
    data = _read_record(path)
    mark = _parse(data, org_id, session_id) if data is not None else None
    if mark is None:
        note("the record of the messages already shown for this session is unreadable or not a plain file; "
             "showing every message as new (the next call replaces the record)")
    return mark


def after(items: list, mark: Mark | None) -> tuple[list, int]:
    """(the messages after the mark, how many were left out). The mark's message is found by id
    (searching from the newest); when it is gone, messages newer than its time are new; with neither,
    all are."""
    if mark is None:
        return list(items), 0
    if mark.event_id is not None:
        for i in range(len(items) - 1, -1, -1):
            item = items[i]
            if isinstance(item, dict) and item.get("event_id") == mark.event_id:
                return list(items[i + 1:]), i + 1
    if mark.created_at is not None:
        newer = [m for m in items if _newer(m, mark.created_at)]
        return newer, len(items) - len(newer)
    return list(items), 0


def _newer(item: Any, than: float) -> bool:
    created = _number(item.get("created_at")) if isinstance(item, dict) else None
    return created is None or created > than


def save(state_dir: str | os.PathLike[str], org_id: str, session_id: str, last: Any, note: Note) -> None:
    """Remember `last` (a message dict) as the last one shown. A failure to write is reported and does not
    fail the call: the messages were shown all the same."""
    if not isinstance(last, dict):
        return
    record = {"v": _VERSION, "org_id": org_id, "session_id": session_id,
              "event_id": _event_id(last.get("event_id")), "created_at": _number(last.get("created_at"))}
    if record["event_id"] is None and record["created_at"] is None:
        return  # nothing that could find this message again
    folder = private_folder(state_dir, FOLDER, create=True)
    if folder is None:
        note(f"cannot remember which messages were shown: {Path(state_dir) / FOLDER} is not a private "
             "directory of this user")
        return
    _write_atomic(folder, _file_name(org_id, session_id), json.dumps(record).encode("utf-8"), note)


def _write_atomic(folder: Path, name: str, data: bytes, note: Note) -> None:
    try:
        write_private(folder / name, data)
    except OSError as exc:
        note(f"cannot remember which messages were shown ({exc.strerror}); the next --new shows them again")
