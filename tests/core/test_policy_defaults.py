"""Caps by default: the user's policy file can give every create an ACU cap (create_defaults) and
require one (require_max_acu_limit); Policy.apply_create_defaults fills, never overrides, and refuses."""

from __future__ import annotations

import pytest

from devin_plugin import policy as policy_mod
from devin_plugin.errors import ConfigError, PolicyError


def user_policy(tmp_path, text: str):
    cfg = tmp_path / "cfg"
    cfg.mkdir(exist_ok=True)
    (cfg / "policy.yaml").write_text(text)
    return cfg


def load(tmp_path, text: str):
    return policy_mod.load(user_policy(tmp_path, text))


# -- a hostile or mistaken policy file is a config error naming the file and the key ----------------

@pytest.mark.parametrize("text,words", [
    ("create_defaults: {max_acu_limit: 0}\n", "create_defaults.max_acu_limit must be a positive integer"),
    ("create_defaults: {max_acu_limit: -5}\n", "create_defaults.max_acu_limit must be a positive integer"),
    ("create_defaults: {max_acu_limit: true}\n", "create_defaults.max_acu_limit must be a positive integer"),
    ("create_defaults: {max_acu_limit: 2.5}\n", "create_defaults.max_acu_limit must be a positive integer"),
    ("create_defaults: {max_acu_limit: '20'}\n", "create_defaults.max_acu_limit must be a positive integer"),
    ("create_defaults: {max_acu_limit: .nan}\n", "create_defaults.max_acu_limit must be a positive integer"),
    ("create_defaults: {max_acu_limit: null}\n", "create_defaults.max_acu_limit must be a positive integer"),
    ("create_defaults: {max_acu_limit: 10001}\n",
     "create_defaults.max_acu_limit 10001 is above the limit max_acu_limit (10000)"),
    ("limits: {max_acu_limit: 10}\ncreate_defaults: {max_acu_limit: 11}\n",
     "create_defaults.max_acu_limit 11 is above the limit max_acu_limit (10)"),
    ("create_defaults: {bypass_approval: true}\n", "create_defaults.bypass_approval is not a field with a default"),
    ("create_defaults: {session_secrets: []}\n", "create_defaults.session_secrets is not a field with a default"),
    ("create_defaults: [max_acu_limit, 20]\n", "create_defaults must be a mapping"),
    ("create_defaults: 20\n", "create_defaults must be a mapping"),
    ("require_max_acu_limit: yes please\n", "require_max_acu_limit must be true or false"),
    ("require_max_acu_limit: 1\n", "require_max_acu_limit must be true or false"),
    ("require_max_acu_limit: 'true'\n", "require_max_acu_limit must be true or false"),
    ("default_max_acu_limit: 20\n", "unknown keys ['default_max_acu_limit']; allowed: enable_gated_fields, limits, "
                                    "create_defaults, require_max_acu_limit"),
])
def test_bad_defaults_are_config_errors_naming_the_file_and_the_key(tmp_path, text, words):
    cfg = user_policy(tmp_path, text)
    with pytest.raises(ConfigError) as exc:
        policy_mod.load(cfg)
    assert exc.value.exit_code == 3
    assert exc.value.message.startswith(str(cfg / "policy.yaml") + ": ")
    assert words in exc.value.message


def test_a_default_at_the_limit_is_accepted(tmp_path):
    pol = load(tmp_path, "limits: {max_acu_limit: 10}\ncreate_defaults: {max_acu_limit: 10}\n")
    assert pol.create_defaults == {"max_acu_limit": 10} and pol.require_max_acu_limit is False


# -- filling -------------------------------------------------------------------------------------------

def test_without_a_user_file_nothing_is_filled_or_required(tmp_path):
    pol = policy_mod.load(tmp_path / "no-config")
    payload = {"prompt": "p"}
    assert pol.apply_create_defaults(payload) == ({"prompt": "p"}, [])
    empty = load(tmp_path, "")
    assert empty.apply_create_defaults({"prompt": "p"}) == ({"prompt": "p"}, [])


