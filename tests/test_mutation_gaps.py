"""Branches and boundaries that mutation testing (tools/mutation.py) found unpinned: the deadline and
read paths of the guarded helper, its timeouts and retries, the 403 fallback text, the policy's partial
validation and YAML errors without a mark, and the dedup calls with missing or lagging fields. In process
and fast: a fake clock and fake raw responses where no server is needed, the loopback emulator elsewhere."""

from __future__ import annotations

import io
import json
import time
import types

import pytest
import requests

from devin_plugin import config, http, dedup, sessions
from devin_plugin import policy as policy_mod
from devin_plugin.errors import ApiError, AuthError, ConfigError, InvalidInput, NetworkError, UnknownOutcome

SESSIONS = "/organizations/{org_id}/sessions"
SESSION = SESSIONS + "/{devin_id}"
TAGS = SESSION + "/tags"
R_SESSIONS = "/v3" + SESSIONS
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


# -- _read_body: deadline, caps and read errors ------------------------------------------------------

def test_read_body_deadline_is_checked_at_exactly_zero_and_not_before(tmp_path):
    req = http.Request("GET", SESSIONS, "u", "p", {})
    c = client(tmp_path, deadline_s=0.0)  # remaining() == 0 exactly
    with pytest.raises(ApiError, match="did not arrive within the call's deadline") as e:
        c._read_body(FakeRaw(200, {}, [b"abc"]), req, 100)
    assert e.value.http_status == 200
    c = client(tmp_path, deadline_s=0.5)  # under a second left still reads
    assert c._read_body(FakeRaw(200, {}, [b"abc", b"de"]), req, 100) == b"abcde"


def test_read_body_limits_are_inclusive(tmp_path):
    req = http.Request("GET", SESSIONS, "u", "p", {})
    c = client(tmp_path)
    assert c._read_body(FakeRaw(200, {"Content-Length": "10"}, [b"12345", b"67890"]), req, 10) == b"1234567890"
    with pytest.raises(ApiError, match=r"too large \(11 bytes; limit 10\)"):
        c._read_body(FakeRaw(200, {"Content-Length": "11"}, [b"x" * 11]), req, 10)
    with pytest.raises(ApiError, match="exceeded 10 bytes and was cut off"):
        c._read_body(FakeRaw(200, {}, [b"x" * 6, b"x" * 5]), req, 10)


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


def test_read_body_other_errors_are_unreadable(tmp_path):
    c = client(tmp_path)
    with pytest.raises(ApiError) as e:
        c._read_body(FakeRaw(200, {}, exc=OSError("connection reset")), c.build("GET", SESSIONS), 100)
    assert e.value.message == "the API's answer could not be read (OSError)" and e.value.http_status == 200


# -- _status_error ------------------------------------------------------------------------------------

def test_status_error_body_past_the_deadline_gives_no_detail(tmp_path):
    c = client(tmp_path, deadline_s=0.0)
    req = c.build("GET", SESSIONS)
    err = c._status_error(req, json_raw(500, {"detail": "boom"}))
    assert type(err) is ApiError and err.message == f"the Devin API failed with 500 on GET {SESSIONS}"


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


def test_403_on_a_route_without_a_known_permission_says_so(tmp_path):
    c = client(tmp_path)
    req = c.build("GET", "/organizations/{org_id}/unlisted")
    err = c._status_error(req, FakeRaw(403, {}))
    assert isinstance(err, AuthError) and err.http_status == 403
    assert err.message == ("permission refused (403) for GET /organizations/{org_id}/unlisted; this call needs "
                           "a permission this token lacks, in the organization org-test1")


def test_5xx_on_a_repeatable_mutating_call_stays_an_api_error(tmp_path):
    c = client(tmp_path)
    put = c.build("PUT", TAGS, path={"devin_id": SID}, body={"tags": ["a"]})
    assert put.mutating and put.safe_to_repeat
    err = c._status_error(put, FakeRaw(502, {}))
    assert type(err) is ApiError and err.message == f"the Devin API failed with 502 on PUT {TAGS}"
    post = c.build("POST", TAGS, path={"devin_id": SID}, body={"tags": ["a"]}, safe_to_repeat=False)
    assert type(c._status_error(post, FakeRaw(502, {}))) is UnknownOutcome


# -- _send_with_retries ---------------------------------------------------------------------------------

def test_no_send_when_the_deadline_is_exactly_reached(tmp_path):
    c = client(tmp_path, deadline_s=0.0)
    ad = with_adapter(c, [json_raw(200, {})])
    with pytest.raises(NetworkError) as e:
        c._send_with_retries(c.build("GET", SESSIONS))
    assert e.value.message == "the call's deadline passed before the request could be sent"
    assert ad.timeouts == [] and c.sent == 0


