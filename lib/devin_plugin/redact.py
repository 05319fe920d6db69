"""Secret redaction applied to every string that leaves the process (output, errors, audit)."""

from __future__ import annotations

import re

_PATTERNS = [
    re.compile(r"cog_[A-Za-z0-9_\-.~+/=]+"),
    re.compile(r"apk_(?:user_)?[A-Za-z0-9_\-.~+/=]+"),
    # Claude's own keys and OAuth tokens (sk-ant-api03-..., sk-ant-oat01-...): never the plugin's to print.
    re.compile(r"sk-ant-[A-Za-z0-9_\-]{8,}"),
    re.compile(r"(?i)(bearer|basic)\s+[A-Za-z0-9_\-.~+/=]+"),
]
MASK = "***"

_secrets: set[str] = set()


def register_secret(value: str | None) -> None:
    """Remember an exact secret value so that it is masked wherever it shows up."""
    # At least 8 characters: a bare prefix such as "cog_" (a refused token) must not become a mask that
    # eats the start of other tokens and so stops the patterns below from masking the rest of them.
    if value and len(value) >= 8:
        _secrets.add(value)
        # The secret part alone: an echo with the prefix altered (COG_, a full-width ｃｏｇ＿) still shows it.
        if value.startswith("cog_") and len(value) >= 12:
            _secrets.add(value[4:])


def holds_secret(text: str) -> bool:
    """Whether `text` holds a registered secret (the configured token or its secret part), also when
    invisible characters split it or full-width look-alikes spell it."""
    if not _secrets or not text:
        return False
    import unicodedata
    folded = "".join(c for c in unicodedata.normalize("NFKC", text) if unicodedata.category(c) != "Cf")
    return any(s in text or s in folded for s in _secrets)


def redact(text: str) -> str:
    """Mask known secrets and token-shaped strings. Text with compatibility characters (full-width
    letters and the like) that hide one is first normalised (NFKC), so the look-alike is masked too.
    Callers that print sanitise first (output.safe): an invisible character inside a token must be
    gone before this looks."""
    if not text:
        return text
    if not text.isascii():
        import unicodedata
        folded = unicodedata.normalize("NFKC", text)
        if folded != text and (any(s in folded for s in _secrets) or any(p.search(folded) for p in _PATTERNS)):
            text = folded
    for secret in sorted(_secrets, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, MASK)
    for pat in _PATTERNS:
        if pat.pattern.startswith("(?i)"):
            text = pat.sub(lambda m: m.group(1) + " " + MASK, text)
        else:
            text = pat.sub(MASK, text)
    return text
