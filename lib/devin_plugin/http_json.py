"""Strict JSON parsing shared by the HTTP helper and local input files (stdlib only)."""

from __future__ import annotations

import json
import math
from typing import Any, NoReturn


def _reject_constant(name: str) -> NoReturn:
    raise ValueError(f"non-standard JSON constant {name}")


def _finite_float(text: str) -> float:
    """A number too large for a float (1e400) would come back as inf, which no JSON output can carry."""
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number out of range {text[:40]!r}")
    return value


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict:
    obj = {}
    for key, value in pairs:
        if key in obj:
            raise ValueError(f"duplicate key {key[:40]!r}")
        obj[key] = value
    return obj


def loads_strict(text: str) -> Any:
    """No NaN/Infinity (spelled out or overflowing), no duplicate keys: all invite disagreements between
    parsers."""
    try:
        return json.loads(text, parse_constant=_reject_constant, parse_float=_finite_float,
                          object_pairs_hook=_no_duplicate_keys)
    except RecursionError:
        raise ValueError("nested too deeply") from None
