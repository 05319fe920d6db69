"""Session and resource ids: the three accepted session id forms, and everything else refused before
any request (the generated cases are in tests/system/test_properties.py)."""

from __future__ import annotations

import pytest

from devin_plugin import config, ids
from devin_plugin.errors import InvalidInput

HEX = "0123456789abcdef" * 2


@pytest.mark.parametrize("raw", [
    f"devin-{HEX}", HEX, HEX.upper(), f"DEVIN-{HEX}".replace("DEVIN", "devin"),
    f"https://app.devin.ai/sessions/{HEX}", f"  devin-{HEX} ", f"https://app.devin.ai/sessions/{HEX}?tab=x#y",
    f"https://app.devin.ai/sessions/{HEX}?token=x", f"https://app.devin.ai/sessions/{HEX}#", f"https://app.devin.ai/sessions/{HEX}?"])
def test_session_id_forms_normalise(raw):
    assert ids.normalize_session_id(raw) == f"devin-{HEX}"


@pytest.mark.parametrize("raw", [
    "", "devin-", f"devin-{HEX}0", HEX[:-1], f"../{HEX}", f"{HEX}/../x", f"devin-{HEX}?x=1",
    f"devin-{HEX}#f", f"devin-{HEX[:16]}\n{HEX[16:]}", f"devin-{HEX}%2e", "a" * 400,
    f"http://app.devin.ai/sessions/{HEX}", f"https://evil.example/sessions/{HEX}",
    f"https://app.devin.ai.evil.example/sessions/{HEX}", f"https://user@app.devin.ai/sessions/{HEX}",
    f"https://app.devin.ai/x/sessions/{HEX}",
    f"https://app.devin.ai:8443/sessions/{HEX}", "ｄｅｖｉｎ-" + HEX])
def test_bad_session_ids_are_refused(raw):
    with pytest.raises(InvalidInput) as exc:
        ids.normalize_session_id(raw)
    assert "allowed" in exc.value.message


def test_enterprise_session_url_only_with_its_api_base():
    base = config.parse_base_url("https://api.acme.devinenterprise.com")
    url = f"https://app.acme.devinenterprise.com/sessions/{HEX}"
    assert ids.normalize_session_id(url, base.app_hosts()) == f"devin-{HEX}"
    with pytest.raises(InvalidInput):
        ids.normalize_session_id(url)


@pytest.mark.audit("H4")
@pytest.mark.parametrize("bad", ["a" * 33, HEX + "0", "devin-" + HEX * 2, "x" * 301, HEX * 10])
def test_H4_session_ids_have_an_upper_bound(bad):
    """H4: exactly 32 hex digits; anything longer (and any input over 300 characters) is refused."""
    with pytest.raises(InvalidInput):
        ids.normalize_session_id(bad)
    with pytest.raises(InvalidInput):
        ids.check_resource_id("r" * 129)


# -- the web URL with a query or a fragment (issue 17): the id is still the only thing taken from it ----------

@pytest.mark.parametrize("raw", [
    f"https://app.devin.ai/sessions/{HEX}/?tab=x",            # a trailing segment
    f"https://app.devin.ai/sessions/{HEX}x?tab=x",
    f"https://app.devin.ai/sessions/?id={HEX}",               # the id in the query is not the path's
    f"https://app.devin.ai/sessions#/{HEX}",
    f"https://app.devin.ai/sessions/{HEX}?tab=\u202ex",       # bidi control in the query
    f"https://app.devin.ai/sessions/{HEX}#\u200b",            # zero-width space in the fragment
    f"https://app.devin.ai/sessions/{HEX}?tab=a b",           # a space
    f"https://app.devin.ai/sessions/{HEX}?tab=\x1b[31m",      # an escape sequence
    f"https://\u0430pp.devin.ai/sessions/{HEX}?tab=x",        # Cyrillic a in the host
    f"https://app.devin.ai/sessions/{HEX[:31]}\u0430?tab=x",  # Cyrillic a in the id
    f"https://app.devin.ai/sessions/{HEX}\uff1ftab=x",        # a full-width question mark
    f"https://app.devin.ai\\@evil.example/sessions/{HEX}?x",  # a backslash before the host's end
    f"https://app.devin.ai@evil.example/sessions/{HEX}?x",
    f"https://evil.example/sessions/{HEX}?next=https://app.devin.ai/sessions/{HEX}",
    f"https://app.devin.ai/sessions/{HEX}?" + "x" * 300,      # over the length cap
    f"--json https://app.devin.ai/sessions/{HEX}",
    "-" + HEX, "last", "LAST", " l\u0430st", "last\u200b", "--last"])
def test_hostile_session_urls_and_lookalikes_are_refused(raw):
    with pytest.raises(InvalidInput) as exc:
        ids.normalize_session_id(raw)
    assert "allowed" in exc.value.message and "last" in exc.value.message


@pytest.mark.parametrize("raw,last", [("last", True), ("  last ", True), ("LAST", False), ("Last", False),
                                      ("l\u0430st", False), ("last\u200b", False), ("\u200blast", False),
                                      ("ｌａｓｔ", False), ("--last", False), ("last/", False), ("", False)])
def test_last_is_the_exact_word_only(raw, last):
    assert ids.is_last(raw) is last
