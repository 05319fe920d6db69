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
# The word that names the newest session this machine created (resolved by recent.py, not here).
LAST = "last"
SESSION_HELP = "allowed: devin-<32 hex>, the bare 32 hex, https://app.devin.ai/sessions/<32 hex>, or last"
# A URL copied from a browser's address bar is visible ASCII (anything else is percent-encoded):
# a space, a control, an invisible or a look-alike character anywhere in it means it is not one.
_VISIBLE_ASCII = re.compile(r"[\x21-\x7e]+")


def _shown(value: str) -> str:
    return repr(value[:40] + ("..." if len(value) > 40 else ""))


def is_last(value: object) -> bool:
    """`last` exactly (surrounding spaces allowed, as for ids): no case or look-alike variants, so that a
    mistyped id never silently becomes the newest session."""
    return isinstance(value, str) and value.strip() == LAST


def normalize_session_id(value: str, app_hosts: frozenset[str] = frozenset({"app.devin.ai"})) -> str:
    """Return devin-<32 lowercase hex>, or raise InvalidInput naming what is allowed."""
    if not isinstance(value, str) or not value or len(value) > 300:
        raise InvalidInput(f"invalid session id; {SESSION_HELP}")
    text = value.strip()
    if text.lower().startswith(("https://", "http://")):
        text = _session_from_url(text, app_hosts)
    m = _SESSION.fullmatch(text)
    if not m:
        raise InvalidInput(f"invalid session id {_shown(text)}; {SESSION_HELP}")
    return "devin-" + m.group(1).lower()


def _session_from_url(text: str, app_hosts: frozenset[str]) -> str:
    """The id segment of https://<app host>/sessions/<id>[?query][#fragment]; the query and fragment
    (a tab, a tracking parameter) say nothing about which session it is, so they are dropped."""
    hosts = ", ".join(sorted(app_hosts))
    refused = InvalidInput(f"invalid session URL {_shown(text)}; {SESSION_HELP} (hosts: {hosts})")
    if not _VISIBLE_ASCII.fullmatch(text) or "\\" in text:
        raise refused
    try:
        parts = urlsplit(text)
        host = (parts.hostname or "").lower()
        port = parts.port
    except ValueError:
        raise refused from None
    segs = parts.path.split("/")
    if (parts.scheme.lower() != "https" or host not in app_hosts or port not in (None, 443)
            or parts.username is not None or parts.password is not None or "@" in parts.netloc
            or len(segs) != 3 or segs[1] != "sessions"):
        raise refused
    return segs[2]


def check_resource_id(value: str, what: str = "id") -> str:
    if not isinstance(value, str) or not RESOURCE_ID.fullmatch(value):
        raise InvalidInput(f"invalid {what} {_shown(str(value))}; allowed: 1-128 letters, digits, '-' or '_', "
                           "starting with a letter or digit")
    return value
