"""A request as the library builds it: checked, ready to send or to show in a dry run.

Its own module (no requests import) so that the audit log, the operations and the dry run can
name it without importing the guarded helper.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Request:
    """A fully checked request, ready to send or to show in --dry-run."""
    method: str
    template: str
    url: str
    path: str
    params: dict
    body: Any = None
    files: Any = None
    session_id: str | None = None
    action: str = ""
    mutating: bool = False
    safe_to_repeat: bool = True
    path_values: dict = field(default_factory=dict)
    version: str = ""

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
