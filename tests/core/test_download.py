"""Downloading an attachment in process: Client.download (the API's one redirect to a presigned URL on
another host), _download_target (where that redirect may lead) and _stream (the size cap and the deadline
while reading), with downloads.save and list_attachments.py around them. Over loopback against the
emulator, whose attachment route answers 307 to an unauthenticated /_presigned/<key> path; a recording
subclass of requests' HTTPAdapter (the Client's transport seam) notes what the Client handed it. The
production case, an https file host on another name, goes through an in-process transport.

The script tests of tests/scripts run the same flows as processes, which mutation testing cannot see."""

from __future__ import annotations

import json
import socket

import pytest
from requests.adapters import HTTPAdapter

from devin_emulator.permissions import USE_DEVIN_SESSIONS
from devin_plugin import config, downloads, http, routes
from devin_plugin.errors import ApiError, AuthError, ConfigError, InvalidInput, NetworkError, NotFound
from transport_helpers import FunctionTransport

R_FILE = "/v3/organizations/{org_id}/attachments/{attachment_id}/{file_name}"
R_PRESIGNED = "/_presigned/{key}"
DATA = b"# report\nall done\n"


class Clock:
    """A monotonic clock the test moves (the Client's deadline reads it)."""

    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


class Recorder(HTTPAdapter):
    """The real transport, recording each prepared request and the arguments it was sent with;
    `before(request)` runs before each send (to move a clock, say)."""

    def __init__(self, before=None):
        super().__init__(max_retries=0)
        self.calls: list = []
        self.before = before

    def send(self, request, **kw):
        self.calls.append((request, kw))
        if self.before is not None:
            self.before(request)
        return super().send(request, **kw)


def env_for(emu, tmp_path, token=None, base=None):
    return {"DEVIN_API_BASE": base or emu.url, "DEVIN_SERVICE_USER_TOKEN": token or emu.token,
            "DEVIN_ORG_ID": emu.org_id, "HOME": str(tmp_path), "XDG_STATE_HOME": str(tmp_path / "state"),
            "XDG_CONFIG_HOME": str(tmp_path / "cfg")}


def make(emu, tmp_path, *, token=None, base=None, before=None, **kw):
    t = Recorder(before)
    c = http.Client(config.load(env_for(emu, tmp_path, token, base)), transport=t, sleep=lambda s: None, **kw)
    c.transport = t
    return c


def attachment(emu, name="report.md", data=DATA):
    return emu.add_attachment(emu.org_id, name, data, "text/markdown", source="devin")


def request_for(c, att):
    return c.build("GET", routes.ATTACHMENT_FILE, action="download_attachment",
                   path={"attachment_id": att["attachment_id"], "file_name": att["name"]})


def presigned(emu):
    return [e for e in emu.journal if e.route == R_PRESIGNED]


def presigned_url(emu, att):
    return f"{emu.url}/_presigned/{emu.presign(att)}"


def closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def fetch(c, att, max_bytes=1000):
    buf = bytearray()
    n = c.download(request_for(c, att), buf.extend, max_bytes=max_bytes)
    return n, bytes(buf)


# -- the normal path -------------------------------------------------------------------------------------

@pytest.mark.mutation
def test_the_file_comes_from_the_presigned_host_without_the_token(emu, tmp_path, monkeypatch):
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.setenv(var, "http://127.0.0.1:9")
    c = make(emu, tmp_path, connect_timeout=5.0, read_timeout=7.0)
    att = attachment(emu)
    assert fetch(c, att) == (len(DATA), DATA)
    (api,) = emu.requests("GET", R_FILE)
    assert api.headers.get("Authorization") == "Bearer " + emu.token
    (host,) = presigned(emu)
    assert "Authorization" not in host.headers and "Cookie" not in host.headers
    assert host.headers.get("User-Agent") == http.USER_AGENT  # the plugin names itself there too
    # Both hops: streamed (the cap cuts while reading), TLS verified, no proxy taken from the
    # environment, no client certificate, the timeouts bounded.
    assert [kw for _, kw in c.transport.calls] == [
        {"stream": True, "verify": True, "proxies": {}, "cert": None, "timeout": (5.0, 7.0)}] * 2
    assert "Authorization" not in c.transport.calls[1][0].headers


