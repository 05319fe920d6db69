"""Identifier checks. Every id is checked here before it can reach a URL path."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from .errors import InvalidInput

_SESSION = re.compile(r"(?:devin-)?([0-9a-fA-F]{32})")
SESSION_ID = re.compile(r"devin-[0-9a-f]{32}")
# Playbook, note, secret, folder and attachment ids: conservative, no dots, slashes or '%'.
RESOURCE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,127}")
# An attachment's file name in its download path: one segment, no dot segments, no separators or controls.
FILE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_. ()+,=@~-]{0,254}")
SESSION_HELP = ("allowed: devin-<32 hex>, the bare 32 hex, or https://app.devin.ai/sessions/<32 hex>")


def _shown(value: str) -> str:
    return repr(value[:40] + ("..." if len(value) > 40 else ""))


def normalize_session_id(value: str, app_hosts: frozenset[str] = frozenset({"app.devin.ai"})) -> str:
    """Return devin-<32 lowercase hex>, or raise InvalidInput naming what is allowed."""
    if not isinstance(value, str) or not value or len(value) > 300:
        raise InvalidInput(f"invalid session id; {SESSION_HELP}")
    text = value.strip()
    if text.lower().startswith(("https://", "http://")):
        try:
            parts = urlsplit(text)
            host = (parts.hostname or "").lower()
            port = parts.port
        except ValueError:
            raise InvalidInput(f"invalid session URL; {SESSION_HELP}") from None
        segs = parts.path.split("/")
        if (parts.scheme.lower() != "https" or host not in app_hosts or port not in (None, 443)
                or parts.username or parts.password or parts.query or parts.fragment
                or len(segs) != 3 or segs[1] != "sessions"):
            raise InvalidInput(f"invalid session URL {_shown(text)}; {SESSION_HELP} "
                               f"(hosts: {', '.join(sorted(app_hosts))})")
        text = segs[2]
    m = _SESSION.fullmatch(text)
    if not m:
        raise InvalidInput(f"invalid session id {_shown(text)}; {SESSION_HELP}")
    return "devin-" + m.group(1).lower()


def check_resource_id(value: str, what: str = "id") -> str:
    if not isinstance(value, str) or not RESOURCE_ID.fullmatch(value):
        raise InvalidInput(f"invalid {what} {_shown(str(value))}; allowed: 1-128 letters, digits, '-' or '_', "
                           "starting with a letter or digit")
    return value
