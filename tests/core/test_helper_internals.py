"""The guarded helper's read, deadline, status and retry paths (_read_body, _status_error,
_send_with_retries, _prepare) driven directly: a fake clock and fake raw responses where no server is
needed, the loopback emulator elsewhere. Written to kill the mutants that tools/mutation.py found
surviving; in process and fast."""

from __future__ import annotations

import io
import json

import pytest
import requests

from devin_plugin import config, http
from devin_plugin.errors import ApiError, AuthError, ConfigError, InvalidInput, NetworkError, UnknownOutcome


SESSIONS = "/organizations/{org_id}/sessions"
SESSION = SESSIONS + "/{devin_id}"
TAGS = SESSION + "/tags"
R_ATTACH = "/v3/organizations/{org_id}/attachments"
SID = "devin-" + "a" * 32


def settings(tmp_path, base="http://127.0.0.1:9", token="cog_testtoken123", org="org-test1"):
    env = {"DEVIN_API_BASE": base, "DEVIN_SERVICE_USER_TOKEN": token, "DEVIN_ORG_ID": org,
           "XDG_STATE_HOME": str(tmp_path / "state"), "XDG_CONFIG_HOME": str(tmp_path / "cfg")}
    return config.load(env)


class Clock:
    """A fake monotonic clock; sleeping advances it."""

    def __init__(self, now=100.0, oversleep=0.0):
        self.now = now
        self.oversleep = oversleep
        self.sleeps = []

    def __call__(self):
        return self.now

    def sleep(self, s):
        self.sleeps.append(s)
        self.now += s + self.oversleep


def client(tmp_path, deadline_s=30.0, clock=None, **kw):
    clock = clock or Clock()
    return http.Client(settings(tmp_path), deadline_s=deadline_s, monotonic=clock, sleep=clock.sleep, **kw)


class FakeStream:
    def __init__(self, chunks=(), exc=None):
        self.chunks = list(chunks)
        self.exc = exc

    def read1(self, n, decode_content=True):
        if self.exc is not None:
            raise self.exc
        return self.chunks.pop(0) if self.chunks else b""


class FakeRaw:
    def __init__(self, status=200, headers=None, chunks=(), exc=None):
        self.status_code = status
        self.headers = dict(headers or {})
        self.raw = FakeStream(chunks, exc)
        self.closed = False

    def close(self):
        self.closed = True


class FakeAdapter:
    """Records each send's arguments; answers with the next item (a FakeRaw or an exception)."""

    def __init__(self, answers):
        self.answers = list(answers)
        self.timeouts = []
        self.calls = []

    def send(self, prepared, **kw):
        self.calls.append((prepared, kw))
        self.timeouts.append(kw["timeout"])
        a = self.answers.pop(0)
        if isinstance(a, BaseException):
            raise a
        return a


def with_adapter(c, answers):
    c._http()
    c._adapter = FakeAdapter(answers)
    return c._adapter


def json_raw(status, data, **headers):
    return FakeRaw(status, dict({"Content-Type": "application/json"}, **headers), [json.dumps(data).encode()])


# -- the deadline error's status bounds ----------------------------------------------------------------

@pytest.mark.mutation
def test_deadline_error_is_unknown_outcome_only_for_a_2xx_on_a_create(tmp_path):
    c = client(tmp_path)
    create = c.build("POST", SESSIONS, body={"prompt": "p"}, safe_to_repeat=False)
    for status in (200, 201, 299):
        with pytest.raises(UnknownOutcome) as e:
            c._deadline_error(create, status)
        assert e.value.http_status == status
        assert e.value.message == (f"POST {SESSIONS}: the answer did not arrive in time; the request may have "
                                   "taken effect")
    for status in (300, 199, 500):
        with pytest.raises(ApiError) as e:
            c._deadline_error(create, status)
        assert type(e.value) is ApiError and e.value.http_status == status


# -- _read_body: deadline, caps and read errors --------------------------------------------------------