def test_the_default_cap_fills_an_absent_cap_and_says_so(tmp_path):
    pol = load(tmp_path, "create_defaults: {max_acu_limit: 20}\n")
    payload = {"prompt": "p", "title": "t"}
    out, notes = pol.apply_create_defaults(payload)
    assert out == {"prompt": "p", "title": "t", "max_acu_limit": 20}
    assert payload == {"prompt": "p", "title": "t"}  # the caller's dict is left alone
    (note,) = notes
    assert "max_acu_limit set to 20" in note and str(tmp_path / "cfg" / "policy.yaml") in note
    assert pol.check("session_create", out) == out
    out, notes = pol.apply_create_defaults({"prompt": "p", "max_acu_limit": None})
    assert out["max_acu_limit"] == 20 and len(notes) == 1  # null is no cap: filled


@pytest.mark.parametrize("given", [5, 500, 10000, 0, -1, "lots", True, 2.5])
def test_a_given_cap_is_never_overridden(tmp_path, given):
    """Even a value the check will refuse stays as given, so the refusal names what the user typed."""
    pol = load(tmp_path, "create_defaults: {max_acu_limit: 20}\nrequire_max_acu_limit: true\n")
    out, notes = pol.apply_create_defaults({"prompt": "p", "max_acu_limit": given})
    assert out["max_acu_limit"] is given and notes == []


# -- requiring -----------------------------------------------------------------------------------------

def test_a_required_cap_missing_is_refused_naming_the_option_and_the_file(tmp_path):
    pol = load(tmp_path, "require_max_acu_limit: true\n")
    for payload in ({"prompt": "p"}, {"prompt": "p", "max_acu_limit": None}):
        with pytest.raises(PolicyError) as exc:
            pol.apply_create_defaults(payload)
        err = exc.value
        assert err.exit_code == 2 and err.kind == "policy"
        assert "--max-acu" in err.message and "max_acu_limit" in err.message
        assert str(tmp_path / "cfg" / "policy.yaml") in err.message and "Nothing was sent." in err.message
    assert pol.apply_create_defaults({"prompt": "p", "max_acu_limit": 3}) == ({"prompt": "p", "max_acu_limit": 3}, [])


def test_a_required_cap_is_met_by_the_default(tmp_path):
    pol = load(tmp_path, "create_defaults: {max_acu_limit: 15}\nrequire_max_acu_limit: true\n")
    out, notes = pol.apply_create_defaults({"prompt": "p"})
    assert out["max_acu_limit"] == 15 and len(notes) == 1


def test_require_false_is_the_same_as_absent(tmp_path):
    pol = load(tmp_path, "require_max_acu_limit: false\n")
    assert pol.apply_create_defaults({"prompt": "p"}) == ({"prompt": "p"}, [])


def test_the_refusal_reads_in_the_users_words_through_the_cli(tmp_path):
    """cli.in_user_words must not garble it (it rewrites 'field max_acu_limit' and leading field names)."""
    from devin_plugin import cli
    pol = load(tmp_path, "require_max_acu_limit: true\n")
    with pytest.raises(PolicyError) as exc:
        pol.apply_create_defaults({"prompt": "p"})
    assert cli.in_user_words(exc.value.message, {"prompt": "--prompt"}) == exc.value.message


def test_the_defaults_keep_the_other_keys_working(tmp_path):
    pol = load(tmp_path, "enable_gated_fields: [bypass_approval]\nlimits: {max_acu_limit: 50}\n"
                         "create_defaults: {max_acu_limit: 25}\nrequire_max_acu_limit: true\n")
    assert pol.limit("max_acu_limit") == 50 and "bypass_approval" in pol.enabled_gated
    out, _ = pol.apply_create_defaults({"prompt": "p", "bypass_approval": True})
    assert pol.check("session_create", out) == {"prompt": "p", "bypass_approval": True, "max_acu_limit": 25}


