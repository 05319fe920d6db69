"""Edges of the guarded helper and the dedup calls that the outcome tests do not pin: what goes on the
wire, which status an error carries, which retries happen, what the audit line names. In process, so
mutation testing (tools/mutation.py) sees them."""

from __future__ import annotations

import io
import json

import pytest
import requests
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError, ProtocolError

from devin_plugin import config, http, dedup, sessions
from devin_plugin import policy as policy_mod
from devin_plugin.errors import ApiError, InvalidInput, NetworkError, UnknownOutcome

SESSIONS = "/organizations/{org_id}/sessions"
SESSION = SESSIONS + "/{devin_id}"
R_SESSIONS = "/v3" + SESSIONS
R_SESSION = "/v3" + SESSION
R_ATTACH = "/v3/organizations/{org_id}/attachments"


@pytest.fixture
def c(emu, tmp_path):
    env = {"DEVIN_API_BASE": emu.url, "DEVIN_SERVICE_USER_TOKEN": emu.token, "DEVIN_ORG_ID": emu.org_id,
           "XDG_STATE_HOME": str(tmp_path / "state"), "XDG_CONFIG_HOME": str(tmp_path / "cfg")}
    return http.Client(config.load(env), sleep=lambda s: None, deadline_s=30)


def audit(tmp_path):
    path = tmp_path / "state" / "devin-plugin" / "audit.jsonl"
    return [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []


def test_json_body_on_the_wire(emu, c):
    c.call("POST", SESSIONS, body={"prompt": "é ünïcode"}, safe_to_repeat=False)
    (e,) = emu.requests("POST", R_SESSIONS)
    assert e.headers["Content-Type"] == "application/json" and e.headers["Accept"] == "application/json"
    assert e.headers["User-Agent"] == "devin-plugin/0.1" and e.headers["Authorization"] == "Bearer " + emu.token
    assert e.body == '{"prompt": "é ünïcode"}'.encode("utf-8")
    with pytest.raises(InvalidInput, match="NaN or Infinity"):
        c.call("POST", SESSIONS, body={"max_acu_limit": float("nan")}, safe_to_repeat=False)
    assert len(emu.requests("POST", R_SESSIONS)) == 1


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


def test_204_without_a_body_is_none(emu, c):
    sid = emu.create_session_direct(emu.org_id, prompt="p")["session_id"]
    emu.set_fault("DELETE", R_SESSION, "status", status=204, body=b"", content_type="")
    assert c.call("DELETE", SESSION, path={"devin_id": sid}).data is None
    emu.set_fault("DELETE", R_SESSION, "status", status=200, body=b"", content_type="application/json")
    with pytest.raises(ApiError, match="malformed JSON"):
        c.call("DELETE", SESSION, path={"devin_id": sid})


def test_put_is_retried_after_a_5xx_post_is_not(emu, c):
    sid = emu.create_session_direct(emu.org_id, prompt="p")["session_id"]
    emu.set_fault("PUT", R_SESSION + "/tags", "status", status=503)
    assert c.call("put", SESSION + "/tags", path={"devin_id": sid}, body={"tags": ["a"]}).attempts == 2
    emu.set_fault("POST", R_SESSION + "/tags", "status", status=503)
    with pytest.raises(UnknownOutcome):
        c.call("POST", SESSION + "/tags", path={"devin_id": sid}, body={"tags": ["a"]})


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


def test_max_attempts_is_at_least_one_and_respected(emu, c):
    emu.set_fault("GET", R_SESSIONS, "status", status=503, times=None)
    one = http.Client(c.settings, max_attempts=0, sleep=lambda s: None)
    with pytest.raises(ApiError):
        one.call("GET", SESSIONS)
    assert one.sent == 1 and one.max_attempts == 1


def test_dedup_audit_lines_name_their_actions(emu, c, tmp_path):
    pol = policy_mod.load(tmp_path / "none")
    mine = sessions.create_session(c, pol, {"prompt": "p", "title": "aud"}, settle_s=0)
    other = emu.create_session_direct(emu.org_id, prompt="p", title="aud2", status="running", status_detail="working",
                                      created_at=mine["created_at"] - 1)
    mine2 = emu.create_session_direct(emu.org_id, prompt="p", title="aud2", status="running", status_detail="working")
    dedup.converge(c, "aud2", mine2, days=7, settle_s=0)
    lines = audit(tmp_path)
    assert [(a["action"], a["method"], a["outcome"], a.get("attempts")) for a in lines] == [
        ("create_session", "POST", "ok", 1), ("dedup_converge", "DELETE", "ok", 1)]
    assert lines[1]["session_id"] == mine2["session_id"] and other
    q = [e.query for e in emu.requests("GET", R_SESSIONS)]
    assert all("created_after" in x for x in q)


def test_reconcile_looks_back_two_minutes_only(emu, c):
    import time
    now = time.time()
    emu.create_session_direct(emu.org_id, prompt="p", title="rb", created_at=int(now) - 150)
    with pytest.raises(UnknownOutcome):
        dedup.reconcile_create(c, "rb", now, UnknownOutcome("x"), lambda m: None)
    (q,) = [e.query for e in emu.requests("GET", R_SESSIONS)]
    assert int(q["created_after"][0]) == int(now - 120)


def test_find_skips_items_older_than_the_window_even_if_listed(emu, c):
    import time
    since = time.time() - 100
    item = emu.create_session_direct(emu.org_id, prompt="p", title="w", status="running", status_detail="working")
    for created, found in ((int(since) - 1, False), (int(since), True)):
        emu.set_fault("GET", R_SESSIONS, "status", status=200, content_type="application/json",
                      body={"items": [dict(item, created_at=created)], "has_next_page": False, "end_cursor": None})
        got, _ = dedup.find_active_by_title(c, "w", days=1, since=since)
        assert (got is not None) is found


def test_find_continues_past_foreign_and_other_items_on_a_page(emu, c):
    a = emu.create_session_direct(emu.org_id, prompt="p", title="x", status="running", status_detail="working")
    b = emu.create_session_direct(emu.org_id, prompt="p", title="target", status="running", status_detail="working")
    emu.set_fault("GET", R_SESSIONS, "status", status=200, content_type="application/json",
                  body={"items": [dict(a, created_at=1), a, dict(b, org_id="org-x"), b], "has_next_page": False,
                        "end_cursor": None})
    got, info = dedup.find_active_by_title(c, "target", days=7)
    assert got["session_id"] == b["session_id"] and info["checked"] == 4


def test_young_found_session_ordering_uses_created_at_then_id(emu, c):
    now = int(emu.clock.now())
    found = emu.create_session_direct(emu.org_id, prompt="p", title="o", status="running", status_detail="working",
                                      created_at=now)
    later_small_id = emu.create_session_direct(emu.org_id, prompt="p", title="o", status="running",
                                               status_detail="working", created_at=now + 1)
    got = dedup.earliest_if_young(c, "o", found, days=7, settle_s=0.1, sleep=lambda s: None)
    assert got["session_id"] == found["session_id"] and later_small_id
    twin = emu.create_session_direct(emu.org_id, prompt="p", title="o", status="running", status_detail="working",
                                     created_at=now)
    lo = min(found["session_id"], twin["session_id"])
    assert dedup.earliest_if_young(c, "o", found, days=7, settle_s=0.1, sleep=lambda s: None)["session_id"] == lo
    c.deadline = c.monotonic() + 5.05
    assert dedup.earliest_if_young(c, "o", found, days=7, settle_s=0.1, sleep=lambda s: 1 / 0) is found