@pytest.mark.mutation
def test_read_body_deadline_is_checked_at_exactly_zero_and_not_before(tmp_path):
    req = http.Request("GET", SESSIONS, "u", "p", {})
    c = client(tmp_path, deadline_s=0.0)  # remaining() == 0 exactly
    with pytest.raises(ApiError, match="did not arrive within the call's deadline") as e:
        c._read_body(FakeRaw(200, {}, [b"abc"]), req, 100)
    assert e.value.http_status == 200
    c = client(tmp_path, deadline_s=0.5)  # under a second left still reads
    assert c._read_body(FakeRaw(200, {}, [b"abc", b"de"]), req, 100) == b"abcde"


@pytest.mark.mutation
def test_read_body_limits_are_inclusive(tmp_path):
    req = http.Request("GET", SESSIONS, "u", "p", {})
    c = client(tmp_path)
    assert c._read_body(FakeRaw(200, {"Content-Length": "10"}, [b"12345", b"67890"]), req, 10) == b"1234567890"
    with pytest.raises(ApiError, match=r"too large \(11 bytes; limit 10\)"):
        c._read_body(FakeRaw(200, {"Content-Length": "11"}, [b"x" * 11]), req, 10)
    with pytest.raises(ApiError, match="exceeded 10 bytes and was cut off"):
        c._read_body(FakeRaw(200, {}, [b"x" * 6, b"x" * 5]), req, 10)


@pytest.mark.mutation
@pytest.mark.parametrize("exc", [requests.exceptions.ReadTimeout("no words here"),
                                 OSError("Read Timed Out."), ValueError("socket timed out")])
def test_read_body_timeouts_become_deadline_errors(tmp_path, exc):
    c = client(tmp_path)
    get = c.build("GET", SESSIONS)
    with pytest.raises(ApiError) as e:
        c._read_body(FakeRaw(200, {}, exc=exc), get, 100)
    assert type(e.value) is ApiError and e.value.http_status == 200
    assert e.value.message == f"GET {SESSIONS}: the answer did not arrive within the call's deadline"
    create = c.build("POST", SESSIONS, body={"prompt": "p"}, safe_to_repeat=False)
    with pytest.raises(UnknownOutcome) as e:
        c._read_body(FakeRaw(201, {}, exc=exc), create, 100)
    assert e.value.http_status == 201


@pytest.mark.mutation
def test_read_body_other_errors_are_unreadable(tmp_path):
    c = client(tmp_path)
    with pytest.raises(ApiError) as e:
        c._read_body(FakeRaw(200, {}, exc=OSError("connection reset")), c.build("GET", SESSIONS), 100)
    assert e.value.message == "the API's answer could not be read (OSError)" and e.value.http_status == 200


# -- _status_error -------------------------------------------------------------------------------------

@pytest.mark.mutation
def test_status_error_body_past_the_deadline_gives_no_detail(tmp_path):
    c = client(tmp_path, deadline_s=0.0)
    req = c.build("GET", SESSIONS)
    err = c._status_error(req, json_raw(500, {"detail": "boom"}))
    assert type(err) is ApiError and err.message == f"the Devin API failed with 500 on GET {SESSIONS}"


@pytest.mark.mutation
def test_status_error_reads_at_most_64_kib_of_detail(tmp_path):
    c = client(tmp_path)
    req = c.build("GET", SESSIONS)

    def body_of(size):
        data = {"detail": "d", "pad": ""}
        data["pad"] = "x" * (size - len(json.dumps(data)))
        raw = json.dumps(data).encode()
        assert len(raw) == size
        return FakeRaw(500, {"Content-Type": "application/json"}, [raw[:40000], raw[40000:]])
    assert c._status_error(req, body_of(65536)).message.endswith(f"on GET {SESSIONS}: d")
    assert c._status_error(req, body_of(65537)).message == f"the Devin API failed with 500 on GET {SESSIONS}"


@pytest.mark.mutation
def test_403_on_a_route_without_a_known_permission_says_so(tmp_path):
    c = client(tmp_path)
    req = c.build("GET", "/organizations/{org_id}/unlisted")
    err = c._status_error(req, FakeRaw(403, {}))
    assert isinstance(err, AuthError) and err.http_status == 403
    assert err.message == ("permission refused (403) for GET /organizations/{org_id}/unlisted; this call needs "
                           "a permission this token lacks, in the organization org-test1")