@pytest.mark.mutation
@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_every_redirect_status_leads_to_the_file(emu, tmp_path, status):
    att = attachment(emu)
    emu.set_fault("GET", R_FILE, "redirect", status=status, location=presigned_url(emu, att))
    assert fetch(make(emu, tmp_path), att) == (len(DATA), DATA)
    assert len(presigned(emu)) == 1


@pytest.mark.mutation
def test_localhost_is_loopback_for_a_local_emulator(emu, tmp_path):
    att = attachment(emu)
    location = presigned_url(emu, att).replace("127.0.0.1", "localhost")
    emu.set_fault("GET", R_FILE, "redirect", status=307, location=location)
    assert fetch(make(emu, tmp_path), att) == (len(DATA), DATA)


@pytest.mark.mutation
def test_the_api_may_answer_with_the_file_itself(emu, tmp_path):
    att = attachment(emu)
    emu.set_fault("GET", R_FILE, "status", status=200, body=b"direct bytes", content_type="application/octet-stream")
    assert fetch(make(emu, tmp_path), att) == (12, b"direct bytes")
    assert presigned(emu) == []


# -- what the API may answer instead -------------------------------------------------------------------

@pytest.mark.mutation
@pytest.mark.parametrize("status", [300, 304])
def test_a_3xx_that_is_not_a_redirect_is_an_error_and_nothing_is_saved(emu, tmp_path, status):
    att = attachment(emu)
    emu.set_fault("GET", R_FILE, "status", status=status, body=b"not the file" if status != 304 else b"",
                  content_type="application/octet-stream")
    c = make(emu, tmp_path)
    buf = bytearray()
    with pytest.raises(ApiError) as e:
        c.download(request_for(c, att), buf.extend, max_bytes=1000)
    assert e.value.http_status == status and buf == bytearray()
    assert presigned(emu) == []


@pytest.mark.mutation
def test_an_unknown_attachment_is_not_found(emu, tmp_path):
    att = dict(attachment(emu), attachment_id="att-missing")
    with pytest.raises(NotFound) as e:
        fetch(make(emu, tmp_path), att)
    assert e.value.http_status == 404 and emu.org_id in e.value.message


@pytest.mark.mutation
def test_a_refused_download_names_the_permission(emu, tmp_path):
    weak = emu.add_token(org_id=emu.org_id, permissions={USE_DEVIN_SESSIONS})
    with pytest.raises(AuthError) as e:
        fetch(make(emu, tmp_path, token=weak), attachment(emu))
    assert e.value.http_status == 403 and "ViewOrgSessions" in e.value.message
    assert presigned(emu) == []


@pytest.mark.mutation
def test_an_unreachable_api_is_a_network_error_that_sent_nothing(emu, tmp_path):
    c = make(emu, tmp_path, base=f"http://127.0.0.1:{closed_port()}")
    with pytest.raises(NetworkError) as e:
        fetch(c, attachment(emu))
    assert "nothing was sent" in e.value.message and "attachments" in e.value.message


@pytest.mark.mutation
def test_no_token_sends_nothing(emu, tmp_path):
    c = make(emu, tmp_path)
    c.settings.token = None
    with pytest.raises(ConfigError) as e:
        fetch(c, attachment(emu))
    assert e.value.message == "no Devin token configured"
    assert c.transport.calls == [] and emu.requests() == []


# -- where the redirect may lead -----------------------------------------------------------------------

REFUSED = ["http://attacker.invalid/x", "ftp://127.0.0.1/x", "https:///x", "http:///_presigned/x",
           "https://user:pw@files.example/x", "https://user@files.example/x", "https://:pw@files.example/x",
           "//evil.invalid/x", "/relative/x", ""]


@pytest.mark.mutation
@pytest.mark.parametrize("location", REFUSED)
def test_a_redirect_elsewhere_is_not_followed(emu, tmp_path, location):
    att = attachment(emu)
    emu.set_fault("GET", R_FILE, "redirect", status=307, location=location)
    c = make(emu, tmp_path)
    buf = bytearray()
    with pytest.raises(ApiError) as e:
        c.download(request_for(c, att), buf.extend, max_bytes=1000)
    assert type(e.value) is ApiError  # the reason is named: what the target should have been
    assert e.value.message == ("the API redirected the download without a location; not followed" if not location
                               else "the API redirected the download to a location that is not a plain https URL; "
                               "not followed")
    assert len(c.transport.calls) == 1 and buf == bytearray()


