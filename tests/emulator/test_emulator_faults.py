"""Every fault kind, observed by a real HTTP client."""

from __future__ import annotations

import http.client
import json
import socket
import time
import zlib

import pytest
import requests

import emulator_fixtures  # noqa: F401
from emulator_fixtures import Client, assert_problem, client, emu  # noqa: F401

from devin_emulator import FAULT_KINDS, Emulator

R_SESSIONS = "/v3/organizations/{org_id}/sessions"
R_SESSION = "/v3/organizations/{org_id}/sessions/{devin_id}"


def raw(emu, method, path, body=None, headers=None, timeout=10):
    """(status, headers, raw body bytes) via http.client: no decoding, no redirects."""
    host, port = emu.url.rsplit("//", 1)[1].split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=timeout)
    h = {"Authorization": "Bearer " + emu.token, **(headers or {})}
    data = json.dumps(body).encode() if body is not None else None
    if data is not None:
        h["Content-Type"] = "application/json"
    conn.request(method, path, body=data, headers=h)
    resp = conn.getresponse()
    out = resp.read()
    conn.close()
    return resp.status, resp.headers, out


def sessions_path(emu):
    return f"/v3/organizations/{emu.org_id}/sessions"


def test_fault_kinds_constant():
    assert FAULT_KINDS == {"status", "delay", "drop_after_processing", "drop_before_processing", "redirect",
                           "malformed_json", "nan_json", "duplicate_keys", "html", "wrong_content_type",
                           "oversized", "drip", "gzip_bomb", "status_after_processing", "taint_strings"}


def test_status_429_retry_after_not_processed(client, emu):
    emu.set_fault("POST", R_SESSIONS, "status", status=429, headers={"Retry-After": "1"})
    r = client.post("sessions", json={"prompt": "x"})
    body = assert_problem(r, 429)
    assert r.headers["Retry-After"] == "1"
    assert body["instance"] == sessions_path(emu)
    assert emu.sessions_in(emu.org_id) == []  # not processed
    # times=1: the next one goes through
    assert client.post("sessions", json={"prompt": "x"}).status_code == 200
    statuses = [e.status for e in emu.requests("POST", R_SESSIONS)]
    assert statuses == [429, 200]
    assert emu.requests("POST", R_SESSIONS)[0].fault == "status"


@pytest.mark.parametrize("status", [500, 502, 503, 504, 418, 599])
def test_status_codes_including_unknown(client, emu, status):
    emu.set_fault("GET", R_SESSIONS, "status", status=status)
    r = client.get("sessions")
    assert r.status_code == status


def test_status_custom_body(client, emu):
    emu.set_fault("GET", "*", "status", status=503, body={"detail": "maintenance", "retry_after": 3})
    r = client.get("sessions")
    assert r.status_code == 503 and r.json() == {"detail": "maintenance", "retry_after": 3}
    emu.set_fault("GET", "*", "status", status=500, body="plain failure")
    r = client.get("/v3/self")
    assert r.text == "plain failure" and r.headers["Content-Type"].startswith("text/plain")


def test_times_forever_probability_and_matching(client, emu):
    emu.set_fault("GET", R_SESSIONS, "status", status=500, times=3)
    assert [client.get("sessions").status_code for _ in range(4)] == [500, 500, 500, 200]
    emu.set_fault("*", "*", "status", status=503, times=None)
    assert client.get("/v3/self").status_code == 503
    assert client.post("sessions", json={"prompt": "x"}).status_code == 503
    assert client.get("/nope").status_code == 503  # route "*" also matches unknown paths
    emu.clear_faults()
    assert client.get("/v3/self").status_code == 200
    # method and route must match
    emu.set_fault("POST", R_SESSIONS, "status", status=500)
    assert client.get("sessions").status_code == 200
    assert client.post("sessions/devin-" + "0" * 32 + "/archive").status_code == 404
    assert client.post("sessions", json={"prompt": "x"}).status_code == 500
    # probability: 0 never, 1 always, 0.5 sometimes (seeded)
    emu.set_fault("GET", R_SESSIONS, "status", status=500, times=None, probability=0.0)
    assert all(client.get("sessions").status_code == 200 for _ in range(10))
    emu.clear_faults()
    emu.set_fault("GET", R_SESSIONS, "status", status=500, times=None, probability=1.0)
    assert all(client.get("sessions").status_code == 500 for _ in range(5))
    emu.clear_faults()
    emu.set_fault("GET", R_SESSIONS, "status", status=500, times=None, probability=0.5)
    codes = [client.get("sessions").status_code for _ in range(40)]
    assert 5 < codes.count(500) < 35


def test_probability_is_seedable():
    def run():
        with Emulator(seed=7) as e:
            c = Client(e)
            e.set_fault("GET", R_SESSIONS, "status", status=500, times=None, probability=0.5)
            return [c.get("sessions").status_code for _ in range(20)]
    assert run() == run()


