"""Hostile responses, beyond tests/core/test_http_guard.py: each ends in the contract's typed error and
exit code within the call's deadline. Peak memory per case: benchmarks/hostile_memory.py.

Cases already in test_http_guard.py (not repeated): truncated JSON, NaN, duplicate keys, text/plain,
oversized with Content-Length and chunked, a 300 MiB gzip bomb on 200, an HTML 404, a slow drip on a
read, 301/302/307/308 redirects.
"""

from __future__ import annotations

import sys
import time

import pytest

from conftest import ROOT, base_env

sys.path.insert(0, str(ROOT / "tools"))
from chaos import run_inprocess  # noqa: E402

from devin_plugin import config  # noqa: E402
from devin_plugin.errors import (ApiError, AuthError, DevinError, NetworkError, NotFound,  # noqa: E402
                                 UnknownOutcome)
from devin_plugin.http import Client  # noqa: E402

SESSIONS = "/organizations/{org_id}/sessions"
SESSION = SESSIONS + "/{devin_id}"
R_SESSIONS = "/v3" + SESSIONS
R_SESSION = "/v3" + SESSION
DEADLINE = 2.0
SLACK = 1.0  # one last read plus process noise; the helper's bound is deadline + one short read


@pytest.fixture
def make(emu, tmp_path):
    def _make(**kw):
        env = {"DEVIN_API_BASE": emu.url, "DEVIN_SERVICE_USER_TOKEN": emu.token, "DEVIN_ORG_ID": emu.org_id,
               "XDG_STATE_HOME": str(tmp_path / "state"), "XDG_CONFIG_HOME": str(tmp_path / "cfg")}
        kw.setdefault("deadline_s", DEADLINE)
        kw.setdefault("sleep", lambda s: None)
        return Client(config.load(env), **kw)
    return _make


def expect(call, error, within=DEADLINE + SLACK):
    start = time.monotonic()
    with pytest.raises(error) as exc:
        call()
    assert time.monotonic() - start < within, f"took {time.monotonic() - start:.2f}s"
    assert exc.value.exit_code in {4, 5, 6, 7, 8}
    return exc.value


def get_list(c):
    return lambda: c.call("GET", SESSIONS)


def create(c):
    return lambda: c.call("POST", SESSIONS, body={"prompt": "p"}, safe_to_repeat=False)


# -- status codes nobody documented ------------------------------------------------------------------

@pytest.mark.parametrize("status,error,code", [
    (418, ApiError, 8), (451, ApiError, 8), (499, ApiError, 8), (599, ApiError, 8), (501, ApiError, 8),
    (505, ApiError, 8), (410, ApiError, 8), (405, ApiError, 8), (102, ApiError, 8), (103, ApiError, 8),
    (199, ApiError, 8), (300, ApiError, 8), (304, ApiError, 8), (399, ApiError, 8)])
def test_unknown_status_codes_are_typed_errors(emu, make, status, error, code):
    emu.set_fault("GET", R_SESSIONS, "status", status=status, times=None)
    err = expect(get_list(make()), error)
    assert err.exit_code == code and err.http_status == status


@pytest.mark.parametrize("status", [599, 520])
def test_unknown_5xx_on_a_create_is_never_retried(emu, make, status):
    emu.set_fault("POST", R_SESSIONS, "status", status=status, times=None)
    err = expect(create(make()), UnknownOutcome)
    assert err.exit_code == 7 and len(emu.requests("POST", R_SESSIONS)) == 1


@pytest.mark.parametrize("status", [201, 202, 203, 206, 299])
def test_unusual_2xx_must_still_carry_the_expected_shape(emu, make, status):
    """A 2xx with a problem body is not a page of sessions, and not a session."""
    from devin_plugin import sessions
    emu.set_fault("GET", R_SESSIONS, "status", status=status, times=None)
    expect(lambda: sessions.list_sessions(make()), ApiError)
    sid = emu.create_session_direct(emu.org_id, prompt="p")["session_id"]
    emu.set_fault("GET", R_SESSION, "status", status=status, times=None)
    expect(lambda: sessions.get_session(make(), sid), ApiError)