@pytest.mark.mutation
@pytest.mark.parametrize("userinfo", ["user@", ":pw@", "user:pw@"])
def test_credentials_in_a_loopback_redirect_are_refused_too(emu, tmp_path, userinfo):
    att = attachment(emu)
    location = presigned_url(emu, att).replace("http://", "http://" + userinfo)
    emu.set_fault("GET", R_FILE, "redirect", status=307, location=location)
    with pytest.raises(ApiError, match="not followed"):
        fetch(make(emu, tmp_path), att)
    assert presigned(emu) == []


@pytest.mark.mutation
def test_the_last_guard_refuses_a_target_that_would_carry_credentials(emu, tmp_path, monkeypatch):
    """Should the target check ever let user information through, requests would turn it into an
    Authorization header: the request built for the file host is checked again and never sent."""
    att = attachment(emu)
    target = presigned_url(emu, att).replace("http://", "http://user:pw@")
    monkeypatch.setattr(http.Client, "_download_target", lambda self, location: target)
    c = make(emu, tmp_path)
    with pytest.raises(InvalidInput) as e:
        fetch(c, att)
    assert e.value.message == "internal: the download request carries credentials; not sent"
    assert len(c.transport.calls) == 1 and presigned(emu) == []


@pytest.mark.parametrize("location", ["https://files.example.com:99999/x",
                                      "https://fi les.example.com/x", "https://%00/x"])
def test_a_location_requests_cannot_parse_is_refused_and_the_next_file_is_still_tried(emu, tmp_path, location):
    """Attacker review: these pass urlsplit but not requests; an internal error used to leave an empty
    file and skip the attachments after it."""
    first, second = attachment(emu, "a.md"), attachment(emu, "b.md")
    emu.set_fault("GET", R_FILE, "redirect", status=307, location=location, times=1)
    out = tmp_path / "dl"
    out.mkdir()
    got = downloads.save(make(emu, tmp_path), [first, second], str(out))
    assert got[0]["saved"] is None and got[0]["error"] == (
        "the API redirected the download to a location that is not a plain https URL; not followed")
    assert got[1]["bytes"] == len(DATA)
    assert sorted(p.name for p in out.iterdir()) == ["b.md"]


def test_a_failure_that_is_not_an_api_error_leaves_no_partial_file(emu, tmp_path, monkeypatch):
    att = attachment(emu)
    out = tmp_path / "dl"
    out.mkdir()

    def broken(self, req, sink, *, max_bytes):
        sink(b"partial")
        raise KeyboardInterrupt
    monkeypatch.setattr(http.Client, "download", broken)
    with pytest.raises(KeyboardInterrupt):
        downloads.save(make(emu, tmp_path), [att], str(out))
    assert list(out.iterdir()) == []


@pytest.mark.mutation
def test_a_redirect_without_a_location_is_not_followed(emu, tmp_path):
    att = attachment(emu)
    emu.set_fault("GET", R_FILE, "status", status=307, body="", content_type="text/plain")
    c = make(emu, tmp_path)
    with pytest.raises(ApiError) as e:
        fetch(c, att)
    assert e.value.message == "the API redirected the download without a location; not followed"
    assert len(c.transport.calls) == 1 and presigned(emu) == []


# -- the file host --------------------------------------------------------------------------------------

def fetch_redirected_to(emu, tmp_path, location: str, error: type):
    """The file route sends the download to `location`; the error the fetch raises."""
    att = attachment(emu)
    emu.set_fault("GET", R_FILE, "redirect", status=307, location=location)
    with pytest.raises(error) as e:
        fetch(make(emu, tmp_path), att)
    return e


@pytest.mark.mutation
def test_an_expired_link_is_an_api_error_with_the_hosts_status(emu, tmp_path):
    e = fetch_redirected_to(emu, tmp_path, f"{emu.url}/_presigned/{'0' * 32}", ApiError)
    assert type(e.value) is ApiError and e.value.http_status == 403 and "403" in e.value.message