@pytest.mark.mutation
def test_5xx_on_a_repeatable_mutating_call_stays_an_api_error(tmp_path):
    c = client(tmp_path)
    put = c.build("PUT", TAGS, path={"devin_id": SID}, body={"tags": ["a"]})
    assert put.mutating and put.safe_to_repeat
    err = c._status_error(put, FakeRaw(502, {}))
    assert type(err) is ApiError and err.message == f"the Devin API failed with 502 on PUT {TAGS}"
    post = c.build("POST", TAGS, path={"devin_id": SID}, body={"tags": ["a"]}, safe_to_repeat=False)
    assert type(c._status_error(post, FakeRaw(502, {}))) is UnknownOutcome


# -- _send_with_retries --------------------------------------------------------------------------------

@pytest.mark.mutation
def test_no_send_when_the_deadline_is_exactly_reached(tmp_path):
    c = client(tmp_path, deadline_s=0.0)
    ad = with_adapter(c, [json_raw(200, {})])
    with pytest.raises(NetworkError) as e:
        c._send_with_retries(c.build("GET", SESSIONS))
    assert e.value.message == "the call's deadline passed before the request could be sent"
    assert ad.timeouts == [] and c.sent == 0


@pytest.mark.mutation
def test_timeouts_are_capped_by_the_remaining_time(tmp_path):
    c = client(tmp_path, deadline_s=0.5)
    ad = with_adapter(c, [json_raw(200, {"ok": 1})])
    assert c._send_with_retries(c.build("GET", SESSIONS)).data == {"ok": 1}
    assert ad.timeouts == [(0.5, 0.5)]
    c = client(tmp_path, deadline_s=20.0, connect_timeout=5.0, read_timeout=7.0)
    ad = with_adapter(c, [json_raw(200, {})])
    c._send_with_retries(c.build("GET", SESSIONS))
    assert ad.timeouts == [(5.0, 7.0)]


@pytest.mark.mutation
def test_tls_failure_on_a_create_is_not_retried(tmp_path):
    c = client(tmp_path)
    ad = with_adapter(c, [requests.exceptions.SSLError("bad cert"), json_raw(200, {})])
    with pytest.raises(NetworkError) as e:
        c._send_with_retries(c.build("POST", SESSIONS, body={"prompt": "p"}, safe_to_repeat=False))
    assert e.value.message == f"TLS verification failed for the Devin API (POST {SESSIONS})"
    assert len(ad.timeouts) == 1


@pytest.mark.mutation
def test_backoff_uses_the_injected_jitter(tmp_path):
    clock = Clock()
    c = client(tmp_path, clock=clock, rand=lambda: 0.0)
    with_adapter(c, [FakeRaw(503, {}), FakeRaw(503, {}), json_raw(200, {"ok": 1})])
    r = c._send_with_retries(c.build("GET", SESSIONS))
    assert r.attempts == 3 and clock.sleeps == [0.5, 1.0]
    clock = Clock()
    c = client(tmp_path, clock=clock, rand=lambda: 1.0)
    with_adapter(c, [requests.exceptions.ConnectionError("reset"), json_raw(200, {})])
    c._send_with_retries(c.build("GET", SESSIONS))
    assert clock.sleeps == [0.375]


@pytest.mark.mutation
def test_the_last_error_is_raised_when_the_backoff_ate_the_deadline(tmp_path):
    clock = Clock(oversleep=0.2)  # the sleep overran what was left
    c = client(tmp_path, deadline_s=10.0, clock=clock, rand=lambda: 0.0)
    with_adapter(c, [FakeRaw(503, {"Retry-After": "9.9"}), json_raw(200, {})])
    with pytest.raises(ApiError) as e:
        c._send_with_retries(c.build("GET", SESSIONS))
    assert e.value.message == f"the Devin API failed with 503 on GET {SESSIONS}" and e.value.http_status == 503
    assert clock.sleeps == [9.9]
    clock = Clock(oversleep=0.2)
    c = client(tmp_path, deadline_s=0.6, clock=clock, rand=lambda: 0.0)
    with_adapter(c, [requests.exceptions.ReadTimeout("slow"), json_raw(200, {})])
    with pytest.raises(NetworkError) as e:
        c._send_with_retries(c.build("GET", SESSIONS))
    assert e.value.message == f"GET {SESSIONS}: timed out waiting for the answer" and clock.sleeps == [0.5]


