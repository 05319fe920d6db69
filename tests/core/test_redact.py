"""Redaction: the registered token and every token-like pattern are masked."""

from __future__ import annotations

from devin_plugin import redact


def test_redaction_masks_exact_value_and_patterns():
    redact.register_secret("cog_ExactSecret.With~Odd+Chars")
    text = redact.redact("a cog_ExactSecret.With~Odd+Chars b cog_other_123 Bearer xyz apk_user_k1")
    assert "ExactSecret" not in text and "other_123" not in text and "xyz" not in text and "k1" not in text
    assert text.count("***") == 4