@pytest.mark.mutation
@pytest.mark.parametrize("status", [300, 302])
def test_the_file_host_is_not_followed_further(emu, tmp_path, status):
    att = attachment(emu)
    emu.set_fault("GET", R_PRESIGNED, "redirect", status=status, location=presigned_url(emu, att))
    c = make(emu, tmp_path)
    buf = bytearray()
    with pytest.raises(ApiError) as e:
        c.download(request_for(c, att), buf.extend, max_bytes=1000)
    assert e.value.http_status == status and str(status) in e.value.message
    assert len(presigned(emu)) == 1 and buf == bytearray()


@pytest.mark.mutation
def test_an_unreachable_file_host_is_a_network_error(emu, tmp_path):
    e = fetch_redirected_to(emu, tmp_path, f"http://127.0.0.1:{closed_port()}/x", NetworkError)
    assert e.value.message == ("the file download failed (ConnectionError); the presigned link may have expired: "
                               "list the attachments again")  # what failed, in our words


# -- size caps and the deadline ----------------------------------------------------------------------------

@pytest.mark.mutation
def test_a_file_over_the_cap_is_refused_before_reading(emu, tmp_path):
    att = attachment(emu, "big.bin", b"x" * 5000)
    c = make(emu, tmp_path)
    buf = bytearray()
    with pytest.raises(ApiError) as e:
        c.download(request_for(c, att), buf.extend, max_bytes=1000)
    assert "the file is too large (5000 bytes; limit 1000)" in e.value.message and buf == bytearray()
    assert fetch(c, att, max_bytes=5000) == (5000, b"x" * 5000)  # the cap itself is allowed


@pytest.mark.mutation
def test_a_direct_answer_over_the_cap_is_refused_too(emu, tmp_path):
    att = attachment(emu)
    emu.set_fault("GET", R_FILE, "status", status=200, body=b"y" * 2000, content_type="application/octet-stream")
    with pytest.raises(ApiError) as e:
        fetch(make(emu, tmp_path), att)
    assert "the file is too large (2000 bytes; limit 1000)" in e.value.message


@pytest.mark.mutation
@pytest.mark.parametrize("fault", [{"kind": "oversized", "bytes": 300_000, "chunked": True},
                                   {"kind": "gzip_bomb", "inflated_bytes": 5 * 2**20}])
def test_a_body_without_an_honest_length_is_cut_off_while_reading(emu, tmp_path, fault):
    att = attachment(emu)
    fault = dict(fault)
    emu.set_fault("GET", R_PRESIGNED, fault.pop("kind"), **fault)
    c = make(emu, tmp_path)
    buf = bytearray()
    with pytest.raises(ApiError) as e:
        c.download(request_for(c, att), buf.extend, max_bytes=100_000)
    assert "the file exceeded 100000 bytes and was cut off" in e.value.message
    assert len(buf) <= 100_000


@pytest.mark.mutation
def test_timeouts_are_bounded_by_the_time_left(emu, tmp_path):
    clock = Clock()
    c = make(emu, tmp_path, monotonic=clock, deadline_s=0.5)
    assert fetch(c, attachment(emu)) == (len(DATA), DATA)
    assert [kw["timeout"] for _, kw in c.transport.calls] == [(0.5, 0.5)] * 2


@pytest.mark.mutation
@pytest.mark.parametrize("direct", [True, False])
def test_a_download_past_the_deadline_is_cut(emu, tmp_path, direct):
    clock = Clock()
    att = attachment(emu)
    if direct:
        emu.set_fault("GET", R_FILE, "status", status=200, body=DATA, content_type="application/octet-stream")

    def late(request):
        if direct or "/_presigned/" in request.url:
            clock.now += 120  # the answer arrives after the call's deadline
    c = make(emu, tmp_path, monotonic=clock, deadline_s=60, before=late)
    buf = bytearray()
    with pytest.raises(ApiError) as e:
        c.download(request_for(c, att), buf.extend, max_bytes=1000)
    assert type(e.value) is ApiError and "deadline" in e.value.message and e.value.http_status == 200
    assert buf == bytearray()


# -- the production shape: an https file host on another name ----------------------------------------------

API_ENV = {"DEVIN_API_BASE": "https://api.devin.ai", "DEVIN_ORG_ID": "org-prod1",
           "DEVIN_SERVICE_USER_TOKEN": "cog_" + "p" * 40}
