"""Shared helpers for the emulator tests (imported explicitly; not a conftest)."""

from __future__ import annotations

import os
import sys

_LIB = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "lib")
if _LIB not in sys.path:
    sys.path.insert(0, _LIB)

import pytest  # noqa: E402
import requests  # noqa: E402

from devin_emulator import Emulator  # noqa: E402


class Client:
    """A thin requests wrapper bound to one emulator, one token and one API version."""

    def __init__(self, emu: Emulator, token: str | None = None, version: str = "v3",
                 org_id: str | None = None):
        self.emu = emu
        self.token = token if token is not None else emu.token
        self.version = version
        self.org_id = org_id or emu.org_id
        self.http = requests.Session()

    @property
    def org(self) -> str:
        return f"{self.emu.url}/{self.version}/organizations/{self.org_id}"

    def url(self, path: str) -> str:
        if path.startswith("http"):
            return path
        if path.startswith("/"):
            return self.emu.url + path
        return f"{self.org}/{path}"

    def req(self, method: str, path: str, **kw) -> requests.Response:
        headers = kw.pop("headers", {})
        if self.token and "Authorization" not in headers:
            headers["Authorization"] = "Bearer " + self.token
        kw.setdefault("timeout", 10)
        return self.http.request(method, self.url(path), headers=headers, **kw)

    def get(self, path, **kw):
        return self.req("GET", path, **kw)

    def post(self, path, **kw):
        return self.req("POST", path, **kw)

    def put(self, path, **kw):
        return self.req("PUT", path, **kw)

    def delete(self, path, **kw):
        return self.req("DELETE", path, **kw)

    def create(self, prompt: str = "Fix the flaky test in tests/test_x.py", **fields) -> dict:
        r = self.post("sessions", json={"prompt": prompt, **fields})
        assert r.status_code == 200, r.text
        return r.json()

    def session(self, sid: str) -> dict:
        r = self.get(f"sessions/{sid}")
        assert r.status_code == 200, r.text
        return r.json()

    def messages(self, sid: str) -> list[dict]:
        r = self.get(f"sessions/{sid}/messages", params={"first": 200})
        assert r.status_code == 200, r.text
        return r.json()["items"]

    def close(self):
        self.http.close()


@pytest.fixture
def emu():
    e = Emulator(seed=1234)
    e.start()
    try:
        yield e
    finally:
        e.stop()
        assert not e.internal_errors, e.internal_errors[0]


@pytest.fixture
def client(emu):
    c = Client(emu)
    yield c
    c.close()


def assert_problem(r: requests.Response, status: int, detail_contains: str | None = None) -> dict:
    assert r.status_code == status, (r.status_code, r.text)
    assert r.headers["Content-Type"].startswith("application/problem+json"), r.headers
    body = r.json()
    assert body["status"] == status
    assert isinstance(body["title"], str) and body["title"]
    assert "type" in body and "detail" in body and "instance" in body
    if detail_contains is not None:
        assert detail_contains in body["detail"], body
    return body


def assert_validation(r: requests.Response, loc_tail: str | None = None) -> list:
    assert r.status_code == 422, (r.status_code, r.text)
    detail = r.json()["detail"]
    assert isinstance(detail, list) and detail
    for d in detail:
        assert {"loc", "msg", "type"} <= set(d)
    if loc_tail is not None:
        assert any(d["loc"][-1] == loc_tail for d in detail), detail
    return detail