def test_the_shipped_policy_documents_the_keys():
    header = policy_mod.POLICY_FILE.read_text().split("\nversion:", 1)[0]
    for words in ("create_defaults: {max_acu_limit: 20}", "require_max_acu_limit: true"):
        assert words in header


# -- word for word, and the edges (mutation testing) ---------------------------------------------------------

@pytest.mark.mutation
@pytest.mark.parametrize("text,tail", [
    ("create_defaults: [1]\n", "create_defaults must be a mapping, e.g. create_defaults: {max_acu_limit: 20}"),
    ("create_defaults: {" + "x" * 80 + ": 1}\n",
     "create_defaults." + "x" * 64 + " is not a field with a default; known: max_acu_limit"),
    ("create_defaults: {max_acu_limit: 0}\n", "create_defaults.max_acu_limit must be a positive integer"),
    ("create_defaults: {max_acu_limit: 10001}\n",
     "create_defaults.max_acu_limit 10001 is above the limit max_acu_limit (10000); a default must be within it"),
    ("require_max_acu_limit: 2\n", "require_max_acu_limit must be true or false"),
])
def test_defaults_errors_word_for_word(tmp_path, text, tail):
    cfg = user_policy(tmp_path, text)
    with pytest.raises(ConfigError) as exc:
        policy_mod.load(cfg)
    assert exc.value.message == f"{cfg / 'policy.yaml'}: {tail}"


@pytest.mark.mutation
def test_the_smallest_and_the_largest_default_are_accepted(tmp_path):
    assert load(tmp_path, "create_defaults: {max_acu_limit: 1}\n").create_defaults == {"max_acu_limit": 1}
    assert load(tmp_path, "create_defaults: {max_acu_limit: 10000}\n").create_defaults == {"max_acu_limit": 10000}


@pytest.mark.mutation
def test_the_file_its_defaults_and_its_requirement_reach_the_policy(tmp_path):
    pol = load(tmp_path, "create_defaults: {max_acu_limit: 20}\nrequire_max_acu_limit: true\n")
    path = str(tmp_path / "cfg" / "policy.yaml")
    assert pol.create_defaults == {"max_acu_limit": 20} and pol.require_max_acu_limit is True
    assert pol.user_file == path
    out, notes = pol.apply_create_defaults({"prompt": "p", "max_acu_limit": None})
    assert out == {"prompt": "p", "max_acu_limit": 20}
    assert notes == [f"max_acu_limit set to 20 from create_defaults in your policy file {path}"]
    out, notes = pol.apply_create_defaults({"prompt": "p", "max_acu_limit": 5})
    assert out == {"prompt": "p", "max_acu_limit": 5} and notes == []
    bare = load(tmp_path, "limits: {max_acu_limit: 50}\n")
    assert bare.create_defaults == {} and bare.require_max_acu_limit is False
    assert bare.apply_create_defaults({"prompt": "p"}) == ({"prompt": "p"}, [])


@pytest.mark.mutation
def test_a_required_cap_refusal_word_for_word(tmp_path):
    pol = load(tmp_path, "require_max_acu_limit: true\n")
    path = tmp_path / "cfg" / "policy.yaml"
    assert pol.apply_create_defaults({"prompt": "p", "max_acu_limit": 3}) == ({"prompt": "p", "max_acu_limit": 3}, [])
    for payload in ({"prompt": "p"}, {"prompt": "p", "max_acu_limit": None}):
        with pytest.raises(PolicyError) as exc:
            pol.apply_create_defaults(payload)
        assert exc.value.message == (
            f"your policy file {path} requires an ACU cap on every session (require_max_acu_limit: true): give "
            "--max-acu N (max_acu_limit in a payload or an MCP call), or set create_defaults: {max_acu_limit: N} "
            "in that file. Nothing was sent.")
