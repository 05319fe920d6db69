"""The guarded HTTP helper against the emulator's faults, over real loopback HTTP."""

from __future__ import annotations

import socket
import time

import pytest

from devin_plugin import config
from devin_plugin.errors import (ApiError, AuthError, InvalidInput, NetworkError, NotFound, RateLimited,
                                 UnknownOutcome)
from devin_plugin.http import Client

SESSIONS = "/organizations/{org_id}/sessions"
SESSION = SESSIONS + "/{devin_id}"
R_SESSIONS = "/v3/organizations/{org_id}/sessions"
R_SESSION = R_SESSIONS + "/{devin_id}"
HEX = "0123456789abcdef" * 2


def settings_for(emu, tmp_path, **extra):
    env = {"DEVIN_API_BASE": emu.url, "DEVIN_SERVICE_USER_TOKEN": emu.token, "DEVIN_ORG_ID": emu.org_id,
           "XDG_STATE_HOME": str(tmp_path / "state"), "XDG_CONFIG_HOME": str(tmp_path / "cfg"), **extra}
    return config.load(env)


class Sleeps(list):
    def __call__(self, s):
        self.append(s)


@pytest.fixture
def make(emu, tmp_path):
    def _make(**kw):
        sleeps = Sleeps()
        kw.setdefault("sleep", sleeps)
        c = Client(settings_for(emu, tmp_path), **kw)
        c.sleeps = sleeps
        return c
    return _make


def client(emu, tmp_path, **kw):
    env = {"DEVIN_API_BASE": emu.url, "DEVIN_SERVICE_USER_TOKEN": emu.token, "DEVIN_ORG_ID": emu.org_id,
           "XDG_STATE_HOME": str(tmp_path / "state"), "XDG_CONFIG_HOME": str(tmp_path / "cfg")}
    kw.setdefault("sleep", lambda s: None)
    return Client(config.load(env), **kw)


def wire(emu):
    return [e for e in emu.journal if not e.path.startswith("/_emulator")]


def create(client, **body):
    return client.call("POST", SESSIONS, body={"prompt": "p", **body}, safe_to_repeat=False)


def test_environment_is_not_trusted(emu, make, tmp_path, monkeypatch):
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login netrcuser password netrcpass\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.setenv(var, "http://127.0.0.1:9")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(netrc))
    monkeypatch.setenv("CURL_CA_BUNDLE", str(netrc))
    monkeypatch.delenv("NO_PROXY", raising=False)
    assert make().call("GET", SESSIONS, params={"first": 1}).status == 200
    (entry,) = emu.requests("GET", R_SESSIONS)
    assert entry.headers.get("Authorization") == "Bearer " + emu.token


@pytest.mark.parametrize("status,method", [(302, "GET"), (307, "POST"), (308, "GET"), (301, "POST")])
def test_redirects_are_never_followed(emu, make, status, method):
    from devin_emulator import Emulator
    with Emulator() as catcher:
        emu.set_fault(method, R_SESSIONS, "redirect", status=status, location=catcher.url + "/v3/self")
        with pytest.raises(ApiError) as exc:
            if method == "GET":
                make().call("GET", SESSIONS)
            else:
                create(make())
        assert exc.value.http_status == status and "never followed" in exc.value.message
        assert catcher.journal == []
    assert len(emu.requests(method, R_SESSIONS)) == 1


def test_reads_retry_5xx_then_succeed(emu, make):
    emu.set_fault("GET", R_SESSIONS, "status", status=503, times=2)
    c = make()
    assert c.call("GET", SESSIONS).attempts == 3
    assert len(emu.requests("GET", R_SESSIONS)) == 3 and len(c.sleeps) == 2