def test_a_204_without_a_body_is_not_a_session(emu, make):
    from devin_plugin import sessions
    sid = emu.create_session_direct(emu.org_id, prompt="p")["session_id"]
    emu.set_fault("GET", R_SESSION, "status", status=204, body=b"", times=None)
    expect(lambda: sessions.get_session(make(), sid), ApiError)


# -- bodies --------------------------------------------------------------------------------------

@pytest.mark.parametrize("body,ctype", [
    ("[" * 100_000 + "]" * 100_000, "application/json"),          # recursion bomb
    ('{"n": ' + "9" * 5000 + "}", "application/json"),             # int_max_str_digits
    (b'{"items": ["\xff\xfe"]}', "application/json"),               # not UTF-8
    ("\ufeff{}", "application/json"),                                # BOM
    ('{"items": [], "x": Infinity}', "application/json"),
    ('{"items": [], "x": -NaN}', "application/json"),
    ("", "application/json"),                                        # empty 200
    ('{"items": []} trailing', "application/json"),
    ("{'items': []}", "application/json"),                           # not JSON at all
    ('{"items": []}', "text/html"), ('{"items": []}', "application/xml"), ('{"items": []}', "application/json5"),
    ('{"items": []}', "application/x-ndjson"), ('{"items": []}', "application/jsonp"),
    ("<html><body>502 Bad Gateway</body></html>", "text/html; charset=utf-8"),
])
def test_malformed_bodies_and_wrong_content_types(emu, make, body, ctype):
    emu.set_fault("GET", R_SESSIONS, "status", status=200, body=body if isinstance(body, (bytes, str)) else body,
                  content_type=ctype, times=None)
    err = expect(get_list(make()), ApiError)
    assert err.exit_code == 8 and "\ufeff" not in err.message and "<html" not in err.message


def test_missing_content_type(emu, make):
    emu.set_fault("GET", R_SESSIONS, "status", status=200, body=b'{"items": []}', content_type="", times=None)
    expect(get_list(make()), ApiError)


@pytest.mark.parametrize("status,error", [(200, ApiError), (404, NotFound), (401, AuthError), (500, ApiError)])
def test_html_error_pages_of_every_kind(emu, make, status, error):
    emu.set_fault("GET", R_SESSIONS, "html", status=status, times=None)
    err = expect(get_list(make()), error)
    assert "<" not in err.message and "nginx" not in err.message


def test_html_page_on_a_create_is_unknown_outcome(emu, make):
    emu.set_fault("POST", R_SESSIONS, "html", status=502)
    expect(create(make()), UnknownOutcome)
    assert len(emu.requests("POST", R_SESSIONS)) == 1


def test_oversized_without_length_or_chunks(emu, make):
    """Close-delimited: no Content-Length, no chunked framing; the decoded-byte cap still holds."""
    emu.set_fault("GET", R_SESSIONS, "oversized", bytes=30 * 2**20, close_delimited=True)
    err = expect(get_list(make()), ApiError)
    assert "exceeded" in err.message


def test_small_cap_applies_to_error_bodies(emu, make):
    """An error answer's body is read only up to 64 KiB for its detail."""
    emu.set_fault("GET", R_SESSIONS, "status", status=404, body={"detail": "x" * 200_000}, times=None,
                  content_type="application/problem+json")
    err = expect(get_list(make()), NotFound)
    assert len(err.message) < 1000


@pytest.mark.parametrize("status,error", [(404, NotFound), (500, ApiError), (200, ApiError)])
def test_gzip_bombs_on_any_status(emu, make, status, error):
    emu.set_fault("GET", R_SESSIONS, "gzip_bomb", inflated_bytes=100 * 2**20, status=status, times=None)
    expect(get_list(make()), error)


def test_gzip_bomb_answering_a_create(emu, make):
    """The create happened or not; a 200 whose body cannot be read is an error, never retried."""
    emu.set_fault("POST", R_SESSIONS, "gzip_bomb", inflated_bytes=50 * 2**20)
    expect(create(make()), (UnknownOutcome, ApiError))
    assert len(emu.requests("POST", R_SESSIONS)) == 1


def test_corrupt_gzip(emu, make):
    emu.set_fault("GET", R_SESSIONS, "status", status=200, body=b"\x1f\x8b\x08\x00garbage-not-deflate",
                  content_type="application/json", headers={"Content-Encoding": "gzip"}, times=None)
    expect(get_list(make()), ApiError)