@pytest.mark.mutation
def test_first_upload_attempt_sends_from_the_callers_position(emu, tmp_path):
    c = http.Client(settings(tmp_path, emu.url, emu.token, emu.org_id), sleep=lambda s: None, deadline_s=30)
    fh = io.BytesIO(b"XXhello")
    fh.read(2)
    c.call("POST", "/organizations/{org_id}/attachments", files=("a.txt", fh, 5, "text/plain"),
           safe_to_repeat=False)
    (e,) = emu.requests("POST", R_ATTACH)
    assert b"\r\nhello\r\n" in e.body and b"XXhello" not in e.body


# -- _prepare, _never_sent, parse_retry_after ----------------------------------------------------------

@pytest.mark.mutation
def test_a_url_requests_requotes_is_refused_even_without_a_fragment(tmp_path):
    c = client(tmp_path)
    req = http.Request("GET", SESSIONS, "http://127.0.0.1:9/v3/a b", "/v3/a b", {})
    with pytest.raises(InvalidInput) as e:
        c._prepare(req)
    assert e.value.message == "internal: the prepared URL differs from the checked one; not sent"


@pytest.mark.mutation
def test_retry_after_zero_means_at_once():
    assert http.parse_retry_after({"retry-after-ms": "0"}) == 0.0
    assert http.parse_retry_after({"Retry-After": "0"}) == 0.0
    assert http.parse_retry_after({"retry-after-ms": "-1"}) is None


# -- what goes to the adapter, and in which form -------------------------------------------------------

@pytest.mark.mutation
def test_adapter_gets_tls_on_no_proxies_streaming_and_exact_header_names(tmp_path):
    c = client(tmp_path, deadline_s=20.0, connect_timeout=5.0, read_timeout=7.0)
    assert c._http().trust_env is False
    ad = with_adapter(c, [json_raw(200, {})])
    c._send_with_retries(c.build("POST", SESSIONS, body={"prompt": "p"}, safe_to_repeat=False))
    ((prepared, kw),) = ad.calls
    assert kw == {"stream": True, "verify": True, "proxies": {}, "cert": None, "timeout": (5.0, 7.0)}
    names = set(prepared.headers.keys())
    assert {"User-Agent", "Accept", "Content-Type", "Authorization"} <= names
    assert prepared.headers["Authorization"] == "Bearer cog_testtoken123"


class OldStream:
    """A raw stream without read1 (older urllib3): the helper falls back to read()."""

    def __init__(self, chunks):
        self.chunks = list(chunks)
        self.args = []

    def read(self, *a, **kw):
        self.args.append((a, kw))
        return self.chunks.pop(0) if self.chunks else b""


@pytest.mark.mutation
def test_read_body_chunk_size_and_the_read_fallback(tmp_path):
    c = client(tmp_path)
    req = c.build("GET", SESSIONS)
    raw = FakeRaw(200, {})
    raw.raw = OldStream([b"ab", b"c"])
    assert c._read_body(raw, req, 100) == b"abc"
    assert raw.raw.args == [((65536,), {"decode_content": True})] * 3
    seen = []

    class New:
        def read1(self, *a, **kw):
            seen.append((a, kw))
            return b""
    raw = FakeRaw(200, {})
    raw.raw = New()
    assert c._read_body(raw, req, 100) == b""
    assert seen == [((65536,), {"decode_content": True})]


@pytest.mark.mutation
def test_client_defaults(tmp_path):
    c = http.Client(settings(tmp_path), monotonic=lambda: 0.0)
    assert (c.deadline, c.connect_timeout, c.read_timeout, c.max_attempts) == (60.0, 5.0, 30.0, 3)


@pytest.mark.mutation
def test_pause_needs_a_margin_before_the_deadline(tmp_path):
    clock = Clock()
    c = client(tmp_path, deadline_s=2.5, clock=clock)
    assert c._pause(c.remaining() - 0.05) is False and clock.sleeps == []
    assert c._pause(1.0) is True and clock.sleeps == [1.0]


