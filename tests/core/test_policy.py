"""The payload policy: allowlists, forbidden and gated fields, limits, the user's policy file."""

from __future__ import annotations

import json
import types

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
    ({"prompt": "x", "devin_mode": "turbo"}, "one of"),
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


# -- exact messages (pinned for mutation testing) ------------------------------------------------------

@pytest.mark.mutation
@pytest.mark.parametrize("payload,message", [
    ({}, "payload is missing the required field(s) prompt. Nothing was sent."),
    ({"prompt": 5}, "field prompt must be of type 'string'. Nothing was sent."),
    ({"prompt": "x", "title": "t" * 81}, "field title is longer than 80 characters (stricter than the API on "
     "purpose: the API sets no length; the title is this plugin's dedup key). Nothing was sent."),
    ({"prompt": ""}, "field prompt is shorter than 1 character(s). Nothing was sent."),
    ({"prompt": "x", "max_acu_limit": 0}, "field max_acu_limit must be at least 1. Nothing was sent."),
    ({"prompt": "x", "max_acu_limit": 10001}, "field max_acu_limit must be at most 10000. Nothing was sent."),
    ({"prompt": "x", "repos": ["a/b"] * 21}, "field repos has more than 20 items (stricter than the API on purpose: "
     "the API takes any string; here a repository is owner/name). Nothing was sent."),
    ({"prompt": "x", "tags": ["a", "a"]}, "field tags has duplicate items. Nothing was sent."),
    ({"prompt": "x", "devin_mode": "x"},
     "field devin_mode must be one of [\"normal\", \"fast\", \"lite\", \"ultra\", \"fusion\"]. Nothing was sent."),
    ({"prompt": "x", "tags": ["ok", "b c"]},
     "field tags/1 does not match the allowed pattern ^[A-Za-z0-9][A-Za-z0-9_.:=+/@-]{0,63}$ (stricter than the "
     "API on purpose: the API takes any string; a tag here is 1-64 of A-Z a-z 0-9 _ . : = + / @ -). Nothing was sent."),
    ({"prompt": "x", "structured_output_required": "yes"},
     "field structured_output_required must be of type 'boolean'. Nothing was sent."),
    # a pattern, length or count rule the API shares: no claim of being stricter
    ({"prompt": "x", "platform": "a b"},
     "field platform does not match the allowed pattern ^[A-Za-z0-9_-]{1,32}$. Nothing was sent."),
    ({"prompt": "x", "knowledge_ids": ["k"] * 201}, "field knowledge_ids has more than 200 items. Nothing was sent."),
])
def test_policy_messages(pol, payload, message):
    with pytest.raises(InvalidInput) as exc:
        pol.check("session_create", payload)
    assert exc.value.message == message


@pytest.mark.mutation
def test_policy_messages_for_fields(pol, tmp_path):
    with pytest.raises(PolicyError) as exc:
        pol.check("session_create", {"prompt": "x", "Title": "t"})
    assert exc.value.message.startswith("unknown field 'Title' for session_create (did you mean 'title'?); "
                                        "allowed fields: prompt, title, tags, repos, max_acu_limit, playbook_id,")
    assert "bypass_approval" not in exc.value.message and exc.value.message.endswith(
        "devin_mode, resumable, platform. Nothing was sent.")
    with pytest.raises(PolicyError) as exc:
        pol.check("session_create", {"prompt": "x", "zzz": 1})
    assert "(did you mean" not in exc.value.message
    with pytest.raises(PolicyError) as exc:
        pol.check("session_create", {"prompt": "x", "x" * 70: 1})
    assert "'" + "x" * 60 + "...'" in exc.value.message
    with pytest.raises(PolicyError) as exc:
        pol.check("session_create", {"prompt": "x", 5: 1})
    assert exc.value.message == "field names must be strings"
    with pytest.raises(PolicyError) as exc:
        pol.check("nope", {})
    assert exc.value.message == "internal: no policy for endpoint nope"
    with pytest.raises(InvalidInput, match="must be a JSON object"):
        pol.check("session_create", ["prompt"])
    with pytest.raises(PolicyError) as exc:
        pol.check("session_create", {"prompt": "x", "advanced_mode": "analyze"})
    assert exc.value.message.startswith("field 'advanced_mode' is gated (runs an advanced-mode session")
    cfg = tmp_path / "cfg"
    cfg.mkdir()
    (cfg / "policy.yaml").write_text("enable_gated_fields: [advanced_mode]\n")
    p2 = policy_mod.load(cfg)
    assert p2._visible("session_create")[-1] == "advanced_mode"
    assert "bypass_approval" not in p2._visible("session_create")
    assert "advanced_mode" in p2.schema("session_create")["properties"]
    assert "advanced_mode" not in pol.schema("session_create")["properties"]
    assert pol.fields("session_message") == ["message", "attachment_urls"]
    assert pol.limit("title_max_chars") == 80


