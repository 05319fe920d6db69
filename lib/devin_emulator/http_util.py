"""Small HTTP helpers: responses, RFC 9457 problems, FastAPI-style 422s, cursors, headers."""

from __future__ import annotations

import base64
import http
import json
from collections.abc import Iterable
from typing import Any

JSON = "application/json"
PROBLEM = "application/problem+json"


class ApiError(Exception):
    """Raised by handlers; turned into a response by the server."""

    def __init__(self, status: int, detail: Any = None, *, title: str | None = None,
                 headers: dict | None = None, legacy: bool = False, validation: list | None = None):
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.title = title
        self.headers = headers or {}
        self.legacy = legacy          # plain {"detail": ...} application/json body
        self.validation = validation  # FastAPI 422 list of {loc, msg, type}


class Response:
    __slots__ = ("status", "headers", "body", "obj", "processed")

    def __init__(self, status: int, body: bytes = b"", content_type: str | None = JSON,
                 headers: dict | None = None, obj: Any = None):
        self.status = status
        self.headers: dict[str, str] = {}
        if content_type:
            self.headers["Content-Type"] = content_type
        if headers:
            self.headers.update(headers)
        self.body = body
        self.obj = obj  # the JSON object behind ``body``, when there is one
        self.processed = True


def dumps(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":"), allow_nan=False).encode()


def json_response(obj: Any, status: int = 200, headers: dict | None = None) -> Response:
    return Response(status, dumps(obj), JSON, headers, obj=obj)


def reason(status: int) -> str:
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def problem_obj(status: int, detail: Any = None, instance: str | None = None,
                title: str | None = None) -> dict:
    obj = {
        "type": "about:blank",
        "title": title or reason(status),
        "status": status,
        "detail": detail if detail is not None else reason(status),
    }
    if instance is not None:
        obj["instance"] = instance
    return obj


def problem(status: int, detail: Any = None, instance: str | None = None,
            title: str | None = None, headers: dict | None = None) -> Response:
    obj = problem_obj(status, detail, instance, title)
    return Response(status, dumps(obj), PROBLEM, headers, obj=obj)


def error_response(err: ApiError, instance: str) -> Response:
    if err.validation is not None:
        return json_response({"detail": err.validation}, err.status, err.headers)
    if err.legacy:
        return json_response({"detail": err.detail}, err.status, err.headers)
    return problem(err.status, err.detail, instance, err.title, err.headers)


def vloc(loc: Iterable, msg: str, typ: str, inp: Any = None) -> dict:
    d = {"type": typ, "loc": list(loc), "msg": msg}
    if inp is not None:
        d["input"] = inp
    return d


def validation_error(*errors: dict) -> ApiError:
    return ApiError(422, validation=list(errors))


# --- cursors -------------------------------------------------------------------------------

def encode_cursor(kind: str, key: Any) -> str:
    raw = json.dumps({"k": kind, "v": key}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(kind: str, cursor: str) -> tuple:
    try:
        pad = "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(cursor + pad))
        if not isinstance(data, dict) or data.get("k") != kind:
            raise ValueError("wrong cursor kind")
        v = data["v"]
        return tuple(v) if isinstance(v, list) else (v,)
    except Exception:
        raise ApiError(400, "Invalid pagination cursor ('after')") from None


# --- headers ---------------------------------------------------------------------------------

class Headers(dict):
    """A dict of headers as received, with case-insensitive lookup."""

    def _find(self, key):
        if dict.__contains__(self, key):
            return key
        if isinstance(key, str):
            low = key.lower()
            for k in dict.keys(self):
                if k.lower() == low:
                    return k
        return None

    def __getitem__(self, key):
        k = self._find(key)
        if k is None:
            raise KeyError(key)
        return dict.__getitem__(self, k)

    def __contains__(self, key):
        return self._find(key) is not None

    def get(self, key, default=None):
        k = self._find(key)
        return default if k is None else dict.__getitem__(self, k)