@pytest.mark.mutation
def test_retry_after_of_exactly_the_cap_is_honoured(tmp_path):
    clock = Clock()
    c = client(tmp_path, deadline_s=100.0, clock=clock, rand=lambda: 0.0)
    with_adapter(c, [FakeRaw(429, {"Retry-After": "60"}), json_raw(200, {"ok": 1})])
    assert c._send_with_retries(c.build("GET", SESSIONS)).data == {"ok": 1}
    assert clock.sleeps == [60.0]


# -- exact messages ------------------------------------------------------------------------------------

@pytest.mark.mutation
def test_helper_messages_are_exact(tmp_path):
    c = client(tmp_path)
    with pytest.raises(ApiError) as e:
        http.parse_json(b"{")
    assert e.value.message == "the API answered with malformed JSON (JSONDecodeError)"
    with pytest.raises(InvalidInput) as e:
        c._prepare(c.build("POST", SESSIONS, body={"x": float("inf")}))
    assert e.value.message == "the request could not be prepared (NaN or Infinity in the body)"
    with pytest.raises(InvalidInput) as e:
        c._prepare(http.Request("GET", SESSIONS, "http://[::1", "/", {}))
    assert e.value.message == "the request could not be prepared (invalid characters?)"
    with pytest.raises(InvalidInput) as e:
        c.build("GET", SESSION, path={"devin_id": "devin-XYZ"})
    assert e.value.message == "internal: session id was not normalised before use"
    with pytest.raises(InvalidInput) as e:
        c.build("GET", "/organizations/{org_id}/playbooks/{playbook_id}", path={"playbook_id": 12345})
    assert e.value.message == "invalid playbook_id '12345'"
    bad = "a" * 44 + "."
    with pytest.raises(InvalidInput) as e:
        c.build("GET", "/organizations/{org_id}/playbooks/{playbook_id}", path={"playbook_id": bad})
    assert e.value.message == f"invalid playbook_id {bad[:40]!r}"
    assert http._short("x" * 300) == "x" * 300 and http._short("x" * 301) == "x" * 300 + "..."
    err = c._transport_error(c.build("GET", SESSIONS), requests.exceptions.ConnectTimeout("slow"))
    assert err.message == f"could not connect to the Devin API (GET {SESSIONS}); nothing was sent"


@pytest.mark.mutation
def test_send_without_a_token(tmp_path):
    env = {"DEVIN_API_BASE": "http://127.0.0.1:9", "DEVIN_ORG_ID": "org-test1",
           "XDG_STATE_HOME": str(tmp_path / "state"), "XDG_CONFIG_HOME": str(tmp_path / "cfg")}
    c = http.Client(config.load(env, need_token=False))
    with pytest.raises(ConfigError) as e:
        c.send(c.build("GET", SESSIONS))
    assert e.value.message == "no Devin token configured"


@pytest.mark.mutation
def test_redirect_and_long_content_type_messages(tmp_path):
    c = client(tmp_path)
    with_adapter(c, [FakeRaw(302, {"Location": "http://elsewhere/"})])
    with pytest.raises(ApiError) as e:
        c._send_with_retries(c.build("GET", SESSIONS))
    assert e.value.message == ("the API answered 302 with a redirect; redirects are never followed "
                               "(the token must not travel elsewhere)")
    ctype = "text/" + "x" * 100
    with_adapter(c, [FakeRaw(200, {"Content-Type": ctype}, [b"hi"])])
    with pytest.raises(ApiError) as e:
        c._send_with_retries(c.build("GET", SESSIONS))
    assert e.value.message == f"the API answered with content type {ctype[:60]}..., not JSON"


@pytest.mark.mutation
def test_never_sent_survives_a_string_reason():
    """urllib3 errors may carry a plain string as .reason; the walk must not crash on it."""
    from devin_plugin.http import _never_sent

    class WithStringReason(Exception):
        reason = "connection reset by peer"

    assert _never_sent(WithStringReason("x")) is False