@pytest.mark.mutation
def test_trailing_newlines_in_pattern_fields_only(pol):
    with pytest.raises(InvalidInput) as exc:
        pol.check("session_create", {"prompt": "x", "tags": ["ok", "ok2\n"]})
    assert exc.value.message == "field tags must not end with a line break. Nothing was sent."
    with pytest.raises(InvalidInput, match="field repos must not end"):
        pol.check("session_create", {"prompt": "x", "repos": ["a/b\n"]})
    with pytest.raises(InvalidInput, match="field playbook_id must not end"):
        pol.check("session_create", {"prompt": "x", "playbook_id": "pb\n"})
    assert pol.check("session_create", {"prompt": "ends with a newline\n", "title": "t"})
    assert pol.check("session_message", {"message": "m\n"})


@pytest.mark.mutation
def test_structured_output_schema_messages(pol):
    ok = {"type": "object", "properties": {"a": {"type": "string"}}}
    assert pol.check("session_create", {"prompt": "x", "structured_output_schema": ok})
    with pytest.raises(InvalidInput) as exc:
        pol.check("session_create", {"prompt": "x", "structured_output_schema": {"allOf": [{"$ref": "x" * 90}]}})
    assert exc.value.message == ("structured_output_schema must be self-contained; $ref '" + "x" * 80 + "' points "
                                 "outside the schema (only '#...' references). Nothing was sent.")
    with pytest.raises(InvalidInput) as exc:
        pol.check("session_create", {"prompt": "x", "structured_output_schema": {"properties": {"a": {"type": 5}}}})
    assert exc.value.message.startswith(
        "structured_output_schema is not a valid JSON Schema Draft 7 at properties/a/type:")
    with pytest.raises(InvalidInput) as exc:
        pol.check("session_create", {"prompt": "x", "structured_output_schema": {"type": "nonsense"}})
    assert exc.value.message.startswith("structured_output_schema is not a valid JSON Schema Draft 7 at type: anyOf")
    with pytest.raises(InvalidInput) as exc:
        pol.check("session_create", {"prompt": "x", "structured_output_schema": {"minLength": -1}})
    assert " at minLength: minimum 0. Nothing was sent." in exc.value.message
    exact = {"description": "x" * (65536 - len('{"description": ""}'))}
    assert pol.check("session_create", {"prompt": "x", "structured_output_schema": exact})
    with pytest.raises(InvalidInput) as exc:
        pol.check("session_create",
                  {"prompt": "x", "structured_output_schema": {"description": exact["description"] + "y"}})
    assert exc.value.message == "structured_output_schema is 65537 bytes; the limit is 65536. Nothing was sent."
    assert policy_mod._external_ref([{"a": [{"$ref": "#/x"}, {"$ref": "http://e/x"}]}]) == "http://e/x"
    assert policy_mod._external_ref({"$ref": 5}) is None


@pytest.mark.mutation
def test_short_value_and_describe_helpers():
    assert policy_mod._short_value("abc") == "'abc'"
    assert policy_mod._short_value(["é"]) == '["\\u00e9"]'
    assert policy_mod._short_value("x" * 100) == "'" + "x" * 79 + "..."
    assert policy_mod._short_value(list(range(40)))[-3:] == "..."
    assert len(policy_mod._short_value(list(range(40)))) == 83
    assert policy_mod._short_value("x" * 78) == "'" + "x" * 78 + "'"


