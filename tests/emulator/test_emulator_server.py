"""Server mechanics: keep-alive, concurrency, stop(), journal, control API, the CLI."""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

import emulator_fixtures  # noqa: F401
from emulator_fixtures import _LIB, Client, client, emu  # noqa: F401

from devin_emulator import Emulator, RealClock

R_SESSIONS = "/v3/organizations/{org_id}/sessions"


def hostport(emu):
    host, port = emu.url.rsplit("//", 1)[1].split(":")
    return host, int(port)


def test_keep_alive_many_requests_one_connection(emu):
    conn = http.client.HTTPConnection(*hostport(emu), timeout=5)
    h = {"Authorization": "Bearer " + emu.token, "Content-Type": "application/json"}
    path = f"/v3/organizations/{emu.org_id}/sessions"
    for i in range(20):
        conn.request("POST", path, body=json.dumps({"prompt": f"p{i}"}), headers=h)
        r = conn.getresponse()
        assert r.status == 200 and r.getheader("Content-Length")
        r.read()
        conn.request("GET", "/nope", headers=h)  # error answers keep the connection too
        r = conn.getresponse()
        assert r.status == 404
        r.read()
    sock_before = conn.sock
    conn.request("GET", path, headers=h)
    r = conn.getresponse()
    assert json.loads(r.read())["total"] == 20
    assert conn.sock is sock_before  # never reconnected
    conn.close()


def test_connection_close_honoured(emu):
    conn = http.client.HTTPConnection(*hostport(emu), timeout=5)
    conn.request("GET", "/v3/self", headers={"Authorization": "Bearer " + emu.token, "Connection": "close"})
    r = conn.getresponse()
    assert r.getheader("Connection") == "close"
    r.read()
    conn.close()


def test_head_and_options_are_405(client):
    assert client.req("HEAD", "/v3/self").status_code == 405
    assert client.req("OPTIONS", "sessions").status_code == 405


def test_chunked_request_body(emu):
    def gen():
        yield b'{"prompt": '
        yield b'"chunked body"}'
    r = requests.post(f"{emu.url}/v3/organizations/{emu.org_id}/sessions", data=gen(),
                      headers={"Authorization": "Bearer " + emu.token, "Content-Type": "application/json"})
    assert r.status_code == 200, r.text
    assert emu.requests("POST", R_SESSIONS)[0].json == {"prompt": "chunked body"}


def test_bad_content_length_is_400(emu):
    s = socket.create_connection(hostport(emu), timeout=5)
    s.sendall(b"POST /v3/self HTTP/1.1\r\nHost: x\r\nContent-Length: banana\r\n\r\n")
    data = s.recv(65536)
    s.close()
    assert data.startswith(b"HTTP/1.1 400")


def test_concurrent_clients(emu):
    def work(i):
        c = Client(emu)
        s = c.create(f"task {i}")
        assert c.session(s["session_id"])["session_id"] == s["session_id"]
        c.close()
        return s["session_id"]
    with ThreadPoolExecutor(16) as ex:
        ids = list(ex.map(work, range(64)))
    assert len(set(ids)) == 64
    assert len(emu.sessions_in(emu.org_id)) == 64
    assert len(emu.journal) == 128


def test_stop_is_fast_and_leaks_nothing():
    before = {t.ident for t in threading.enumerate()}
    e = Emulator()
    url = e.start()
    c = Client(e)
    assert c.get("/v3/self").status_code == 200  # leaves an idle keep-alive connection open
    conns = [socket.create_connection(hostport(e)) for _ in range(3)]  # idle sockets, no request
    t0 = time.monotonic()
    e.stop()
    assert time.monotonic() - t0 < 1.5
    leftover = [t for t in threading.enumerate() if t.ident not in before and t.is_alive()]
    assert leftover == []
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(url + "/v3/self", timeout=2)
    for s in conns:
        s.close()
    c.close()
    e.stop()  # idempotent


def test_context_manager_and_restart():
    with Emulator() as e:
        assert Client(e).get("/v3/self").status_code == 200
    assert e._server is None


def test_loopback_only():
    with pytest.raises(ValueError):
        Emulator(host="0.0.0.0").start()
    with pytest.raises(ValueError):
        Emulator(host="example.com").start()