FILE_REQ = {"attachment_id": "att-1", "file_name": "out.txt"}


def remote(tmp_path, location, body=b"hello"):
    def handler(req):
        if req.url.startswith("https://api.devin.ai/"):
            return 307, {"Location": location}, b""
        return 200, {"Content-Length": str(len(body))}, body
    t = FunctionTransport(handler)
    env = dict(API_ENV, HOME=str(tmp_path), XDG_STATE_HOME=str(tmp_path / "s"), XDG_CONFIG_HOME=str(tmp_path / "c"))
    c = http.Client(config.load(env), transport=t)
    return c, t


@pytest.mark.mutation
def test_an_https_file_host_gets_the_request_without_the_token(tmp_path):
    location = "https://files.example.com/org-prod1/att-1?X-Amz-Signature=abc"
    c, t = remote(tmp_path, location)
    buf = bytearray()
    assert c.download(c.build("GET", routes.ATTACHMENT_FILE, path=FILE_REQ), buf.extend, max_bytes=100) == 5
    assert buf == b"hello"
    api, host = t.seen
    assert api.headers["Authorization"] == "Bearer " + API_ENV["DEVIN_SERVICE_USER_TOKEN"]
    assert host.url == location and "Authorization" not in host.headers and "Cookie" not in host.headers


@pytest.mark.mutation
@pytest.mark.parametrize("location", ["http://127.0.0.1:9/x", "http://localhost/x", "http://files.example.com/x"])
def test_plain_http_is_refused_when_the_api_is_not_local(tmp_path, location):
    c, t = remote(tmp_path, location)
    with pytest.raises(ApiError, match="not followed"):
        c.download(c.build("GET", routes.ATTACHMENT_FILE, path=FILE_REQ), bytearray().extend, max_bytes=100)
    assert len(t.seen) == 1


# -- saving: names, partial files, the exit status ----------------------------------------------------------

@pytest.mark.mutation
def test_a_failed_download_leaves_no_partial_file(emu, tmp_path):
    att = attachment(emu, "big.bin", b"z" * 300_000)
    emu.set_fault("GET", R_PRESIGNED, "oversized", bytes=300_000, chunked=True)
    out = tmp_path / "out"
    out.mkdir()
    (res,) = downloads.save(make(emu, tmp_path), [att], str(out), max_bytes=100_000)
    assert res["saved"] is None and "cut off" in res["error"]
    assert list(out.iterdir()) == []


@pytest.mark.mutation
def test_the_script_saves_under_a_sanitised_name_and_fails_with_8(emu, ip, dirs):
    sid = emu.create_session_direct(emu.org_id, prompt="p", title="t")["session_id"]
    emu.add_attachment(emu.org_id, "notes .", b"safe", "text/plain", session_id=sid, source="devin")
    out = dirs["work"] / "out"
    out.mkdir()
    r = ip("list_attachments.py", sid, "--json", "--download", "out")
    assert r.rc == 0, r.all
    (d,) = json.loads(r.out)["downloads"]
    assert d["saved"] == str(out / "notes") and (out / "notes").read_bytes() == b"safe"  # no trailing " ."
    emu.set_fault("GET", R_FILE, "redirect", status=307, location="http://attacker.invalid/x")
    r = ip("list_attachments.py", sid, "--json", "--download", "out")
    assert r.rc == 8 and "not followed" in json.loads(r.out)["downloads"][0]["error"]
    assert sorted(p.name for p in out.iterdir()) == ["notes"]


def test_a_download_started_after_the_deadline_sends_nothing(emu, tmp_path):
    """Like every other call: past the call's deadline, not even the authenticated API request goes out."""
    att = attachment(emu)
    clock = Clock()
    c = make(emu, tmp_path, monotonic=clock, deadline_s=5)
    clock.now += 6
    emu.clear_journal()
    with pytest.raises(NetworkError) as exc:
        fetch(c, att)
    assert exc.value.message == "the call's deadline passed before the download could start; nothing was sent"
    assert c.transport.calls == [] and emu.journal == []
    clock.now -= 1  # exactly at the deadline: nothing left, nothing sent
    with pytest.raises(NetworkError):
        fetch(c, att)
    assert c.transport.calls == [] and emu.journal == []