@pytest.mark.mutation
@pytest.mark.parametrize("text,match", [
    ("- a\n", "must be a mapping with enable_gated_fields and/or limits"),
    ("enable_gated_fields: bypass_approval\n", "enable_gated_fields must be a list of field names"),
    ("enable_gated_fields: [1]\n", "enable_gated_fields must be a list of field names"),
    ("limits: [1]\n", "limits must be a mapping"),
    ("limits: {max_acu_limit: 0}\n", "limit max_acu_limit must be a positive integer"),
    ("limits: {max_acu_limit: true}\n", "limit max_acu_limit must be a positive integer"),
    ("limits: {max_acu_limit: 1.5}\n", "limit max_acu_limit must be a positive integer"),
    ("limits: {max_acu_limit: 10001}\n", "limit max_acu_limit can only be lowered (project limit 10000)"),
    ("{zz: 1, aa: 2}\n", "unknown keys ['aa', 'zz']; allowed: enable_gated_fields, limits"),
    ("a: [\n  b\n", "is not valid YAML at line 3"),
])
def test_user_policy_messages(tmp_path, text, match):
    from devin_plugin.errors import ConfigError
    cfg = tmp_path / "cfg"
    cfg.mkdir()
    (cfg / "policy.yaml").write_text(text)
    with pytest.raises(ConfigError) as exc:
        policy_mod.load(cfg)
    assert match in exc.value.message


@pytest.mark.mutation
def test_user_policy_limits_apply_and_size_cap(tmp_path):
    from devin_plugin.errors import ConfigError
    cfg = tmp_path / "cfg"
    cfg.mkdir()
    (cfg / "policy.yaml").write_text("limits: {max_acu_limit: 10000, title_max_chars: 1}\nenable_gated_fields: []\n")
    p = policy_mod.load(cfg)
    assert p.limit("max_acu_limit") == 10000 and p.limit("title_max_chars") == 1
    assert p.schema("session_create")["properties"]["title"]["maxLength"] == 1
    (cfg / "policy.yaml").write_text("#" * 65537)
    with pytest.raises(ConfigError, match="larger than 65536 bytes"):
        policy_mod.load(cfg)
    (cfg / "policy.yaml").write_text("")
    assert policy_mod.load(cfg).limit("max_acu_limit") == 10000


# -- partial checks, YAML errors and the rest of the words mutation testing found unpinned -------------

@pytest.mark.mutation
def test_partial_check_needs_no_required_fields(pol):
    assert pol.check("playbook_write", {"body": "b"}, partial=True) == {"body": "b"}
    assert pol.check("note_write", {"trigger": "t"}, partial=True) == {"trigger": "t"}
    with pytest.raises(InvalidInput) as e:
        pol.check("playbook_write", {"body": "b"})
    assert e.value.message == "payload is missing the required field(s) title. Nothing was sent."


@pytest.mark.mutation
def test_trailing_newline_check_skips_fields_without_a_schema(pol):
    assert pol._check_trailing_newlines("session_create", {"not_a_field": "x\n"}) is None


@pytest.mark.mutation
def test_policy_file_size_limit_is_inclusive(tmp_path):
    p = tmp_path / "p.yaml"
    p.write_bytes(b"a: " + b"x" * (policy_mod.MAX_POLICY_BYTES - 3))
    assert len(policy_mod._yaml_load(p)["a"]) == policy_mod.MAX_POLICY_BYTES - 3
    p.write_bytes(b"a: " + b"x" * (policy_mod.MAX_POLICY_BYTES - 2))
    with pytest.raises(ConfigError, match="is larger than 65536 bytes"):
        policy_mod._yaml_load(p)


@pytest.mark.mutation
def test_yaml_error_without_a_mark_has_no_line(tmp_path):
    p = tmp_path / "p.yaml"
    p.write_bytes(b"a: \x07")
    with pytest.raises(ConfigError) as e:
        policy_mod._yaml_load(p)
    assert e.value.message == f"policy file {p} is not valid YAML"