def test_timeouts_are_capped_by_the_remaining_time(tmp_path):
    c = client(tmp_path, deadline_s=0.5)
    ad = with_adapter(c, [json_raw(200, {"ok": 1})])
    assert c._send_with_retries(c.build("GET", SESSIONS)).data == {"ok": 1}
    assert ad.timeouts == [(0.5, 0.5)]
    c = client(tmp_path, deadline_s=20.0, connect_timeout=5.0, read_timeout=7.0)
    ad = with_adapter(c, [json_raw(200, {})])
    c._send_with_retries(c.build("GET", SESSIONS))
    assert ad.timeouts == [(5.0, 7.0)]


def test_tls_failure_on_a_create_is_not_retried(tmp_path):
    c = client(tmp_path)
    ad = with_adapter(c, [requests.exceptions.SSLError("bad cert"), json_raw(200, {})])
    with pytest.raises(NetworkError) as e:
        c._send_with_retries(c.build("POST", SESSIONS, body={"prompt": "p"}, safe_to_repeat=False))
    assert e.value.message == f"TLS verification failed for the Devin API (POST {SESSIONS})"
    assert len(ad.timeouts) == 1


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


def test_first_upload_attempt_sends_from_the_callers_position(emu, tmp_path):
    c = http.Client(settings(tmp_path, emu.url, emu.token, emu.org_id), sleep=lambda s: None, deadline_s=30)
    fh = io.BytesIO(b"XXhello")
    fh.read(2)
    c.call("POST", "/organizations/{org_id}/attachments", files=("a.txt", fh, 5, "text/plain"),
           safe_to_repeat=False)
    (e,) = emu.requests("POST", R_ATTACH)
    assert b"\r\nhello\r\n" in e.body and b"XXhello" not in e.body


# -- _prepare, _never_sent, parse_retry_after ---------------------------------------------------------------

def test_a_url_requests_requotes_is_refused_even_without_a_fragment(tmp_path):
    c = client(tmp_path)
    req = http.Request("GET", SESSIONS, "http://127.0.0.1:9/v3/a b", "/v3/a b", {})
    with pytest.raises(InvalidInput) as e:
        c._prepare(req)
    assert e.value.message == "internal: the prepared URL differs from the checked one; not sent"


def test_retry_after_zero_means_at_once():
    assert http.parse_retry_after({"retry-after-ms": "0"}) == 0.0
    assert http.parse_retry_after({"Retry-After": "0"}) == 0.0
    assert http.parse_retry_after({"retry-after-ms": "-1"}) is None


# -- policy -------------------------------------------------------------------------------------------------

@pytest.fixture
def pol(tmp_path):
    return policy_mod.load(tmp_path / "none")


def test_partial_check_needs_no_required_fields(pol):
    assert pol.check("playbook_write", {"body": "b"}, partial=True) == {"body": "b"}
    assert pol.check("note_write", {"trigger": "t"}, partial=True) == {"trigger": "t"}
    with pytest.raises(InvalidInput) as e:
        pol.check("playbook_write", {"body": "b"})
    assert e.value.message == "payload is missing the required field(s) title. Nothing was sent."


def test_trailing_newline_check_skips_fields_without_a_schema(pol):
    assert pol._check_trailing_newlines("session_create", {"not_a_field": "x\n"}) is None


def test_policy_file_size_limit_is_inclusive(tmp_path):
    p = tmp_path / "p.yaml"
    p.write_bytes(b"a: " + b"x" * (policy_mod.MAX_POLICY_BYTES - 3))
    assert len(policy_mod._yaml_load(p)["a"]) == policy_mod.MAX_POLICY_BYTES - 3
    p.write_bytes(b"a: " + b"x" * (policy_mod.MAX_POLICY_BYTES - 2))
    with pytest.raises(ConfigError, match="is larger than 65536 bytes"):
        policy_mod._yaml_load(p)


def test_yaml_error_without_a_mark_has_no_line(tmp_path):
    p = tmp_path / "p.yaml"
    p.write_bytes(b"a: \x07")
    with pytest.raises(ConfigError) as e:
        policy_mod._yaml_load(p)
    assert e.value.message == f"policy file {p} is not valid YAML"


# -- dedup: create_session ------------------------------------------------------------------------------