def test_journal_entry_fields(client, emu):
    client.get("sessions", params=[("tags", "a"), ("tags", "b"), ("first", "5")],
               headers={"X-Custom": "yes"})
    client.post("sessions", json={"prompt": "p"})
    e1, e2 = emu.journal
    assert (e1.method, e1.path, e1.route, e1.status) == ("GET", f"/v3/organizations/{emu.org_id}/sessions",
                                                         R_SESSIONS, 200)
    assert e1.query == {"tags": ["a", "b"], "first": ["5"]}
    assert e1.headers["x-custom"] == "yes" and e1.headers.get("X-CUSTOM") == "yes"
    assert "authorization" in e1.headers
    assert e1.body == b"" and e1.json is None and e1.time == emu.clock.now()
    assert e2.json == {"prompt": "p"} and e2.body == b'{"prompt": "p"}'
    emu.clear_journal()
    assert emu.journal == []


def test_journal_for_unknown_route(client, emu):
    client.get("/v9/whatever")
    (e,) = emu.journal
    assert e.route is None and e.status == 404


def test_control_api(emu):
    base = emu.url + "/_emulator/"

    def post(name, body=None):
        req = urllib.request.Request(base + name, data=json.dumps(body or {}).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=5) as r:
            return json.loads(r.read())

    def get(name):
        with urllib.request.urlopen(base + name, timeout=5) as r:
            return json.loads(r.read())

    t0 = get("now")["now"]
    assert post("advance", {"seconds": 30})["now"] == t0 + 30
    post("fault", {"method": "GET", "route": "/v3/self", "kind": "status", "status": 429,
                   "headers": {"Retry-After": "2"}})
    c = Client(emu)
    r = c.get("/v3/self")
    assert r.status_code == 429 and r.headers["Retry-After"] == "2"
    post("fault", {"method": "GET", "route": "*", "kind": "status", "times": None, "params": {"status": 500}})
    assert get("faults")["items"][0]["kind"] == "status"
    post("clear_faults")
    assert c.get("/v3/self").status_code == 200
    items = get("journal")["items"]
    assert [i["status"] for i in items] == [429, 200]  # control calls are not journaled
    post("clear_journal")
    assert get("journal")["items"] == []
    tok = post("add_token", {"org_id": "org-ctl", "permissions": ["ViewOrgSessions"]})["token"]
    ids = post("seed_sessions", {"org_id": "org-ctl", "n": 3})["session_ids"]
    r = Client(emu, tok, org_id="org-ctl").get("sessions")
    assert {s["session_id"] for s in r.json()["items"]} == set(ids)
    post("script_replies", {"replies": ["hello?"]})
    assert emu._replies[-1] == "hello?"
    with pytest.raises(urllib.error.HTTPError) as ei:
        post("fault", {"kind": "nope"})
    assert ei.value.code == 400
    with pytest.raises(urllib.error.HTTPError) as ei:
        post("explode")
    assert ei.value.code == 404


def test_cli_prints_json_line_and_serves():
    env = dict(os.environ, PYTHONPATH=_LIB)
    p = subprocess.Popen([sys.executable, "-m", "devin_emulator", "--port", "0", "--seed-sessions", "5",
                          "--speed", "50"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True)
    try:
        line = p.stdout.readline()
        info = json.loads(line)
        assert set(info) == {"url", "org_id", "token"}
        assert info["url"].startswith("http://127.0.0.1:") and info["token"].startswith("cog_")
        r = requests.get(f"{info['url']}/v3/organizations/{info['org_id']}/sessions",
                         headers={"Authorization": "Bearer " + info["token"]}, timeout=5)
        assert r.status_code == 200 and r.json()["total"] == 5
        # real-time clock: created sessions move on by themselves (speed 50)
        r = requests.post(f"{info['url']}/v3/organizations/{info['org_id']}/sessions", json={"prompt": "x"},
                          headers={"Authorization": "Bearer " + info["token"]}, timeout=5)
        sid = r.json()["session_id"]
        time.sleep(0.3)
        r = requests.get(f"{info['url']}/v3/organizations/{info['org_id']}/sessions/{sid}",
                         headers={"Authorization": "Bearer " + info["token"]}, timeout=5)
        assert r.json()["status"] == "running"
    finally:
        p.terminate()
        p.wait(10)
    assert p.returncode == 0, p.stderr.read()


def test_real_clock_emulator_constructor():
    e = Emulator(clock=RealClock(speed=2.0))
    assert abs(e.clock.now() - time.time()) < 5