def test_set_fault_rejects_nonsense(emu):
    with pytest.raises(ValueError):
        emu.set_fault("GET", R_SESSIONS, "explode")
    with pytest.raises(ValueError):
        emu.set_fault("GET", "/v3/organizations/{org}/sessions", "status", status=500)
    with pytest.raises(ValueError):
        emu.set_fault("GET", R_SESSIONS, "status")
    with pytest.raises(ValueError):
        emu.set_fault("GET", R_SESSIONS, "status", status=500, probability=2)
    assert R_SESSIONS in emu.routes() and "/v1/sessions/{session_id}/tags" in emu.routes()


def test_delay(client, emu):
    emu.set_fault("POST", R_SESSIONS, "delay", seconds=0.4)
    t0 = time.monotonic()
    r = client.post("sessions", json={"prompt": "x"})
    assert time.monotonic() - t0 >= 0.39
    assert r.status_code == 200 and len(emu.sessions_in(emu.org_id)) == 1
    with pytest.raises(requests.exceptions.Timeout):
        emu.set_fault("GET", R_SESSIONS, "delay", seconds=1.0)
        client.get("sessions", timeout=0.2)


def test_drop_after_processing_creates_the_session(client, emu):
    emu.set_fault("POST", R_SESSIONS, "drop_after_processing")
    with pytest.raises(requests.exceptions.ConnectionError):
        client.post("sessions", json={"prompt": "did it happen?"})
    sessions = emu.sessions_in(emu.org_id)
    assert len(sessions) == 1 and sessions[0]["prompt"] == "did it happen?"
    (entry,) = emu.requests("POST", R_SESSIONS)
    assert entry.status is None and entry.json == {"prompt": "did it happen?"}
    # at http.client level: RemoteDisconnected, no bytes at all
    emu.set_fault("GET", R_SESSIONS, "drop_after_processing")
    with pytest.raises((http.client.RemoteDisconnected, ConnectionError)):
        raw(emu, "GET", sessions_path(emu))


def test_drop_before_processing(client, emu):
    emu.set_fault("POST", R_SESSIONS, "drop_before_processing")
    with pytest.raises(requests.exceptions.ConnectionError):
        client.post("sessions", json={"prompt": "x"})
    assert emu.sessions_in(emu.org_id) == []
    assert emu.journal[-1].status is None


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_redirect(client, emu, status):
    emu.set_fault("POST", R_SESSIONS, "redirect", status=status, location="http://127.0.0.2:9/v3/self")
    r = client.post("sessions", json={"prompt": "x"}, allow_redirects=False)
    assert r.status_code == status and r.headers["Location"] == "http://127.0.0.2:9/v3/self"
    assert emu.sessions_in(emu.org_id) == []


def test_redirect_default_status(client, emu):
    emu.set_fault("GET", R_SESSIONS, "redirect", location="/v3/self")
    r = client.get("sessions", allow_redirects=False)
    assert r.status_code == 302


def test_malformed_json_is_processed(client, emu):
    emu.set_fault("POST", R_SESSIONS, "malformed_json")
    r = client.post("sessions", json={"prompt": "x"})
    assert r.status_code == 200 and r.headers["Content-Type"] == "application/json"
    with pytest.raises(ValueError):
        json.loads(r.content)
    assert int(r.headers["Content-Length"]) == len(r.content)
    assert len(emu.sessions_in(emu.org_id)) == 1


def test_nan_json(client, emu):
    client.create()
    emu.set_fault("GET", R_SESSIONS, "nan_json")
    r = client.get("sessions")
    assert b"NaN" in r.content

    def strict(name):
        raise ValueError(name)
    with pytest.raises(ValueError):
        json.loads(r.content, parse_constant=strict)


def test_duplicate_keys(client, emu):
    s = client.create()
    emu.set_fault("GET", R_SESSION, "duplicate_keys")
    r = client.get(f"sessions/{s['session_id']}")
    pairs = json.loads(r.content, object_pairs_hook=lambda p: p)
    keys = [k for k, _ in pairs]
    assert len(keys) != len(set(keys)) and keys.count("status") == 2
    assert r.json()["status"] == "duplicate"  # a naive last-wins parser is misled


def test_html_error_page(client, emu):
    emu.set_fault("GET", R_SESSIONS, "html")
    r = client.get("sessions")
    assert r.status_code == 502 and r.headers["Content-Type"].startswith("text/html")
    assert b"<html>" in r.content
    emu.set_fault("GET", R_SESSIONS, "html", status=404)
    assert client.get("sessions").status_code == 404


def test_wrong_content_type(client, emu):
    emu.set_fault("GET", "/v3/self", "wrong_content_type")
    r = client.get("/v3/self")
    assert r.status_code == 200 and r.headers["Content-Type"] == "text/plain"
    assert json.loads(r.content)["org_id"] == emu.org_id