@pytest.fixture
def c(emu, tmp_path):
    return http.Client(settings(tmp_path, emu.url, emu.token, emu.org_id), sleep=lambda s: None, deadline_s=60)


def page(items, has_next=False, cursor=None):
    return {"items": items, "has_next_page": has_next, "end_cursor": cursor}


def direct(emu, title="t", **kw):
    kw.setdefault("status", "running")
    kw.setdefault("status_detail", "working")
    return emu.create_session_direct(emu.org_id, prompt="p", title=title, **kw)


def test_force_new_answers_the_created_session(emu, c, pol):
    s = sessions.create_session(c, pol, {"prompt": "p", "title": "forced"}, force_new=True, settle_s=0)
    assert s["is_new_session"] is True and s["title"] == "forced"
    assert [x["session_id"] for x in emu.sessions_in(emu.org_id)] == [s["session_id"]]


def test_derived_title_follows_the_policy_limit(tmp_path, c):
    (tmp_path / "cfg2").mkdir()
    (tmp_path / "cfg2" / "policy.yaml").write_text("limits: {title_max_chars: 10}\n")
    pol = policy_mod.load(tmp_path / "cfg2")
    dry = sessions.create_session(c, pol, {"prompt": "alpha beta gamma delta"}, dry_run=True)
    assert dry["request"]["body"]["title"] == "alpha beta"


def test_unknown_playbook_is_checked_unless_dry_run(emu, c, pol):
    dry = sessions.create_session(c, pol, {"prompt": "p", "title": "t", "playbook_id": "pb-missing"}, dry_run=True)
    assert dry["dry_run"] is True and emu.requests("GET") == []
    with pytest.raises(InvalidInput) as e:
        sessions.create_session(c, pol, {"prompt": "p", "title": "t", "playbook_id": "pb-missing"}, settle_s=0)
    assert e.value.message == f"playbook 'pb-missing' does not exist in organization {emu.org_id}; no session was created"
    assert emu.requests("POST", R_SESSIONS) == []


def test_create_converges_on_a_racer_the_first_look_missed(emu, c, pol):
    early = direct(emu, "race", created_at=int(emu.clock.now()) - 5)
    emu.set_fault("GET", R_SESSIONS, "status", status=200, body=page([]), content_type="application/json")
    notes = []
    s = sessions.create_session(c, pol, {"prompt": "p", "title": "race"}, settle_s=0, note=notes.append)
    assert s["session_id"] == early["session_id"] and s["is_new_session"] is False
    assert s["duplicate_ended"] != early["session_id"]
    assert any("created at the same time" in n for n in notes)


def test_a_young_existing_session_settles_to_the_earliest_through_create(emu, c, pol):
    now = int(emu.clock.now())
    young = direct(emu, "young", created_at=now)
    early = direct(emu, "young", created_at=now - 3)
    emu.set_fault("GET", R_SESSIONS, "status", status=200, body=page([young]), content_type="application/json")
    s = sessions.create_session(c, pol, {"prompt": "p", "title": "young"}, settle_s=0.001)
    assert s["session_id"] == early["session_id"] and s["is_new_session"] is False
    assert emu.requests("POST", R_SESSIONS) == []


def test_find_skips_other_titles_and_old_items_within_a_page(emu, c):
    now = int(emu.clock.now())
    good = {"session_id": SID, "org_id": emu.org_id, "title": "k", "status": "running",
            "status_detail": "working", "created_at": now}
    old = dict(good, session_id="devin-" + "b" * 32, created_at=now - 10 * 86400)
    other = dict(good, session_id="devin-" + "c" * 32, title="other")
    emu.set_fault("GET", R_SESSIONS, "status", status=200, body=page([other, old, good]),
                  content_type="application/json")
    found, info = dedup.find_active_by_title(c, "k", days=7)
    assert found["session_id"] == SID and info == {"checked": 3, "complete": True}


# -- dedup: converge and _earliest_if_young with a stubbed list -------------------------------------------

class Stub:
    def __init__(self, remaining=100.0):
        self._remaining = remaining
        self.settings = types.SimpleNamespace(org_id="org-test1")
        self.deleted = []

    def remaining(self):
        return self._remaining

    def call(self, method, template, **kw):
        self.deleted.append(kw["path"]["devin_id"])


def sid(ch):
    return "devin-" + ch * 32


