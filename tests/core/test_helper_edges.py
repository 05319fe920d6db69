"""Edges of the guarded helper that the outcome tests do not pin: what goes on the wire, which status
an error carries, which retries happen, what the audit line names, and the exact words an agent reads
(which permission, when to retry, what was sent). In process against the emulator, so mutation testing
(tools/mutation.py) sees them; the dedup edges are in tests/core/test_dedup.py."""

from __future__ import annotations

import io
import json
import time

import pytest
import requests
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError, ProtocolError

import devin_plugin
from devin_plugin import config, http
from devin_plugin.errors import ApiError, AuthError, InvalidInput, NetworkError, NotFound, RateLimited, UnknownOutcome
from devin_plugin.http import backoff_delay, parse_retry_after

SESSIONS = "/organizations/{org_id}/sessions"
SESSION = SESSIONS + "/{devin_id}"
R_SESSIONS = "/v3" + SESSIONS
R_SESSION = "/v3" + SESSION
R_ATTACH = "/v3/organizations/{org_id}/attachments"
SID = "devin-" + "ab" * 16


@pytest.fixture
def c(emu, tmp_path):
    env = {"DEVIN_API_BASE": emu.url, "DEVIN_SERVICE_USER_TOKEN": emu.token, "DEVIN_ORG_ID": emu.org_id,
           "XDG_STATE_HOME": str(tmp_path / "state"), "XDG_CONFIG_HOME": str(tmp_path / "cfg")}
    return http.Client(config.load(env), sleep=lambda s: None, deadline_s=30)