@pytest.mark.parametrize("declared", ["999999999999", "-1", "12abc"])
def test_lying_content_length(emu, make, declared):
    emu.set_fault("GET", R_SESSIONS, "status", status=200, body=b'{"items": []}', content_type="application/json",
                  headers={"Content-Length": declared}, times=None)
    expect(get_list(make(deadline_s=1.0)), (ApiError, NetworkError))


# -- time ----------------------------------------------------------------------------------------

def test_endless_drip_on_a_create_is_unknown_outcome_within_the_deadline(emu, make):
    emu.set_fault("POST", R_SESSIONS, "drip", interval=0.05, bytes=10**6)
    expect(create(make(deadline_s=1.0)), UnknownOutcome)
    assert len(emu.requests("POST", R_SESSIONS)) == 1


def test_drip_on_an_error_status_body_is_bounded(emu, make):
    emu.set_fault("GET", R_SESSIONS, "drip", interval=0.2, bytes=10**6, times=None)
    expect(get_list(make(deadline_s=1.0, read_timeout=0.5)), (ApiError, NetworkError))


def test_slow_headers_on_every_attempt_end_within_the_deadline(emu, make):
    emu.set_fault("GET", R_SESSIONS, "delay", seconds=5, times=None)
    expect(get_list(make(deadline_s=1.0, read_timeout=0.4)), (ApiError, NetworkError))


# -- redirects -----------------------------------------------------------------------------------

@pytest.mark.parametrize("status", [300, 303, 305, 306, 307, 308, 399])
def test_redirect_loops_and_chains_are_not_followed(emu, make, status):
    loop = emu.url + R_SESSIONS.replace("{org_id}", emu.org_id)
    emu.set_fault("GET", R_SESSIONS, "redirect", status=status, location=loop, times=None)
    err = expect(get_list(make()), ApiError)
    assert "never followed" in err.message and len(emu.requests("GET", R_SESSIONS)) == 1


def test_redirect_with_a_hostile_location_never_reaches_output(emu, dirs):
    emu.set_fault("GET", R_SESSIONS, "redirect", status=302, times=None,
                  location="https://evil.example/?token=cog_stolen1234567890\x1b[31m")
    r = run_inprocess("list_sessions.py", "--json", env=base_env(dirs, emu), cwd=dirs["work"])
    assert r.rc == 8 and "evil.example" not in r.all and "cog_stolen" not in r.all


# -- through the scripts: exit codes of the contract ------------------------------------------------

@pytest.mark.parametrize("kind,params,rc", [
    ("status", {"status": 418}, 8), ("status", {"status": 599}, 8), ("nan_json", {}, 8),
    ("html", {"status": 503}, 8), ("gzip_bomb", {"inflated_bytes": 20 * 2**20}, 8),
    ("redirect", {"status": 302, "location": "http://127.0.0.1:9/x"}, 8), ("drop_before_processing", {}, 7)])
def test_scripts_map_hostile_answers_to_contract_exit_codes(emu, dirs, kind, params, rc):
    emu.set_fault("*", "*", kind, times=None, **params)
    r = run_inprocess("list_sessions.py", "--json", env=base_env(dirs, emu), cwd=dirs["work"])
    assert r.rc == rc, r.all
    assert r.json["error"]["kind"] in ("api_error", "network", "unknown_outcome")
    assert isinstance(r.json["error"]["message"], str) and emu.token not in r.all


def test_every_error_is_a_devin_error():
    assert issubclass(ApiError, DevinError) and issubclass(UnknownOutcome, DevinError)


def test_a_number_that_overflows_to_infinity_is_a_malformed_answer_not_an_internal_error():
    """1e400 parses to inf, which no --json output can carry (it used to crash list_sessions.py --json)."""
    import pytest as _pytest

    from devin_plugin.http_json import loads_strict
    for text in ('{"created_at": 1e400}', '{"a": [-1e999]}', '{"acus_consumed": 2e308}'):
        with _pytest.raises(ValueError, match="out of range"):
            loads_strict(text)
    assert loads_strict('{"a": 1.5e300, "b": 12345678901234567890}') == {"a": 1.5e300, "b": 12345678901234567890}
