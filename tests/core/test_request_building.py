"""Building requests (Client.build), the next page of one (Client.derive) and the audit line a mutating
call leaves (Client.send), in process against the emulator: a file name that could climb out of its
path segment is refused, the next page keeps everything but its cursor, and an odd answer to a mutating
call is recorded without a made-up session id."""

from __future__ import annotations

import io
import json

import pytest
import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import MaxRetryError, NewConnectionError

from devin_plugin import config, routes
from devin_plugin.errors import InvalidInput
from devin_plugin.http import Client
from devin_plugin.paging import collect, first_page

SID = "devin-" + "c" * 32
R_SESSIONS = "/v3/organizations/{org_id}/sessions"


@pytest.fixture
def c(emu, tmp_path):
    env = {"DEVIN_API_BASE": emu.url, "DEVIN_SERVICE_USER_TOKEN": emu.token, "DEVIN_ORG_ID": emu.org_id,
           "HOME": str(tmp_path), "XDG_STATE_HOME": str(tmp_path / "state"), "XDG_CONFIG_HOME": str(tmp_path / "c")}
    return Client(config.load(env), sleep=lambda s: None)


def audit_lines(c):
    path = c.settings.state_dir / "audit.jsonl"
    return [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []


# -- file names in a download path ------------------------------------------------------------------------

@pytest.mark.mutation
@pytest.mark.parametrize("name", ["a..b", "report..md", "x.."])
def test_a_file_name_with_a_dot_dot_is_refused_and_named(c, name):
    with pytest.raises(InvalidInput) as e:
        c.build("GET", routes.ATTACHMENT_FILE, path={"attachment_id": "att-1", "file_name": name})
    assert repr(name) in e.value.message and e.value.exit_code == 2


@pytest.mark.mutation
@pytest.mark.parametrize("name", [5, None, b"a.txt", ["a.txt"]])
def test_a_file_name_that_is_not_text_is_refused(c, name):
    with pytest.raises(InvalidInput):
        c.build("GET", routes.ATTACHMENT_FILE, path={"attachment_id": "att-1", "file_name": name})


@pytest.mark.mutation
def test_a_file_name_with_dots_and_spaces_stays_one_segment(c, emu):
    req = c.build("GET", routes.ATTACHMENT_FILE, path={"attachment_id": "att-1", "file_name": "my report.v2 (1).md"})
    assert req.url == f"{emu.url}/v3/organizations/{emu.org_id}/attachments/att-1/my%20report.v2%20%281%29.md"


# -- the next page ---------------------------------------------------------------------------------------------

@pytest.mark.mutation
def test_derive_keeps_everything_but_the_replaced_parameters(c, emu):
    fh = io.BytesIO(b"data")
    req = c.build("PUT", routes.V1_TAGS, path={"session_id": "abc123"}, params={"first": 5, "x": "1"},
                  body={"tags": ["a"]}, files=("a.txt", fh, 4, "text/plain"), action="set_tags", version="v1",
                  safe_to_repeat=False)
    nxt = c.derive(req, params={"after": "cur", "first": 7})
    assert nxt.params == {"first": 7, "x": "1", "after": "cur"}
    assert nxt.url == f"{emu.url}/v1/sessions/abc123/tags"
    same = ("method", "template", "url", "path", "body", "files", "session_id", "action", "mutating",
            "safe_to_repeat", "path_values", "version")
    assert {k: getattr(nxt, k) for k in same} == {k: getattr(req, k) for k in same}
    assert nxt.version == "v1" and nxt.path.startswith("/v1/") and nxt.files[1] is fh
    assert nxt.path_values == {"session_id": "abc123"} and nxt.action == "set_tags" and nxt.safe_to_repeat is False


@pytest.mark.mutation
def test_the_pages_of_a_sessions_messages_stay_on_that_session(c, emu):
    sid = emu.create_session_direct(emu.org_id, prompt="first", title="t", status="running", status_detail="working",
                                    messages=[{"message": f"m{i}"} for i in range(7)])["session_id"]
    req = first_page(c, "GET", routes.SESSION_MESSAGES, path={"devin_id": sid}, max_items=3)
    got = collect(c, req, max_items=8)
    assert len(got["items"]) == 8
    paths = {e.path for e in emu.requests("GET")}
    assert paths == {f"/v3/organizations/{emu.org_id}/sessions/{sid}/messages"}
    assert len(emu.requests("GET")) == 2  # the second page asked for the 5 still wanted


# -- the audit line of a mutating call ---------------------------------------------------------------------------

@pytest.mark.mutation
def test_a_mutating_call_without_an_action_name_is_recorded_under_its_method(c):
    c.call("POST", routes.SESSIONS, body={"prompt": "p"}, safe_to_repeat=False)
    (line,) = audit_lines(c)
    assert line["action"] == "post" and line["outcome"] == "ok"


@pytest.mark.mutation
@pytest.mark.parametrize("answer", [[{"session_id": SID}], "text", None, 7])
def test_an_answer_that_is_not_an_object_is_recorded_without_a_session(c, emu, answer):
    emu.set_fault("POST", R_SESSIONS, "status", status=200, body=json.dumps(answer), content_type="application/json")
    assert c.call("POST", routes.SESSIONS, body={"prompt": "p"}, action="create_session",
                  safe_to_repeat=False).data == answer
    (line,) = audit_lines(c)
    assert line["session_id"] is None and line["http_status"] == 200


@pytest.mark.mutation
@pytest.mark.parametrize("made", ["../../etc/passwd", "devin-XYZ", 12, ["devin-" + "d" * 32], "devin-" + "d" * 33])
def test_a_made_up_session_id_never_reaches_the_audit_log(c, emu, made):
    emu.set_fault("POST", R_SESSIONS, "status", status=201, body={"session_id": made}, content_type="application/json")
    c.call("POST", routes.SESSIONS, body={"prompt": "p"}, action="create_session", safe_to_repeat=False)
    (line,) = audit_lines(c)
    assert line["session_id"] is None


@pytest.mark.mutation
def test_the_created_session_is_named_in_the_audit_log(c):
    made = c.call("POST", routes.SESSIONS, body={"prompt": "p"}, action="create_session", safe_to_repeat=False).data
    (line,) = audit_lines(c)
    assert line["session_id"] == made["session_id"] and line["action"] == "create_session"


# -- a create whose connection provably failed is sent again ------------------------------------------------------

class FlakyTransport(HTTPAdapter):
    """The real transport, but the first send fails with `error` before reaching the server."""

    def __init__(self, error):
        super().__init__(max_retries=0)
        self.error, self.sends = error, 0

    def send(self, request, **kw):
        self.sends += 1
        if self.sends == 1:
            raise self.error
        return super().send(request, **kw)


def connection_failure_behind_a_repeated_exception():
    """requests' ConnectionError around urllib3's MaxRetryError, whose reason is the failed connection and
    which was raised from (and while handling) another error: the chain names that error twice."""
    other = OSError("while handling something else")
    inner = MaxRetryError(None, "/v3/x", reason=NewConnectionError(None, "connection refused"))
    inner.__cause__ = inner.__context__ = other
    return requests.exceptions.ConnectionError(inner)


@pytest.mark.mutation
def test_a_create_that_never_connected_is_sent_again(emu, tmp_path):
    env = {"DEVIN_API_BASE": emu.url, "DEVIN_SERVICE_USER_TOKEN": emu.token, "DEVIN_ORG_ID": emu.org_id,
           "HOME": str(tmp_path), "XDG_STATE_HOME": str(tmp_path / "state"), "XDG_CONFIG_HOME": str(tmp_path / "c")}
    t = FlakyTransport(connection_failure_behind_a_repeated_exception())
    c = Client(config.load(env), transport=t, sleep=lambda s: None)
    resp = c.call("POST", routes.SESSIONS, body={"prompt": "p"}, action="create_session", safe_to_repeat=False)
    assert resp.attempts == 2 and len(emu.requests("POST", R_SESSIONS)) == 1
    assert [s["session_id"] for s in emu.sessions_in(emu.org_id)] == [resp.data["session_id"]]


@pytest.mark.mutation
def test_a_route_without_the_org_never_needs_or_carries_it(c):
    """GET /self names no organization: check_setup calls it to find the token's org when DEVIN_ORG_ID is
    missing or malformed, so the org id is neither checked nor used there."""
    for org in (None, "not an org id/../x"):
        c.settings.org_id = org
        req = c.build("GET", routes.SELF)
        assert req.path == "/v3/self" and req.params == {}
    with pytest.raises(InvalidInput, match="invalid org_id"):
        c.build("GET", routes.SESSIONS)


@pytest.mark.mutation
def test_the_state_directory_is_probed_once_per_client(c, monkeypatch):
    from devin_plugin import audit
    probes = []
    monkeypatch.setattr(audit, "check_writable", lambda path: probes.append(path))
    c.ready_to_write()
    c.ready_to_write()
    assert probes == [c.settings.state_dir]