def test_earliest_if_young_age_bound(monkeypatch):
    now = 1_000_000.0
    monkeypatch.setattr(dedup, "time", types.SimpleNamespace(time=lambda: now))
    looks = []
    monkeypatch.setattr(dedup, "active_with_title",
                        lambda client, title, days: looks.append(title) or {sid("0"): {"session_id": sid("0")}})
    found = {"session_id": sid("9"), "created_at": now - 62.5}
    assert dedup.earliest_if_young(Stub(), "t", found, days=7, settle_s=2, sleep=lambda s: None) is found
    assert looks == []
    found = {"session_id": sid("9"), "created_at": now - 61.5}
    assert dedup.earliest_if_young(Stub(), "t", found, days=7, settle_s=2,
                                       sleep=lambda s: None)["session_id"] == sid("0")
    assert looks == ["t"]


def test_earliest_if_young_orders_by_created_at_then_id(monkeypatch):
    peers = {sid("1"): {"session_id": sid("1"), "created_at": 50},
             sid("2"): {"session_id": sid("2"), "created_at": 40},
             sid("3"): {"session_id": sid("3")}}
    monkeypatch.setattr(dedup, "active_with_title", lambda client, title, days: dict(peers))
    found = {"session_id": sid("1"), "created_at": time.time()}
    got = dedup.earliest_if_young(Stub(), "t", found, days=7, settle_s=1, sleep=lambda s: None)
    assert got["session_id"] == sid("3")  # no created_at sorts first (0)
    del peers[sid("3")]
    got = dedup.earliest_if_young(Stub(), "t", found, days=7, settle_s=1, sleep=lambda s: None)
    assert got["session_id"] == sid("2")
    peers[sid("0")] = {"session_id": sid("0"), "created_at": 1}
    peers[sid("4")] = {"session_id": sid("4")}
    got = dedup.earliest_if_young(Stub(), "t", found, days=7, settle_s=1, sleep=lambda s: None)
    assert got["session_id"] == sid("4")


def test_converge_keeps_ours_when_the_list_lags(monkeypatch):
    later = {"session_id": sid("1"), "created_at": 200}
    monkeypatch.setattr(dedup, "active_with_title", lambda client, title, days: {sid("1"): dict(later)})
    mine = {"session_id": sid("9"), "created_at": 100}
    stub = Stub()
    got = dedup.converge(stub, "t", mine, days=7, settle_s=0)
    assert got == dict(mine, is_new_session=True) and stub.deleted == []


def test_converge_ranks_a_session_without_created_at_first(monkeypatch):
    monkeypatch.setattr(dedup, "active_with_title",
                        lambda client, title, days: {sid("f"): {"session_id": sid("f")}})
    mine = {"session_id": sid("0"), "created_at": 1}
    stub = Stub()
    got = dedup.converge(stub, "t", mine, days=7, settle_s=0)
    assert got["session_id"] == sid("f") and got["duplicate_ended"] == sid("0") and stub.deleted == [sid("0")]


# -- what goes to the adapter, and in which form ------------------------------------------------------

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


def test_client_defaults(tmp_path):
    c = http.Client(settings(tmp_path), monotonic=lambda: 0.0)
    assert (c.deadline, c.connect_timeout, c.read_timeout, c.max_attempts) == (60.0, 5.0, 30.0, 3)


def test_pause_needs_a_margin_before_the_deadline(tmp_path):
    clock = Clock()
    c = client(tmp_path, deadline_s=2.5, clock=clock)
    assert c._pause(c.remaining() - 0.05) is False and clock.sleeps == []
    assert c._pause(1.0) is True and clock.sleeps == [1.0]


def test_retry_after_of_exactly_the_cap_is_honoured(tmp_path):
    clock = Clock()
    c = client(tmp_path, deadline_s=100.0, clock=clock, rand=lambda: 0.0)
    with_adapter(c, [FakeRaw(429, {"Retry-After": "60"}), json_raw(200, {"ok": 1})])
    assert c._send_with_retries(c.build("GET", SESSIONS)).data == {"ok": 1}
    assert clock.sleeps == [60.0]


# -- exact messages -------------------------------------------------------------------------------------

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


def test_send_without_a_token(tmp_path):
    env = {"DEVIN_API_BASE": "http://127.0.0.1:9", "DEVIN_ORG_ID": "org-test1",
           "XDG_STATE_HOME": str(tmp_path / "state"), "XDG_CONFIG_HOME": str(tmp_path / "cfg")}
    c = http.Client(config.load(env, need_token=False))
    with pytest.raises(ConfigError) as e:
        c.send(c.build("GET", SESSIONS))
    assert e.value.message == "no Devin token configured"


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


