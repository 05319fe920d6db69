"""The Client's transport seam (shaped like requests' HTTPAdapter, used the way httpx's
MockTransport is): every guard above the transport still applies when the answer comes from a
function in process, and a script run in process through cli.run takes the same seam."""

from __future__ import annotations

import json
import sys

import pytest

from conftest import ROOT, base_env
from devin_plugin import config
from devin_plugin.errors import ApiError, UnknownOutcome
from devin_plugin.http import Client
from transport_helpers import FunctionTransport

sys.path.insert(0, str(ROOT / "tools"))
from chaos import run_inprocess  # noqa: E402

SID = "devin-" + "a" * 32
ENV = {"DEVIN_API_BASE": "http://127.0.0.1:9", "DEVIN_ORG_ID": "org-seam",
       "DEVIN_SERVICE_USER_TOKEN": "cog_" + "s" * 40}




def ok_json(doc, status=200):
    return lambda req: (status, {"Content-Type": "application/json"}, json.dumps(doc).encode())


def client(transport, **kw):
    return Client(config.load(ENV), transport=transport, sleep=lambda s: None, **kw)


def test_a_request_goes_through_the_transport_with_the_token_and_no_network():
    t = FunctionTransport(ok_json({"session_id": SID, "org_id": "org-seam", "status": "running"}))
    data = client(t).call("GET", "/organizations/{org_id}/sessions/{devin_id}", path={"devin_id": SID}).data
    assert data["session_id"] == SID
    (req,) = t.seen
    assert req.url == f"http://127.0.0.1:9/v3/organizations/org-seam/sessions/{SID}"
    assert req.headers["Authorization"] == "Bearer " + ENV["DEVIN_SERVICE_USER_TOKEN"]


def test_guards_above_the_transport_still_hold():
    redirect = FunctionTransport(lambda req: (307, {"Location": "https://evil.example/"}, b""))
    with pytest.raises(ApiError, match="redirect"):
        client(redirect).call("GET", "/organizations/{org_id}/sessions")
    assert len(redirect.seen) == 1  # never followed
    huge = FunctionTransport(lambda req: (200, {"Content-Type": "application/json"}, b"[" + b"1," * 100_000 + b"1]"))
    with pytest.raises(ApiError, match="exceeded"):
        client(huge, max_bytes=1000).call("GET", "/organizations/{org_id}/sessions")
    busy = FunctionTransport(lambda req: (503, {"Content-Type": "application/json"}, b"{}"))
    with pytest.raises(UnknownOutcome):  # a create is never repeated after a 5xx
        client(busy).call("POST", "/organizations/{org_id}/sessions", body={"prompt": "x"}, safe_to_repeat=False)
    assert len(busy.seen) == 1
    reads = FunctionTransport(lambda req: (503, {"Content-Type": "application/json"}, b"{}"))
    with pytest.raises(ApiError):
        client(reads).call("GET", "/organizations/{org_id}/sessions")
    assert len(reads.seen) == 3  # reads get three attempts


def test_a_script_runs_in_process_over_the_seam(dirs):
    t = FunctionTransport(ok_json({"session_id": SID, "org_id": "org-seam", "status": "running", "title": "T"}))
    env = dict(base_env(dirs), **ENV)
    r = run_inprocess("get_session.py", SID, "--json", env=env, transport=t)
    assert r.rc == 0, r.all
    assert json.loads(r.out)["title"] == "T" and len(t.seen) == 1
    assert ENV["DEVIN_SERVICE_USER_TOKEN"] not in r.all
