"""A refusal names the field that was wrong, whichever shape the API's body takes: RFC 9457 `errors` items
with `pointer`, `field` or `path` and `detail` or `message`; legacy FastAPI `detail` lists with `loc`
and `msg`; a mapping of field to message. Odd shapes from a broken or hostile server never crash the
helper: the error keeps what can be read. Through the Client against the emulator (a 422 answered with
that body), and problem_detail itself for the shapes."""

from __future__ import annotations

import pytest
import requests
from requests.structures import CaseInsensitiveDict
from urllib3.exceptions import ReadTimeoutError

from devin_plugin import config
from devin_plugin.errors import ApiError, AuthError, NotFound
from devin_plugin.http import Client, problem_detail

R_SESSIONS = "/v3/organizations/{org_id}/sessions"
PROBLEM = "application/problem+json"


def refusal(emu, tmp_path, body):
    """The message of the ApiError a create gets when the API answers 422 with `body`."""
    env = {"DEVIN_API_BASE": emu.url, "DEVIN_SERVICE_USER_TOKEN": emu.token, "DEVIN_ORG_ID": emu.org_id,
           "HOME": str(tmp_path), "XDG_STATE_HOME": str(tmp_path / "state"), "XDG_CONFIG_HOME": str(tmp_path / "c")}
    emu.set_fault("POST", R_SESSIONS, "status", status=422, body=body, content_type=PROBLEM)
    with pytest.raises(ApiError) as e:
        Client(config.load(env), sleep=lambda s: None).call(
            "POST", "/organizations/{org_id}/sessions", body={"prompt": "p"}, safe_to_repeat=False)
    assert e.value.http_status == 422 and e.value.exit_code == 8
    return e.value.message


@pytest.mark.mutation
@pytest.mark.parametrize("item", [
    {"pointer": "#/prompt", "detail": "is too long"},          # RFC 9457 / JSON pointer
    {"pointer": "/prompt", "detail": "is too long"},
    {"field": "prompt", "message": "is too long"},
    {"path": "/body/prompt", "message": "is too long"},
    {"path": "body.prompt", "msg": "is too long"},
    {"loc": ["body", "prompt"], "msg": "is too long"},          # FastAPI
])
def test_an_rfc9457_refusal_names_the_field(emu, tmp_path, item):
    msg = refusal(emu, tmp_path, {"title": "Validation failed", "errors": [item]})
    assert msg.endswith("with 422: Validation failed - prompt: is too long")


@pytest.mark.mutation
def test_a_legacy_detail_list_and_a_field_mapping_name_their_fields(emu, tmp_path):
    assert refusal(emu, tmp_path, {"detail": [{"loc": ["body", "tags", 0], "msg": "bad tag"}]}).endswith(
        ": tags.0: bad tag")
    assert refusal(emu, tmp_path, {"title": "Invalid", "errors": {"repos": "owner/name"}}).endswith(
        ": Invalid - repos: owner/name")


@pytest.mark.mutation
def test_a_message_without_a_usable_location_is_kept_alone():
    assert problem_detail({"errors": [{"loc": 7, "msg": "bad value"}]}) == "bad value"
    assert problem_detail({"errors": [{"loc": {"a": 1}, "message": "bad value"}]}) == "bad value"
    assert problem_detail({"errors": [{"pointer": "#", "detail": "body is empty"}]}) == "body is empty"
    assert problem_detail({"errors": [{"field": "", "path": "", "message": "no place"}]}) == "no place"


@pytest.mark.mutation
@pytest.mark.parametrize("errors", [5, 2.5, True, "oops", None, [], {}, [None, 3, "x"]])
def test_odd_errors_shapes_keep_the_title(errors):
    assert problem_detail({"title": "Bad request", "errors": errors}) == "Bad request"


@pytest.mark.mutation
def test_an_odd_errors_shape_through_the_client_keeps_the_title(emu, tmp_path):
    assert refusal(emu, tmp_path, {"title": "Bad request", "errors": 5}).endswith("with 422: Bad request")


@pytest.mark.mutation
def test_at_most_five_fields_are_named():
    items = [{"field": f"f{i}", "message": "bad"} for i in range(8)]
    assert problem_detail({"errors": items}) == "; ".join(f"f{i}: bad" for i in range(5))


class StallingBody:
    """An error answer whose body never comes: every read times out."""

    def read1(self, n, decode_content=True):
        raise ReadTimeoutError(None, "/v3/x", "Read timed out.")

    def close(self):
        pass


class StallingTransport:
    def __init__(self, status):
        self.status, self.sends = status, 0

    def send(self, request, **kw):
        self.sends += 1
        resp = requests.Response()
        resp.status_code, resp.headers = self.status, CaseInsensitiveDict({"Content-Type": PROBLEM})
        resp.url, resp.request, resp.raw = request.url, request, StallingBody()
        return resp

    def close(self):
        pass


@pytest.mark.mutation
@pytest.mark.parametrize("status,kind", [(500, ApiError), (404, NotFound), (403, AuthError)])
def test_a_refusal_whose_body_stalls_is_still_the_typed_refusal(tmp_path, status, kind):
    env = {"DEVIN_API_BASE": "http://127.0.0.1:9", "DEVIN_SERVICE_USER_TOKEN": "cog_" + "t" * 40,
           "DEVIN_ORG_ID": "org-stall", "HOME": str(tmp_path), "XDG_STATE_HOME": str(tmp_path / "s"),
           "XDG_CONFIG_HOME": str(tmp_path / "c")}
    t = StallingTransport(status)
    with pytest.raises(kind) as e:
        Client(config.load(env), transport=t, sleep=lambda s: None).call("GET", "/organizations/{org_id}/sessions")
    assert e.value.http_status == status and str(status) in e.value.message
