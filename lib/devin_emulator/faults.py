"""Fault injection: which faults exist, how they are matched, and body transforms."""

from __future__ import annotations

import json
import threading
import zlib
from dataclasses import dataclass, field
from typing import Any

FAULT_KINDS = frozenset({
    "status", "delay", "drop_after_processing", "drop_before_processing", "redirect",
    "malformed_json", "nan_json", "duplicate_keys", "html", "wrong_content_type",
    "oversized", "drip", "gzip_bomb", "status_after_processing", "taint_strings",
})
# Kinds for which the request is processed (state changes) before the (faulty) answer.
PROCESSED_KINDS = frozenset({
    "delay", "drop_after_processing", "malformed_json", "nan_json", "duplicate_keys",
    "wrong_content_type", "status_after_processing", "taint_strings",
})
# Keys whose values a taint leaves alone, so the answer stays usable (ids, states, links, cursors).
UNTAINTED_KEYS = frozenset({"status", "status_detail", "url", "pr_url", "end_cursor", "source", "origin",
                            "category", "created_at", "updated_at"})


def taint_strings(obj: object, text: str) -> object:
    """A hostile server: `text` (a token echo, a fence look-alike, invisible characters) appended to every
    free-text string of the answer, at any depth."""
    if isinstance(obj, dict):
        return {k: (v if k in UNTAINTED_KEYS or k.endswith("_id") or k.endswith("_ids")
                    else taint_strings(v, text)) for k, v in obj.items()}
    if isinstance(obj, list):
        return [taint_strings(v, text) for v in obj]
    if isinstance(obj, str):
        return obj + text
    return obj


@dataclass
class Fault:
    method: str
    route: str
    kind: str
    times: int | None = 1
    probability: float | None = None
    params: dict = field(default_factory=dict)
    applied: int = 0

    def matches(self, method: str, route: str | None) -> bool:
        if self.method != "*" and self.method != method.upper():
            return False
        return self.route == "*" or self.route == route


class FaultSet:
    def __init__(self, rng):
        self._rng = rng
        self._faults: list[Fault] = []
        self._lock = threading.Lock()

    def add(self, method: str, route: str, kind: str, *, times: int | None = 1,
            probability: float | None = None, **params) -> Fault:
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; known: {sorted(FAULT_KINDS)}")
        if kind == "status" and "status" not in params:
            raise ValueError("a 'status' fault needs status=<int>")
        if kind == "redirect" and "location" not in params:
            raise ValueError("a 'redirect' fault needs location=<url>")
        if kind == "delay" and "seconds" not in params:
            raise ValueError("a 'delay' fault needs seconds=<float>")
        if times is not None and times < 1:
            raise ValueError("times must be >= 1 or None (forever)")
        if probability is not None and not 0.0 <= probability <= 1.0:
            raise ValueError("probability must be within [0, 1]")
        f = Fault(method.upper() if method != "*" else "*", route, kind, times, probability, dict(params))
        with self._lock:
            self._faults.append(f)
        return f

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def active(self) -> list[Fault]:
        with self._lock:
            return list(self._faults)

    def take(self, method: str, route: str | None) -> Fault | None:
        """The first fault that applies to this request (consuming one of its ``times``)."""
        with self._lock:
            for f in self._faults:
                if not f.matches(method, route):
                    continue
                if f.probability is not None and self._rng.random() >= f.probability:
                    continue
                f.applied += 1
                if f.times is not None:
                    f.times -= 1
                    if f.times <= 0:
                        self._faults.remove(f)
                return f
        return None


# ---- body transforms -------------------------------------------------------------------------

def truncate_json(body: bytes) -> bytes:
    if len(body) < 4:
        return b'{"items": ['
    return body[: len(body) // 2]


def nan_json(obj: Any, key: str | None = None) -> bytes:
    if isinstance(obj, dict):
        obj = dict(obj)
        k = key or ("acus_consumed" if "acus_consumed" in obj else
                    "total" if "total" in obj else "nan_value")
        obj[k] = float("nan")
    elif isinstance(obj, list):
        obj = list(obj) + [float("nan")]
    else:
        obj = {"nan_value": float("nan")}
    return json.dumps(obj, allow_nan=True).encode()


def duplicate_keys(obj: Any, key: str | None = None, value: Any = "duplicate") -> bytes:
    """The object serialised, then one of its keys repeated at the end with another value (so a
    last-wins parser such as Python's json silently takes the bogus value)."""
    if isinstance(obj, dict) and obj:
        k = key or ("status" if "status" in obj else next(iter(obj)))
        base = json.dumps(obj)
        if k not in obj:
            base = base[:-1] + ", " + json.dumps(k) + ": " + json.dumps(obj.get(k)) + "}"
        return (base[:-1] + ", " + json.dumps(k) + ": " + json.dumps(value) + "}").encode()
    inner = '{"id": 1, "id": 2}'
    if isinstance(obj, list):
        items = [json.dumps(x) for x in obj] + [inner]
        return ("[" + ", ".join(items) + "]").encode()
    return inner.encode()


HTML_PAGE = (b"<html>\r\n<head><title>%d %s</title></head>\r\n<body>\r\n<center><h1>%d %s</h1></center>"
             b"\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n")

_gzip_cache: dict[int, bytes] = {}
_gzip_lock = threading.Lock()


def gzip_bomb(inflated: int) -> bytes:
    """A gzip stream of a JSON document that inflates to exactly ``inflated`` bytes."""
    with _gzip_lock:
        got = _gzip_cache.get(inflated)
        if got is not None:
            return got
        prefix, suffix = b'{"padding":"', b'"}'
        pad = max(0, inflated - len(prefix) - len(suffix))
        c = zlib.compressobj(9, zlib.DEFLATED, 31)
        out = [c.compress(prefix)]
        block = b"a" * (1 << 20)
        while pad > 0:
            k = min(pad, len(block))
            out.append(c.compress(block[:k]))
            pad -= k
        out.append(c.compress(suffix))
        out.append(c.flush())
        data = b"".join(out)
        if len(_gzip_cache) > 8:
            _gzip_cache.clear()
        _gzip_cache[inflated] = data
        return data