def test_oversized_with_content_length(emu):
    emu.set_fault("GET", R_SESSIONS, "oversized", bytes=3 * 2 ** 20)
    status, headers, body = raw(emu, "GET", sessions_path(emu))
    assert status == 200 and int(headers["Content-Length"]) == 3 * 2 ** 20 == len(body)
    assert json.loads(body)["items"] == []


def test_oversized_chunked(emu):
    emu.set_fault("GET", R_SESSIONS, "oversized", bytes=2 ** 20, chunked=True)
    status, headers, body = raw(emu, "GET", sessions_path(emu))
    assert headers.get("Content-Length") is None and headers["Transfer-Encoding"] == "chunked"
    assert len(body) == 2 ** 20


def test_oversized_close_delimited(emu):
    emu.set_fault("GET", R_SESSIONS, "oversized", bytes=100_000, close_delimited=True)
    status, headers, body = raw(emu, "GET", sessions_path(emu))
    assert headers.get("Content-Length") is None and headers.get("Transfer-Encoding") is None
    assert len(body) == 100_000


def test_oversized_client_can_hang_up(emu):
    emu.set_fault("GET", R_SESSIONS, "oversized", bytes=500 * 2 ** 20)
    r = requests.get(emu.url + sessions_path(emu), headers={"Authorization": "Bearer " + emu.token},
                     stream=True, timeout=5)
    assert int(r.headers["Content-Length"]) == 500 * 2 ** 20
    assert len(r.raw.read(1 << 16)) > 0
    r.close()  # the server notices the broken pipe and moves on
    assert Client(emu).get("/v3/self").status_code == 200


def test_drip_is_slow(emu):
    emu.set_fault("GET", R_SESSIONS, "drip", interval=0.05, bytes=16)
    t0 = time.monotonic()
    status, headers, body = raw(emu, "GET", sessions_path(emu))
    assert time.monotonic() - t0 >= 0.05 * 15 * 0.9
    assert status == 200 and len(body) == 16 == int(headers["Content-Length"])


def test_drip_trips_a_read_timeout_and_stops_when_client_leaves(emu):
    emu.set_fault("GET", R_SESSIONS, "drip", interval=0.3, bytes=10 ** 6)
    host, port = emu.url.rsplit("//", 1)[1].split(":")
    s = socket.create_connection((host, int(port)), timeout=2)
    s.sendall(f"GET {sessions_path(emu)} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {emu.token}\r\n\r\n".encode())
    head = b""
    while b"\r\n\r\n" not in head:
        head += s.recv(4096)
    s.settimeout(0.1)
    with pytest.raises(socket.timeout):
        while True:
            if not s.recv(1):  # pragma: no cover
                break
    s.close()
    t0 = time.monotonic()
    emu.stop()  # the drip thread must not hold up stop()
    assert time.monotonic() - t0 < 1.5


def test_gzip_bomb(emu):
    inflated = 10 * 2 ** 20
    emu.set_fault("GET", R_SESSIONS, "gzip_bomb", inflated_bytes=inflated)
    status, headers, body = raw(emu, "GET", sessions_path(emu))
    assert status == 200 and headers["Content-Encoding"] == "gzip"
    assert headers["Content-Type"] == "application/json"
    assert len(body) < inflated / 100
    assert len(zlib.decompress(body, 31)) == inflated


def test_journal_records_faulted_requests(client, emu):
    emu.set_fault("GET", R_SESSIONS, "status", status=500)
    emu.set_fault("POST", R_SESSIONS, "drop_before_processing")
    client.get("sessions")
    with pytest.raises(requests.exceptions.ConnectionError):
        client.post("sessions", json={"prompt": "x"})
    j = emu.journal
    assert [(e.method, e.route, e.status, e.fault) for e in j] == [
        ("GET", R_SESSIONS, 500, "status"), ("POST", R_SESSIONS, None, "drop_before_processing")]
    assert j[0].query == {} and j[1].body == b'{"prompt": "x"}'


def test_status_after_processing_commits_then_answers_the_status(client, emu):
    emu.set_fault("POST", R_SESSIONS, "status_after_processing", status=429)
    r = client.post("sessions", json={"prompt": "x", "title": "committed"})
    assert r.status_code == 429 and r.headers["Content-Type"].startswith("application/problem+json")
    assert [s for s in client.get("sessions").json()["items"] if s["title"] == "committed"]


def test_taint_strings_appends_to_free_text_and_keeps_ids(client, emu):
    s = client.create(title="plain")
    emu.set_fault("GET", R_SESSIONS + "/{devin_id}", "taint_strings", text="<<echo>>")
    got = client.get(f"sessions/{s['session_id']}").json()
    assert got["title"] == "plain<<echo>>" and got["session_id"] == s["session_id"] and got["status"] == s["status"]