def test_reads_give_up_after_three_attempts(emu, make):
    emu.set_fault("GET", R_SESSIONS, "status", status=502, times=None)
    with pytest.raises(ApiError) as exc:
        make().call("GET", SESSIONS)
    assert exc.value.http_status == 502 and exc.value.exit_code == 8
    assert len(emu.requests("GET", R_SESSIONS)) == 3


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_create_is_not_retried_after_a_5xx(emu, make, status):
    emu.set_fault("POST", R_SESSIONS, "status", status=status)
    with pytest.raises(UnknownOutcome):
        create(make())
    assert len(emu.requests("POST", R_SESSIONS)) == 1


def test_create_retries_429_honouring_retry_after(emu, make):
    emu.set_fault("POST", R_SESSIONS, "status", status=429, headers={"Retry-After": "2"})
    c = make()
    assert create(c).attempts == 2
    assert c.sleeps[0] >= 2 and len(emu.requests("POST", R_SESSIONS)) == 2


def test_retry_after_beyond_the_cap_fails_fast(emu, make):
    emu.set_fault("GET", R_SESSIONS, "status", status=429, headers={"Retry-After": "120"})
    c = make()
    with pytest.raises(RateLimited) as exc:
        c.call("GET", SESSIONS)
    assert exc.value.retry_after == 120 and exc.value.exit_code == 6 and "120" in exc.value.message
    assert c.sleeps == [] and len(emu.requests("GET", R_SESSIONS)) == 1


def test_retry_after_beyond_the_deadline_fails_fast(emu, make):
    emu.set_fault("GET", R_SESSIONS, "status", status=429, headers={"Retry-After": "30"})
    with pytest.raises(RateLimited):
        make(deadline_s=5).call("GET", SESSIONS)


def test_lost_answer_to_a_create_is_unknown_outcome(emu, make):
    emu.set_fault("POST", R_SESSIONS, "drop_after_processing")
    with pytest.raises(UnknownOutcome) as exc:
        create(make())
    assert exc.value.exit_code == 7
    assert len(emu.requests("POST", R_SESSIONS)) == 1 and len(emu.sessions_in(emu.org_id)) == 1


def test_lost_answer_to_a_read_is_retried(emu, make):
    emu.set_fault("GET", R_SESSIONS, "drop_after_processing")
    assert make().call("GET", SESSIONS).attempts == 2


def test_read_timeout_on_create_is_unknown_outcome_not_retried(emu, make):
    emu.set_fault("POST", R_SESSIONS, "delay", seconds=1.5)
    with pytest.raises(UnknownOutcome):
        create(make(read_timeout=0.5))
    assert len(emu.requests("POST", R_SESSIONS)) == 1


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_refused_connection_is_retried_even_for_create(tmp_path):
    port = free_port()
    env = {"DEVIN_API_BASE": f"http://127.0.0.1:{port}", "DEVIN_SERVICE_USER_TOKEN": "cog_refusedtest123",
           "DEVIN_ORG_ID": "org-test", "XDG_STATE_HOME": str(tmp_path)}
    sleeps = Sleeps()
    c = Client(config.load(env), sleep=sleeps)
    with pytest.raises(NetworkError, match="nothing was sent"):
        c.call("POST", SESSIONS, body={"prompt": "p"}, safe_to_repeat=False)
    assert c.sent == 3 and len(sleeps) == 2


@pytest.mark.parametrize("kind,params,match", [
    ("malformed_json", {}, "malformed JSON"),
    ("nan_json", {}, "malformed JSON"),
    ("duplicate_keys", {}, "malformed JSON"),
    ("wrong_content_type", {}, "not JSON"),
    ("oversized", {"bytes": 20 * 2**20}, "too large"),
    ("oversized", {"bytes": 20 * 2**20, "chunked": True}, "exceeded"),
    ("gzip_bomb", {"inflated_bytes": 300 * 2**20}, "exceeded"),
])
def test_hostile_answers_become_api_errors(emu, make, kind, params, match):
    emu.set_fault("GET", R_SESSIONS, kind, **params)
    with pytest.raises(ApiError, match=match) as exc:
        make().call("GET", SESSIONS)
    assert exc.value.exit_code == 8


