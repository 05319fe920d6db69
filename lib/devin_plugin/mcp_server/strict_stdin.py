"""The MCP server's stdin as the SDK reads it, less one ambiguity: a tools/call that names a key twice.

The SDK parses each JSON-RPC line itself and, like most JSON parsers, silently keeps one of two values
given under one key (the last), so the plugin could never refuse such a call the way the scripts refuse
such input. ``StrictStdin`` is the text layer the SDK would build over the wire (UTF-8 with replacement,
universal newlines, a close that never closes the wire), with one change in ``readline``: each line is
parsed once more, keeping every pair, and a ``tools/call`` that names a key twice anywhere in the message
reaches the SDK with its arguments replaced by the runner's refusal sentinel (``run_tool`` then refuses
it and nothing is sent). Every other line, JSON or not, reaches the SDK exactly as read. Stdlib only.
"""

from __future__ import annotations

import io
import json
import os
import sys
from collections.abc import Callable
from contextlib import suppress
from typing import Any, BinaryIO

from .runner import DUPLICATE_KEYS_SENTINEL

if sys.platform != "win32":
    import fcntl

# A duplicated key is named in the refusal; the runner shows 60 characters of it, the line carries 200.
KEY_MAX_CHARS = 200


def inspect(line: str) -> str:
    """``line`` itself, or, for a tools/call naming a key twice, the same call with the sentinel as arguments.

    No length cut-off: the SDK reads and parses every whole line anyway (it has no bound of its own), the
    stdlib parser is linear and the parsed object is dropped before the SDK parses the line, so this at most
    doubles the time and adds no new memory peak; a cut-off would instead either let a long (padded) call
    through uninspected or change a message with no duplicates. Too deep to parse (RecursionError, past
    ~1000 levels, where the SDK's own parser gives up at under 200) or not JSON: passed on for the SDK to
    reject. ``strict=False`` (control characters in strings) keeps this parser the more lenient of the two.
    """
    dups: list[str] = []

    def keep_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        obj: dict[str, Any] = {}
        for key, value in pairs:
            if key in obj and not dups:
                dups.append(key)
            obj[key] = value  # the last one wins, as in the SDK's parser: the message seen is the SDK's
        return obj

    try:
        msg = json.loads(line, object_pairs_hook=keep_pairs, strict=False)
    except (ValueError, RecursionError):
        return line
    if not dups or not isinstance(msg, dict) or msg.get("method") != "tools/call":
        return line
    # Name, id, jsonrpc, _meta (each as the SDK would have read it) stay: the answer goes to the right
    # request, and to the right tool, which refuses it.
    params = dict(msg["params"]) if isinstance(msg.get("params"), dict) else {}
    params["arguments"] = {DUPLICATE_KEYS_SENTINEL: dups[0][:KEY_MAX_CHARS]}
    msg["params"] = params
    return json.dumps(msg) + "\n"  # ASCII only: no re-encoding question for the text layer's reader


class StrictStdin(io.TextIOWrapper):
    """What the SDK's stdio_server builds over stdin, plus ``inspect`` on every line it reads.

    The SDK reads whole lines (``readline()``, in a worker thread, until ``""`` at EOF); a read that could
    bypass the inspection (``read``, a sized ``readline``) is refused. Closing detaches rather than closes:
    the wire is not this object's to close (it may be sys.stdin's own buffer).
    """

    def __init__(self, wire: BinaryIO) -> None:
        super().__init__(wire, encoding="utf-8", errors="replace")

    def readline(self, size: int = -1, /) -> str:  # type: ignore[override]  # typeshed's own TextIOWrapper has it too
        if size is not None and size >= 0:
            raise io.UnsupportedOperation("StrictStdin reads whole lines only")
        line = super().readline()
        return inspect(line) if line.strip() else line

    def read(self, size: int | None = -1, /) -> str:
        raise io.UnsupportedOperation("StrictStdin reads whole lines only")

    def close(self) -> None:
        with suppress(ValueError):
            self.detach()


def _nothing() -> None:
    """Nothing to restore."""


def _dup_above_std(fd: int) -> int:
    if sys.platform == "win32":
        dup = os.dup(fd)  # non-inheritable
        if dup <= 2:
            os.close(dup)
            raise OSError(f"duplicate of fd {fd} landed in the standard range")
        return dup
    return fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 3)


def claim_stdin() -> tuple[BinaryIO, Callable[[], None]]:
    """(the wire, restore): what the SDK's stdio_server does for stdin itself, which it skips for a stdin
    stream handed to it. The wire moves to a private descriptor and fd 0 points at the null device while
    serving, so code in the server that reads stdin gets EOF instead of a client's message; ``restore``
    points fd 0 back at the wire. Best effort, as in the SDK: if a descriptor cannot be duplicated or
    diverted, sys.stdin's buffer is served in place. (On Windows the Win32 standard handle is not rebound;
    only a child process would see it, and the server starts none.)
    """
    buffer: BinaryIO = sys.stdin.buffer
    try:
        if buffer.fileno() != 0:
            return buffer, _nothing
        private = _dup_above_std(0)
    except (AttributeError, OSError, ValueError):
        return buffer, _nothing
    try:
        null = os.open(os.devnull, os.O_RDONLY)
        try:
            os.dup2(null, 0)
        finally:
            os.close(null)
    except OSError:
        with suppress(OSError):  # a failed dup2 may have closed fd 0 first: put the wire back
            os.dup2(private, 0)
        return buffer, _nothing

    def restore() -> None:
        with suppress(OSError):
            os.dup2(private, 0)

    # closefd=False: the reading worker thread may still block on the descriptor after the server exits,
    # so it is never closed (and never recycled under that thread), as in the SDK.
    return os.fdopen(private, "rb", closefd=False), restore
