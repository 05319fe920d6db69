"""Canonical field names and the forbidden-field list (stdlib only: the guard hook imports it)."""

from __future__ import annotations

import json
import os
import unicodedata
from pathlib import Path

POLICY_DIR = Path(__file__).resolve().parents[2] / "policy"
FORBIDDEN_FILE = POLICY_DIR / "forbidden.json"


def canonical(name: str) -> str:
    """Fold a field name so that look-alike spellings compare equal.

    NFKC maps full-width and other compatibility forms to ASCII, casefold removes case, and
    dropping everything but [a-z0-9] removes separators, spaces and zero-width characters:
    "Create-As User\u200bId" and "ｃｒｅａｔｅ_ａｓ_ｕｓｅｒ_ｉｄ" both become "createasuserid".
    """
    folded = unicodedata.normalize("NFKC", str(name)).casefold()
    return "".join(ch for ch in folded if "a" <= ch <= "z" or "0" <= ch <= "9")


def load_forbidden(path: str | os.PathLike | None = None) -> tuple[str, ...]:
    with open(path or FORBIDDEN_FILE, encoding="utf-8") as fh:
        data = json.load(fh)
    names = data["forbidden_fields"]
    if not isinstance(names, list) or not names or not all(isinstance(n, str) and n for n in names):
        raise ValueError("forbidden_fields must be a non-empty list of names")
    return tuple(names)


FORBIDDEN_FIELDS = load_forbidden()
FORBIDDEN_CANONICAL = frozenset(canonical(n) for n in FORBIDDEN_FIELDS)


def is_forbidden(name: str) -> bool:
    return canonical(name) in FORBIDDEN_CANONICAL