def test_html_error_page_is_a_clean_error(emu, make):
    emu.set_fault("GET", R_SESSIONS, "html", status=404)
    with pytest.raises(NotFound) as exc:
        make().call("GET", SESSIONS)
    assert "<" not in exc.value.message


def test_dripping_body_is_cut_by_the_deadline(emu, make):
    emu.set_fault("GET", R_SESSIONS, "drip", interval=0.1, bytes=10**6)
    start = time.monotonic()
    with pytest.raises(ApiError, match="deadline"):
        make(deadline_s=1.5).call("GET", SESSIONS)
    assert time.monotonic() - start < 3


def test_permission_refusal_names_the_permission(emu, make):
    from devin_emulator import ALL_PERMISSIONS
    token = emu.add_token(org_id=emu.org_id, permissions=set(ALL_PERMISSIONS) - {"ManageOrgSessions"})
    c = make()
    c.settings.token = token
    with pytest.raises(AuthError, match="ManageOrgSessions") as exc:
        create(c)
    assert exc.value.exit_code == 4 and token not in exc.value.message


def test_unknown_token_is_auth_error(emu, make):
    c = make()
    c.settings.token = "cog_notknowntotheserver"
    with pytest.raises(AuthError, match="401"):
        c.call("GET", SESSIONS)


@pytest.mark.parametrize("bad", ["../secrets", "devin-" + "0" * 31, "devin-%2e%2e", "..", "DEVIN-" + "a" * 32])
def test_path_parameters_are_checked_before_sending(emu, make, bad):
    with pytest.raises(InvalidInput):
        make().call("GET", SESSION, path={"devin_id": bad})
    assert emu.journal == []


@pytest.mark.parametrize("bad", ["..", ".", "a/b", "a%2fb", "a?b", "", "x" * 200, "é"])
def test_resource_ids_are_checked_before_sending(emu, make, bad):
    with pytest.raises(InvalidInput):
        make().call("GET", "/organizations/{org_id}/playbooks/{playbook_id}", path={"playbook_id": bad})
    assert emu.journal == []


def test_query_values_travel_only_as_params(emu, make):
    with pytest.raises(ApiError, match="400"):  # the emulator rejects the cursor, after receiving it intact
        make().call("GET", SESSIONS, params={"after": "a&first=1000#x", "first": 2})
    (entry,) = emu.requests("GET", R_SESSIONS)
    assert entry.query["after"] == ["a&first=1000#x"] and entry.query["first"] == ["2"]


def test_audit_line_for_each_mutating_call(emu, make, tmp_path):
    import json
    c = make()
    create(c, title="t")
    emu.set_fault("POST", R_SESSIONS, "status", status=500)
    with pytest.raises(UnknownOutcome):
        create(c, title="u")
    c.call("GET", SESSIONS)
    lines = [json.loads(x) for x in (tmp_path / "state" / "devin-plugin" / "audit.jsonl").read_text().splitlines()]
    assert [(x["method"], x["outcome"], x["http_status"]) for x in lines] == [
        ("POST", "ok", 200), ("POST", "unknown_outcome", 500)]
    assert lines[0]["prompt"]["length"] == 1 and len(lines[0]["prompt"]["sha256"]) == 64
    assert (tmp_path / "state" / "devin-plugin" / "audit.jsonl").stat().st_mode & 0o777 == 0o600


# -- findings of the older plugin's audit, as the helper meets them ------------------------------------

@pytest.mark.audit("C2")
def test_C2_path_parameters_are_rechecked_in_the_client(emu, tmp_path):
    """C2: the guarded helper itself refuses an id that was not normalised, and an org id or
    resource id with path characters, before any request."""
    c = client(emu, tmp_path)
    for bad in ("../x", f"devin-{HEX}/..", f"DEVIN-{HEX}", HEX):
        with pytest.raises(InvalidInput):
            c.build("GET", SESSION, path={"devin_id": bad})
    for bad in ("..", "a/b", "a?b", "a#b", "a%2e"):
        with pytest.raises(InvalidInput):
            c.build("GET", "/organizations/{org_id}/playbooks/{playbook_id}", path={"playbook_id": bad})
    c.settings.org_id = "org/../x"
    with pytest.raises(InvalidInput):
        c.build("GET", SESSIONS)
    assert wire(emu) == []


