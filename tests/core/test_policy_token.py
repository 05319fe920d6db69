"""The policy refuses a payload that holds the configured token, wherever it sits and however it is spelled."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from devin_plugin import policy as policy_mod
from devin_plugin import redact
from devin_plugin.errors import PolicyError

TOKEN = "cog_PolicyTokenProbe_0123456789abcdef"


@pytest.fixture(scope="module")
def pol(tmp_path_factory):
    redact.register_secret(TOKEN)
    return policy_mod.load(tmp_path_factory.mktemp("cfg"))


def spellings() -> list[str]:
    full_width = "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in TOKEN)
    return [TOKEN, TOKEN[4:], TOKEN[:10] + "\u200b" + TOKEN[10:], TOKEN[:6] + "\u2060\u200d" + TOKEN[6:], full_width]


def payload_with(where: str, text: str) -> dict:
    """A create payload carrying `text` in one place: the prompt, the title, a tag or a nested schema."""
    payload: dict = {"prompt": "do the thing"}
    if where == "prompt":
        payload["prompt"] = f"use {text} please"
    elif where == "title":
        payload["title"] = f"t {text}"[:80]
    elif where == "tags":
        payload["tags"] = ["ok", text]
    else:
        payload["structured_output_schema"] = {"type": "object", "description": text}
    return payload


NAMES = ["exact", "secret-part", "zero-width", "joiners", "full-width"]
CASES = [(where, name, spelled) for where in ("prompt", "title", "tags", "structured")
         for name, spelled in zip(NAMES, spellings())
         if where != "tags" or name in ("exact", "secret-part")]  # the tag pattern refuses the others first


@pytest.mark.parametrize("where,name,spelled", CASES, ids=[f"{w}-{n}" for w, n, _ in CASES])
def test_the_token_in_any_field_is_refused(pol, where, name, spelled):
    with pytest.raises(PolicyError) as exc:
        pol.check("session_create", payload_with(where, spelled))
    assert "holds the configured Devin token" in exc.value.message
    assert TOKEN not in exc.value.message and TOKEN[4:] not in exc.value.message


def test_the_field_is_named_and_a_message_is_covered_too(pol):
    with pytest.raises(PolicyError) as exc:
        pol.check("session_message", {"message": "a " + TOKEN})
    assert exc.value.message == ("field 'message' holds the configured Devin token; a secret is never sent inline "
                                 "(store it in Devin and pass its id with --secret-id). Nothing was sent.")


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=200))
def test_text_without_the_token_is_never_refused_for_it(pol, text):
    if redact.holds_secret(text):
        return
    try:
        pol.check("session_create", {"prompt": text or "x"})
    except PolicyError as err:
        assert "configured Devin token" not in err.message
    except Exception:  # other validation (length, control characters) is not this test's concern
        pass


def test_holds_secret_needs_a_registered_secret():
    assert redact.holds_secret("") is False
    assert redact.holds_secret("cog_SomethingElseEntirely123") is False


@pytest.mark.parametrize("where", ["prompt", "title", "structured"])  # a tag: its pattern refuses it first
def test_text_that_is_not_unicode_is_refused_naming_the_field(pol, where):
    """Attacker review, F3: a lone surrogate (what a non-UTF-8 argument becomes) used to pass the policy and
    fail at encoding, after the dedup reads, as 'NaN or Infinity in the body'."""
    bad = "fix \udcff it"
    with pytest.raises(PolicyError) as exc:
        pol.check("session_create", payload_with(where, bad))
    name = "structured_output_schema" if where == "structured" else where
    assert exc.value.message == (f"field {name!r} holds text that is not valid Unicode (a lone surrogate, as an "
                                 "argument that is not UTF-8 gives); give it as UTF-8 text. Nothing was sent.")