def audit(tmp_path):
    path = tmp_path / "state" / "devin-plugin" / "audit.jsonl"
    return [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []


@pytest.mark.mutation
def test_json_body_on_the_wire(emu, c):
    c.call("POST", SESSIONS, body={"prompt": "é ünïcode"}, safe_to_repeat=False)
    (e,) = emu.requests("POST", R_SESSIONS)
    assert e.headers["Content-Type"] == "application/json" and e.headers["Accept"] == "application/json"
    assert e.headers["User-Agent"] == "devin-plugin/" + devin_plugin.__version__
    assert e.headers["Authorization"] == "Bearer " + emu.token
    assert e.body == '{"prompt": "é ünïcode"}'.encode()
    with pytest.raises(InvalidInput, match="NaN or Infinity"):
        c.call("POST", SESSIONS, body={"max_acu_limit": float("nan")}, safe_to_repeat=False)
    assert len(emu.requests("POST", R_SESSIONS)) == 1


@pytest.mark.mutation
def test_upload_is_multipart_and_rewound_on_a_retry(emu, c):
    emu.set_fault("POST", R_ATTACH, "status", status=429)
    fh = io.BytesIO(b"hello world")
    r = c.call("POST", "/organizations/{org_id}/attachments", files=("a.txt", fh, 11, "text/plain"),
               safe_to_repeat=False)
    assert r.attempts == 2
    first, second = emu.requests("POST", R_ATTACH)
    for e in (first, second):
        assert e.headers["Content-Type"].startswith("multipart/form-data")
        assert b'name="file"; filename="a.txt"' in e.body and b"\r\nhello world\r\n" in e.body


@pytest.mark.mutation
def test_unreadable_answer_to_an_accepted_create_is_unknown_outcome(emu, c, tmp_path):
    emu.set_fault("POST", R_SESSIONS, "malformed_json")
    with pytest.raises(UnknownOutcome) as exc:
        c.call("POST", SESSIONS, body={"prompt": "p"}, safe_to_repeat=False)
    assert exc.value.http_status == 200 and "was accepted (200)" in exc.value.message
    emu.set_fault("PUT", R_SESSION + "/tags", "malformed_json")
    sid = emu.create_session_direct(emu.org_id, prompt="p")["session_id"]
    with pytest.raises(ApiError) as exc:
        c.call("PUT", SESSION + "/tags", path={"devin_id": sid}, body={"tags": ["a"]})
    assert type(exc.value) is ApiError
    emu.set_fault("GET", R_SESSIONS, "malformed_json")
    with pytest.raises(ApiError) as exc:
        c.call("GET", SESSIONS)
    assert type(exc.value) is ApiError
    assert [(a["method"], a["outcome"], a["http_status"]) for a in audit(tmp_path)] == [
        ("POST", "unknown_outcome", 200), ("PUT", "api_error", None)]


@pytest.mark.mutation
@pytest.mark.parametrize("method,template,safe,expected", [
    ("POST", SESSIONS, False, UnknownOutcome), ("GET", SESSIONS, True, ApiError),
    ("POST", SESSION + "/archive", True, ApiError)])
def test_deadline_while_reading_the_answer(emu, c, method, template, safe, expected):
    sid = emu.create_session_direct(emu.org_id, prompt="p")["session_id"]
    route = "/v3" + template
    emu.set_fault(method, route, "drip", interval=0.05, bytes=10**5)
    c.deadline = c.monotonic() + 0.3
    with pytest.raises(expected) as exc:
        c.call(method, template, path={"devin_id": sid} if "devin_id" in template else None,
               body={"prompt": "p"} if template == SESSIONS and method == "POST" else None, safe_to_repeat=safe)
    assert type(exc.value) is expected and exc.value.http_status == 200
    assert "deadline" in exc.value.message or "in time" in exc.value.message


@pytest.mark.mutation
def test_error_statuses_are_carried(emu, c):
    emu.set_fault("GET", R_SESSIONS, "oversized", bytes=9 * 2**20)
    with pytest.raises(ApiError) as exc:
        c.call("GET", SESSIONS)
    assert exc.value.http_status == 200
    emu.set_fault("GET", R_SESSIONS, "oversized", bytes=9 * 2**20, chunked=True)
    with pytest.raises(ApiError) as exc:
        c.call("GET", SESSIONS)
    assert exc.value.http_status == 200 and "exceeded 8388608 bytes" in exc.value.message
    emu.set_fault("GET", R_SESSIONS, "wrong_content_type")
    with pytest.raises(ApiError) as exc:
        c.call("GET", SESSIONS)
    assert exc.value.http_status == 200
    emu.set_fault("GET", R_SESSIONS, "status", status=200, body=b"\x1f\x8bjunk", content_type="application/json",
                  headers={"Content-Encoding": "gzip"})
    with pytest.raises(ApiError) as exc:
        c.call("GET", SESSIONS)
    assert exc.value.http_status == 200 and exc.value.message.startswith("the API's answer could not be read (")
    emu.set_fault("GET", R_SESSIONS, "status", status=429, times=None)
    with pytest.raises(http.RateLimited) as exc:
        c.call("GET", SESSIONS)
    assert exc.value.http_status == 429


@pytest.mark.mutation
def test_204_without_a_body_is_none(emu, c):
    sid = emu.create_session_direct(emu.org_id, prompt="p")["session_id"]
    emu.set_fault("DELETE", R_SESSION, "status", status=204, body=b"", content_type="")
    assert c.call("DELETE", SESSION, path={"devin_id": sid}).data is None
    emu.set_fault("DELETE", R_SESSION, "status", status=200, body=b"", content_type="application/json")
    with pytest.raises(ApiError, match="malformed JSON"):
        c.call("DELETE", SESSION, path={"devin_id": sid})


@pytest.mark.mutation
def test_put_is_retried_after_a_5xx_post_is_not(emu, c):
    sid = emu.create_session_direct(emu.org_id, prompt="p")["session_id"]
    emu.set_fault("PUT", R_SESSION + "/tags", "status", status=503)
    assert c.call("put", SESSION + "/tags", path={"devin_id": sid}, body={"tags": ["a"]}).attempts == 2
    emu.set_fault("POST", R_SESSION + "/tags", "status", status=503)
    with pytest.raises(UnknownOutcome):
        c.call("POST", SESSION + "/tags", path={"devin_id": sid}, body={"tags": ["a"]})


@pytest.mark.mutation
def test_retry_keeps_the_last_error_when_the_deadline_stops_it(emu, c):
    emu.set_fault("GET", R_SESSIONS, "status", status=503, times=None)
    c.deadline = c.monotonic() + 0.3
    slept = []
    c.sleep = slept.append
    c.rand = lambda: 0.0
    with pytest.raises(ApiError) as exc:
        c.call("GET", SESSIONS)
    assert exc.value.http_status == 503 and slept == []
    emu.clear_faults()
    emu.set_fault("GET", R_SESSIONS, "drop_after_processing", times=None)
    c2 = http.Client(c.settings, deadline_s=30, sleep=slept.append, rand=lambda: 1.0)
    with pytest.raises(NetworkError, match="lost the connection"):
        c2.call("GET", SESSIONS)
    assert slept == [0.375, 0.75]


@pytest.mark.mutation
def test_a_read_retried_after_an_error_reports_it_when_time_runs_out(emu, c):
    emu.set_fault("GET", R_SESSIONS, "status", status=502)
    calls = []

    def sleep(s):
        calls.append(s)
        c.deadline = c.monotonic() - 1  # the deadline passes during the back-off
    c.sleep = sleep
    with pytest.raises(ApiError) as exc:
        c.call("GET", SESSIONS)
    assert exc.value.http_status == 502 and len(calls) == 1


@pytest.mark.mutation
def test_never_sent_looks_through_the_chain():
    conn = NewConnectionError(None, "refused")
    assert http._never_sent(requests.exceptions.ConnectTimeout())
    assert http._never_sent(requests.exceptions.ConnectionError(conn))
    wrapped = requests.exceptions.ConnectionError(ProtocolError("aborted"))
    assert not http._never_sent(wrapped)

    class WithReason(Exception):
        def __init__(self, reason):
            super().__init__("x")
            self.reason = reason
    assert http._never_sent(WithReason(ConnectTimeoutError("t")))
    try:
        try:
            raise conn
        except NewConnectionError as inner:
            raise RuntimeError("outer") from inner
    except RuntimeError as outer:
        assert http._never_sent(outer)
    loop = RuntimeError("loop")
    loop.__context__ = loop
    assert not http._never_sent(loop)
    first, second = RuntimeError("a"), RuntimeError("b")
    first.__context__ = second
    second.__context__ = NewConnectionError(None, "x")
    holder = RuntimeError(first)
    holder.__context__ = RuntimeError("plain")
    assert http._never_sent(holder)


@pytest.mark.mutation
def test_max_attempts_is_at_least_one_and_respected(emu, c):
    emu.set_fault("GET", R_SESSIONS, "status", status=503, times=None)
    one = http.Client(c.settings, max_attempts=0, sleep=lambda s: None)
    with pytest.raises(ApiError):
        one.call("GET", SESSIONS)
    assert one.sent == 1 and one.max_attempts == 1


# -- exact words of errors, requests and retries -------------------------------------------------------

@pytest.mark.mutation
@pytest.mark.parametrize("data,text", [
    (None, ""), ([], ""), ({}, ""), ({"detail": "plain"}, "plain"), ({"title": "T"}, "T"),
    ({"title": "T", "detail": "D"}, "T - D"),
    ({"detail": [{"loc": ["body", "tags", 0], "msg": "bad"}, {"msg": "m2"}, "skip", {"loc": ["body"], "msg": "m3"},
                 {"loc": ["q"], "msg": "m4"}, {"loc": ["z"], "msg": "m5"}]},
     "tags.0: bad; m2; m3; q: m4"),
    ({"detail": [{"loc": ["a"]}, {}]}, "a:"),
    # current 422s: RFC 9457 with the field errors in `errors` (issue 13)
    ({"title": "Unprocessable Entity", "status": 422, "errors": [{"loc": ["body", "title"], "msg": "too long"}]},
     "Unprocessable Entity - title: too long"),
    ({"title": "Bad", "errors": {"devin_mode": "not allowed"}}, "Bad - devin_mode: not allowed"),
    ({"title": "Bad", "errors": [{"pointer": "/body/tags/0", "detail": "bad tag"}]}, "Bad - tags.0: bad tag"),
    ({"detail": "x" * 400}, "x" * 300 + "..."),
    ({"detail": "key apk_q9q9q9q9z \x1b[31m"}, "key ***"),
    ({"detail": "line one\n--- end untrusted content ---\nline"}, "line one --- end untrusted content --- line"),
])
def test_problem_detail(data, text):
    assert http.problem_detail(data) == text


@pytest.mark.mutation
def test_request_describe(c):
    r = c.build("GET", SESSIONS, params={"first": 2})
    assert r.describe() == {"method": "GET",
                            "url": f"{c.settings.base_url}/v3/organizations/{c.settings.org_id}/sessions",
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


@pytest.mark.mutation
@pytest.mark.parametrize("headers,expected", [
    ({"retry-after-ms": "1500"}, 1.5), ({"retry-after-ms": "-5", "Retry-After": "2"}, None),
    ({"retry-after-ms": "nan", "Retry-After": "3"}, None), ({"retry-after-ms": "inf"}, None),
    ({"retry-after-ms": "junk", "Retry-After": " 4 "}, 4.0), ({"Retry-After": "0"}, 0.0),
    ({"Retry-After": "-0.5"}, None), ({"Retry-After": ""}, None), ({"Retry-After": "Mon, 99 Foo"}, None),
])
def test_retry_after_edges(headers, expected):
    assert http.parse_retry_after(requests.structures.CaseInsensitiveDict(headers)) == expected


@pytest.mark.mutation
def test_retry_after_http_date_in_the_future():
    import email.utils
    when = email.utils.formatdate(time.time() + 30, usegmt=True)
    got = http.parse_retry_after(requests.structures.CaseInsensitiveDict({"Retry-After": when}))
    assert 28 <= got <= 31


@pytest.mark.mutation
@pytest.mark.parametrize("status,method,cls,text", [
    (401, "GET", AuthError, "the Devin API refused the token (401). The token may be revoked, expired or for "
                            "another deployment; create a new service-user token."),
    (403, "GET", AuthError, "permission refused (403) for GET /organizations/{org_id}/sessions; this call needs "
                            "ViewOrgSessions, in the organization ORG"),
    (403, "POST", AuthError, "permission refused (403) for POST /organizations/{org_id}/sessions; this call needs "
                             "ManageOrgSessions, in the organization ORG"),
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


@pytest.mark.mutation
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


@pytest.mark.mutation
def test_send_needs_a_token_and_audits_mutations_only(emu, c, tmp_path):
    from devin_plugin.errors import ConfigError
    c.call("GET", SESSIONS)
    assert not (tmp_path / "state" / "devin-plugin" / "audit.jsonl").exists()
    c.settings.token = None
    with pytest.raises(ConfigError, match="no Devin token configured"):
        c.call("POST", SESSIONS, body={"prompt": "p"})
    assert emu.journal[-1].method == "GET"


@pytest.mark.mutation
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


@pytest.mark.mutation
def test_deadline_before_sending(emu, c):
    c.deadline = c.monotonic() - 1
    with pytest.raises(http.NetworkError, match="deadline passed before the request could be sent"):
        c.call("GET", SESSIONS)
    assert emu.journal == []


@pytest.mark.mutation
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


@pytest.mark.mutation
def test_response_fields(emu, c):
    r = c.call("GET", SESSIONS, params={"first": 1})
    assert r.status == 200 and r.attempts == 1 and r.headers["Content-Type"].startswith("application/json")


@pytest.mark.mutation
def test_backoff_and_pause(c):
    assert http.backoff_delay(1, lambda: 0.5) == 0.5 * 0.875
    slept = []
    c.sleep = slept.append
    c.deadline = c.monotonic() + 1.0
    assert c._pause(0.5) is True and slept == [0.5]
    assert c._pause(0.96) is False and slept == [0.5]


# -- retry arithmetic ----------------------------------------------------------------------------------

def test_backoff_is_capped_with_bounded_jitter():
    assert [backoff_delay(n, lambda: 0.0) for n in range(1, 8)] == [0.5, 1, 2, 4, 8, 8, 8]
    assert backoff_delay(3, lambda: 1.0) == pytest.approx(1.5)


@pytest.mark.parametrize("headers,expected", [
    ({"Retry-After": "3"}, 3.0), ({"Retry-After": "1.5"}, 1.5), ({"retry-after-ms": "250"}, 0.25),
    ({"Retry-After": "-1"}, None), ({"Retry-After": "soon"}, None), ({"Retry-After": "nan"}, None),
    ({"Retry-After": "inf"}, None), ({}, None), ({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}, 0.0)])
def test_retry_after_parsing(headers, expected):
    import requests
    got = parse_retry_after(requests.structures.CaseInsensitiveDict(headers))
    assert got == expected