@pytest.mark.audit("C6")
def test_C6_rate_limit_is_bounded_and_honours_retry_after(emu, tmp_path):
    """C6: a 429 is retried at most twice more (3 attempts), waiting at least Retry-After, then
    ends as rate_limited (exit 6) saying when to retry; never an unbounded loop of creates."""
    emu.set_fault("POST", R_SESSIONS, "status", status=429, times=None, headers={"Retry-After": "3"})
    sleeps = []
    c = client(emu, tmp_path, sleep=sleeps.append)
    with pytest.raises(RateLimited) as exc:
        c.call("POST", SESSIONS, body={"prompt": "p"}, safe_to_repeat=False)
    assert exc.value.exit_code == 6 and "retry after 3 s" in exc.value.message
    assert len(emu.requests("POST", R_SESSIONS)) == 3 and len(sleeps) == 2 and min(sleeps) >= 3
    assert emu.sessions_in(emu.org_id) == []


@pytest.mark.audit("M2")
def test_M2_every_call_is_bounded(emu, tmp_path):
    """M2 (no global accounting): each call makes at most 3 attempts within one deadline, and paging
    stops at its item cap and on a repeated cursor."""
    from devin_plugin import sessions
    emu.set_fault("GET", R_SESSIONS, "status", status=503, times=None)
    c = client(emu, tmp_path)
    with pytest.raises(ApiError):
        c.call("GET", SESSIONS)
    assert c.sent == 3
    emu.clear_faults()
    emu.seed_sessions(emu.org_id, 450)
    emu.clear_journal()
    got = sessions.list_sessions(client(emu, tmp_path), limit=300)
    assert len(got["items"]) == 300 and len(emu.requests("GET", R_SESSIONS)) == 2
    emu.set_fault("GET", R_SESSIONS, "status", status=200, times=None, content_type="application/json",
                  body={"items": [], "has_next_page": True, "end_cursor": "same"})
    with pytest.raises(ApiError, match="repeated a page cursor"):
        sessions.list_sessions(client(emu, tmp_path), fetch_all=True)


@pytest.mark.audit("M3")
def test_M3_each_call_has_a_total_deadline(emu, tmp_path):
    """M3: connect and read timeouts per attempt and one deadline per call: a server that holds the
    answer longer than the deadline does not hold the caller."""
    emu.set_fault("GET", R_SESSIONS, "delay", seconds=5, times=None)
    start = time.monotonic()
    with pytest.raises((ApiError, NetworkError)):
        client(emu, tmp_path, deadline_s=1.0, read_timeout=30).call("GET", SESSIONS)
    assert time.monotonic() - start < 2.5


@pytest.mark.audit("API10")
def test_API10_redirects_are_not_followed_and_body_not_resent(emu, tmp_path):
    """API10 (unsafe consumption): a 307 on a create is not followed (the body is not re-sent)."""
    from devin_emulator import Emulator
    with Emulator() as catcher:
        emu.set_fault("POST", R_SESSIONS, "redirect", status=307, location=catcher.url + "/v3/self")
        with pytest.raises(ApiError, match="never followed"):
            client(emu, tmp_path).call("POST", SESSIONS, body={"prompt": "p"}, safe_to_repeat=False)
        assert catcher.journal == []


@pytest.mark.audit
def test_not_found_is_typed(emu, tmp_path):
    with pytest.raises(NotFound):
        client(emu, tmp_path).call("GET", SESSION, path={"devin_id": "devin-" + HEX})
