"""A request as the library builds it: checked, ready to send or to show in a dry run.

Its own module (no requests import) so that the audit log, the operations and the dry run can
name it without importing the guarded helper.
"""

from __future__ import annotations

from typing import Any


class Request:
    """A fully checked request, ready to send or to show in --dry-run.

    A plain class, not a dataclass: importing dataclasses costs a cold script about 8 ms (it pulls
    inspect and ast), which is most of the wrapper's budget over a bare requests call."""

    __slots__ = ("method", "template", "url", "path", "params", "body", "files", "session_id", "action",
                 "mutating", "safe_to_repeat", "path_values", "version")

    def __init__(self, method: str, template: str, url: str, path: str, params: dict, body: Any = None,
                 files: Any = None, session_id: str | None = None, action: str = "", mutating: bool = False,
                 safe_to_repeat: bool = True, path_values: dict | None = None, version: str = ""):
        self.method, self.template, self.url, self.path, self.params = method, template, url, path, params
        self.body, self.files, self.session_id, self.action = body, files, session_id, action
        self.mutating, self.safe_to_repeat = mutating, safe_to_repeat
        self.path_values = dict(path_values or {})
        self.version = version

    def __repr__(self) -> str:
        return f"Request({self.method} {self.path})"

    def preview(self, **extra: Any) -> dict:
        """The dry-run result of an operation: exactly this request, described, plus what the
        operation would do around it (a dedup look, fields read first)."""
        return {"dry_run": True, "request": self.describe(), **extra}

    def describe(self) -> dict:
        """What --dry-run prints: no token, ever."""
        out: dict[str, Any] = {"method": self.method, "url": self.url, "headers": {"Authorization": "Bearer ***"}}
        if self.params:
            out["params"] = self.params
        if self.body is not None:
            out["headers"]["Content-Type"] = "application/json"
            out["body"] = self.body
        if self.files is not None:
            out["headers"]["Content-Type"] = "multipart/form-data"
            out["file"] = {"field": "file", "name": self.files[0], "bytes": self.files[2]}
        return out
