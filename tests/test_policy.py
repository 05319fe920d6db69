"""The payload policy: allowlists, forbidden and gated fields, limits, the user's policy file."""

from __future__ import annotations

import json

import pytest

from devin_plugin import policy as policy_mod
from devin_plugin.errors import ConfigError, InvalidInput, PolicyError
from devin_plugin.fieldnames import FORBIDDEN_FIELDS, canonical


@pytest.fixture
def pol(tmp_path):
    return policy_mod.load(tmp_path / "no-config")


def test_every_shipped_schema_is_a_valid_schema(pol):
    from jsonschema import Draft202012Validator
    for endpoint in pol.base["endpoints"]:
        Draft202012Validator.check_schema(pol.schema(endpoint))


@pytest.mark.parametrize("spelling", [
    "create_as_user_id", "Create_As_User_Id", "CREATE-AS-USER-ID", " create_as_user_id ", "create as user id",
    "createAsUserId", "create\u200b_as_user_id", "ｃｒｅａｔｅ＿ａｓ＿ｕｓｅｒ＿ｉｄ", "session_secrets",
    "SessionSecrets", "session.secrets", "message_as_user_id", "Message-As-User-ID"])
def test_forbidden_fields_in_any_spelling(pol, spelling):
    for endpoint in ("session_create", "session_message"):
        with pytest.raises(PolicyError, match="forbidden"):
            pol.check(endpoint, {"prompt": "x", "message": "x", spelling: "u-1"})


def test_forbidden_value_is_never_echoed(pol):
    with pytest.raises(PolicyError) as exc:
        pol.check("session_create", {"prompt": "x", "session_secrets": [{"key": "K", "value": "TOPSECRET"}]})
    assert "TOPSECRET" not in exc.value.message


def test_unknown_fields_are_refused_not_dropped(pol):
    with pytest.raises(PolicyError, match="allowed fields: prompt, title"):
        pol.check("session_create", {"prompt": "x", "idempotent": True})
    with pytest.raises(PolicyError, match="did you mean 'title'"):
        pol.check("session_create", {"prompt": "x", "Title": "t"})


def test_gated_fields_need_the_users_policy(tmp_path):
    pol = policy_mod.load(tmp_path / "c1")
    with pytest.raises(PolicyError, match="gated"):
        pol.check("session_create", {"prompt": "x", "bypass_approval": True})
    cfg = tmp_path / "c2"
    cfg.mkdir()
    (cfg / "policy.yaml").write_text("enable_gated_fields: [bypass_approval]\nlimits: {max_acu_limit: 5}\n")
    pol2 = policy_mod.load(cfg)
    assert pol2.check("session_create", {"prompt": "x", "bypass_approval": True})
    with pytest.raises(PolicyError, match="gated"):
        pol2.check("session_create", {"prompt": "x", "advanced_mode": "analyze"})
    with pytest.raises(InvalidInput, match="at most 5"):
        pol2.check("session_create", {"prompt": "x", "max_acu_limit": 6})


@pytest.mark.parametrize("text,match", [
    ("enable_gated_fields: [session_secrets]\n", "forbidden"),
    ("enable_gated_fields: [Create-As-User-Id]\n", "forbidden"),
    ("enable_gated_fields: [title]\n", "not a gated field"),
    ("limits: {max_acu_limit: 1000000}\n", "only be lowered"),
    ("limits: {nope: 1}\n", "unknown limit"),
    ("allow_forbidden: true\n", "unknown keys"),
    ("enable_gated_fields: [\n", "not valid YAML"),
])
def test_user_policy_cannot_loosen(tmp_path, text, match):
    cfg = tmp_path / "cfg"
    cfg.mkdir()
    (cfg / "policy.yaml").write_text(text)
    with pytest.raises(ConfigError, match=match):
        policy_mod.load(cfg)


@pytest.mark.parametrize("payload,match", [
    ({"prompt": ""}, "shorter"),
    ({"prompt": "x", "title": "t" * 81}, "longer than 80"),
    ({"prompt": "x", "title": "a\nb"}, "pattern"),
    ({"prompt": "x", "title": "ab\n"}, "line break"),
    ({"prompt": "x", "max_acu_limit": 0}, "at least 1"),
    ({"prompt": "x", "max_acu_limit": True}, "type"),
    ({"prompt": "x", "max_acu_limit": 1.5}, "type"),
    ({"prompt": "x", "repos": ["not-a-repo"]}, "pattern"),
    ({"prompt": "x", "repos": ["a/b/c"]}, "pattern"),
    ({"prompt": "x", "tags": ["ok", "ok"]}, "duplicate"),
    ({"prompt": "x", "tags": ["has space"]}, "pattern"),
    ({"prompt": "x", "attachment_urls": ["http://insecure.example/a"]}, "pattern"),
    ({"prompt": "x", "devin_mode": "ultra"}, "one of"),
    ({"prompt": "x", "playbook_id": "../x"}, "pattern"),
    ({"prompt": "x", "structured_output_schema": {"type": "nonsense"}}, "Draft 7"),
    ({"prompt": "x", "structured_output_schema": {"properties": {"a": {"$ref": "https://x/s.json"}}}},
     "self-contained"),
    ({"prompt": "x", "structured_output_schema": {"description": "x" * 70000}}, "limit is 65536"),
])
def test_bad_values_are_refused(pol, payload, match):
    with pytest.raises(InvalidInput, match=match):
        pol.check("session_create", payload)


def test_good_payload_passes(pol):
    payload = {"prompt": "Do it", "title": "Do it", "tags": ["a", "b-1"], "repos": ["acme/web"],
               "max_acu_limit": 5, "knowledge_ids": None, "secret_ids": [], "devin_mode": "fast",
               "attachment_urls": ["https://app.devin.ai/attachments/x/y.txt"],
               "structured_output_schema": {"type": "object", "definitions": {"a": {"type": "string"}},
                                            "properties": {"a": {"$ref": "#/definitions/a"}}}}
    assert pol.check("session_create", payload) == payload


def test_error_messages_never_echo_values(pol):
    with pytest.raises(InvalidInput) as exc:
        pol.check("session_create", {"prompt": "x", "max_acu_limit": "cog_LEAKME123456"})
    assert "LEAKME" not in exc.value.message


def test_forbidden_list_has_one_source():
    data = json.loads((policy_mod.POLICY_DIR / "forbidden.json").read_text())
    assert tuple(data["forbidden_fields"]) == FORBIDDEN_FIELDS
    text = (policy_mod.POLICY_FILE).read_text()
    for name in FORBIDDEN_FIELDS:
        assert canonical(name) not in canonical(text.split("endpoints:")[1])