def test_describe_rules_without_a_specific_text():
    err = types.SimpleNamespace(absolute_path=["a", 0], validator="additionalProperties", validator_value=False,
                                instance={})
    assert policy_mod._describe(err) == "field a/0 has fields that are not allowed"
    err.validator = "const"
    assert policy_mod._describe(err) == "field a/0 fails the const rule"


def test_cut_lengths_of_values_and_keys():
    assert policy_mod._short_value("a" * 78) == repr("a" * 78)
    assert policy_mod._short_value("a" * 79) == repr("a" * 79)[:80] + "..."
    assert policy_mod._show_key("k" * 60) == ascii("k" * 60)
    assert policy_mod._show_key("k" * 61) == ascii("k" * 60 + "...")


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


def test_schema_is_a_closed_2020_12_object(pol):
    s = pol.schema("session_message")
    assert {k: v for k, v in s.items() if k != "properties"} == {
        "$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object",
        "additionalProperties": False, "required": ["message"]}


def test_reconcile_and_create_messages(emu, c, pol):
    with pytest.raises(UnknownOutcome) as e:
        dedup.reconcile_create(c, "never", time.time(), UnknownOutcome("lost", http_status=504), lambda m: None)
    assert e.value.message == ("lost. No session with this title has appeared yet: run the same create again "
                               "with the same title in a minute; dedup will return the session if it was "
                               "created, and create it otherwise.") and e.value.http_status == 504
    emu.set_fault("POST", R_SESSIONS, "status", status=200, body={"title": "x"}, content_type="application/json")
    with pytest.raises(ApiError) as e:
        sessions.create_session(c, pol, {"prompt": "p", "title": "x"}, settle_s=0)
    assert e.value.message == "the API answered the create without a usable session id"


# -- dedup boundaries and the action names of its reads ---------------------------------------------------

def test_dedup_settle_bounds(monkeypatch):
    now = 1_000_000.0
    monkeypatch.setattr(dedup, "time", types.SimpleNamespace(time=lambda: now))
    looks = []
    monkeypatch.setattr(dedup, "active_with_title", lambda client, title, days: looks.append(1) or {})
    found = {"session_id": sid("9"), "created_at": now - 62.0}
    dedup.earliest_if_young(Stub(), "t", found, days=7, settle_s=2, sleep=lambda s: None)
    assert len(looks) == 1  # exactly settle + 60 s old still gets a second look
    found = {"session_id": sid("9"), "created_at": now}
    dedup.earliest_if_young(Stub(remaining=7.0), "t", found, days=7, settle_s=2, sleep=lambda s: None)
    assert len(looks) == 1  # settle reaches the 5 s margin: no look
    dedup.earliest_if_young(Stub(remaining=7.5), "t", found, days=7, settle_s=2, sleep=lambda s: None)
    assert len(looks) == 2
    mine = {"session_id": sid("9"), "created_at": 1}
    looks.clear()
    dedup.converge(Stub(remaining=7.0), "t", mine, days=7, settle_s=2, sleep=lambda s: None)
    assert len(looks) == 1
    dedup.converge(Stub(remaining=7.5), "t", mine, days=7, settle_s=2, sleep=lambda s: None)
    assert len(looks) == 3


def test_create_session_default_settle(monkeypatch, emu, c, pol):
    got = {}

    def fake_converge(client, title, session, **kw):
        got.update(kw)
        return session
    monkeypatch.setattr(dedup, "converge", fake_converge)
    sessions.create_session(c, pol, {"prompt": "p", "title": "defaults"})
    assert got["settle_s"] == 2.0 and got["days"] == 7


class Lister(Stub):
    def __init__(self, items):
        super().__init__()
        self.items = items
        self.actions = []

    def build(self, method, template, **kw):
        return types.SimpleNamespace(method=method, action=kw.get("action"), params=kw.get("params") or {})

    def send(self, req):
        self.actions.append((req.method, req.action))
        return types.SimpleNamespace(data=page(self.items))


def test_dedup_reads_are_named_dedup():
    item = {"session_id": SID, "org_id": "org-test1", "title": "t", "status": "running",
            "status_detail": "working", "created_at": int(time.time())}
    st = Lister([item])
    assert dedup.find_active_by_title(st, "t", days=7)[0] == item
    assert dedup.active_with_title(st, "t", days=7) == {SID: item}
    assert st.actions == [("GET", "dedup"), ("GET", "dedup")]


def test_never_sent_survives_a_string_reason():
    """urllib3 errors may carry a plain string as .reason; the walk must not crash on it."""
    from devin_plugin.http import _never_sent

    class WithStringReason(Exception):
        reason = "connection reset by peer"

    assert _never_sent(WithStringReason("x")) is False