@pytest.mark.mutation
def test_policy_messages_are_exact(pol):
    with pytest.raises(InvalidInput) as e:
        pol.check("playbook_write", {})
    assert e.value.message == "payload is missing the required field(s) title, body. Nothing was sent."
    with pytest.raises(InvalidInput) as e:
        pol.check("session_create", ["p"])
    assert e.value.message == "the payload must be a JSON object"
    with pytest.raises(policy_mod.PolicyError) as e:
        pol.check("session_create", {"prompt": "p", "session_secrets": []})
    assert e.value.message == (
        "field 'session_secrets' is forbidden and is never sent: impersonation (create_as_user_id, "
        "message_as_user_id) and inline secrets (session_secrets) are not allowed; pass "
        "stored secrets by id with --secret-id. Nothing was sent.")
    with pytest.raises(policy_mod.PolicyError) as e:
        pol.check("session_create", {"zzzz": 1})
    assert e.value.message == (f"unknown field 'zzzz' for session_create; allowed fields: "
                               f"{', '.join(pol._visible('session_create'))}. Nothing was sent.")
    with pytest.raises(InvalidInput) as e:
        pol._check_output_schema(1)
    assert e.value.message.startswith("structured_output_schema is not a valid JSON Schema Draft 7 at (root): ")


@pytest.mark.mutation
def test_describe_rules_without_a_specific_text():
    err = types.SimpleNamespace(absolute_path=["a", 0], validator="additionalProperties", validator_value=False,
                                instance={})
    assert policy_mod._describe(err) == "field a/0 has fields that are not allowed"
    err.validator = "const"
    assert policy_mod._describe(err) == "field a/0 fails the const rule"


@pytest.mark.mutation
def test_cut_lengths_of_values_and_keys():
    assert policy_mod._short_value("a" * 78) == repr("a" * 78)
    assert policy_mod._short_value("a" * 79) == repr("a" * 79)[:80] + "..."
    assert policy_mod._show_key("k" * 60) == ascii("k" * 60)
    assert policy_mod._show_key("k" * 61) == ascii("k" * 60 + "...")


@pytest.mark.mutation
def test_user_policy_messages_list_every_name(tmp_path):
    base = policy_mod._yaml_load(policy_mod.POLICY_FILE)
    p = tmp_path / "policy.yaml"
    p.write_text("enable_gated_fields: [session_secrets]\n")
    with pytest.raises(ConfigError) as e:
        policy_mod._user_policy(tmp_path, base)
    assert e.value.message.endswith(f"(forbidden: {', '.join(policy_mod.FORBIDDEN_FIELDS)})")
    p.write_text("enable_gated_fields: [nope]\n")
    with pytest.raises(ConfigError) as e:
        policy_mod._user_policy(tmp_path, base)
    assert e.value.message.endswith(f"gated fields: {', '.join(base['gated_fields'])}")
    assert len(base["gated_fields"]) > 1 and len(base["limits"]) > 1
    p.write_text("limits: {nope: 1}\n")
    with pytest.raises(ConfigError) as e:
        policy_mod._user_policy(tmp_path, base)
    assert e.value.message == f"{p}: unknown limit 'nope'; known: {', '.join(base['limits'])}"


@pytest.mark.mutation
def test_schema_is_a_closed_2020_12_object(pol):
    s = pol.schema("session_message")
    assert {k: v for k, v in s.items() if k != "properties"} == {
        "$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object",
        "additionalProperties": False, "required": ["message"]}


NESTED_TOKEN = "cog_PolicyNestedProbe_9876543210fedcba"


@pytest.mark.mutation
@pytest.mark.parametrize("field,value", [
    ("tags", ["ok", NESTED_TOKEN]),
    ("repos", ["a/b", "owner/" + NESTED_TOKEN]),
    ("structured_output_schema", {"type": "object", "properties": {"a": {"description": "x " + NESTED_TOKEN}}}),
    ("prompt", "use " + NESTED_TOKEN),
])
def test_a_token_inside_a_list_or_object_names_the_field_that_holds_it(pol, field, value):
    from devin_plugin import redact
    redact.register_secret(NESTED_TOKEN)
    payload = {"prompt": "do it", field: value}
    with pytest.raises(PolicyError) as exc:
        pol.check("session_create", payload)
    assert f"field {field!r} holds the configured Devin token" in exc.value.message
    assert NESTED_TOKEN not in exc.value.message and "Nothing was sent." in exc.value.message
