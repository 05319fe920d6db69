"""create_session's less travelled paths, in process against the emulator: the per-machine title lock,
a state directory that cannot record the call, warnings from the id checks, a create answered 429
(before or after the server made the session), and what converge does with the sessions such an
answer may have left behind. Each case is one a user meets: a double click, a full disk, a token that
may create but not read playbooks, a rate limit that lies."""

from __future__ import annotations

import threading
import time

import pytest
from requests.adapters import HTTPAdapter

from devin_plugin import config, dedup, routes, sessions
from devin_plugin import policy as policy_mod
from devin_plugin.errors import ConfigError, NetworkError, RateLimited
from devin_plugin.http import Client
from devin_plugin.locks import title_lock

R_SESSIONS = "/v3/organizations/{org_id}/sessions"
R_PLAYBOOK = "/v3/organizations/{org_id}/playbooks/{playbook_id}"


def env_for(emu, tmp_path, state=None):
    return {"DEVIN_API_BASE": emu.url, "DEVIN_SERVICE_USER_TOKEN": emu.token, "DEVIN_ORG_ID": emu.org_id,
            "HOME": str(tmp_path), "XDG_STATE_HOME": str(state or tmp_path / "state"),
            "XDG_CONFIG_HOME": str(tmp_path / "cfg")}


def client(emu, tmp_path, state=None, **kw):
    kw.setdefault("sleep", lambda s: None)
    return Client(config.load(env_for(emu, tmp_path, state)), **kw)


@pytest.fixture
def pol(tmp_path):
    return policy_mod.load(tmp_path / "no-user-policy")


def active(emu, title):
    return sorted(s["session_id"] for s in emu.sessions_in(emu.org_id)
                  if s["title"] == title and s["status"] not in ("exit", "error"))


def posts(emu):
    return emu.requests("POST", R_SESSIONS)


# -- the per-machine lock ----------------------------------------------------------------------------------

@pytest.mark.mutation
def test_a_second_create_of_the_same_title_waits_for_the_first(emu, tmp_path, pol):
    c = client(emu, tmp_path, deadline_s=0.4)
    with title_lock(c.settings.state_dir, emu.org_id, "double click", 5):
        with pytest.raises(NetworkError) as e:
            sessions.create_session(c, pol, {"prompt": "p", "title": "double click"}, settle_s=0)
        assert "same title is still running" in e.value.message
        assert emu.requests() == []  # not even the dedup look
        other = sessions.create_session(client(emu, tmp_path), pol, {"prompt": "p", "title": "another"}, settle_s=0)
        assert other["is_new_session"] is True  # another title is not held up
    made = sessions.create_session(client(emu, tmp_path), pol, {"prompt": "p", "title": "double click"}, settle_s=0)
    assert made["is_new_session"] is True and len(posts(emu)) == 2


@pytest.mark.mutation
def test_the_lock_is_released_for_the_waiting_create(emu, tmp_path, pol):
    c = client(emu, tmp_path, deadline_s=30)
    held = threading.Event()
    release = threading.Event()

    def holder():
        with title_lock(c.settings.state_dir, emu.org_id, "slow", 5):
            held.set()
            release.wait(5)
    t = threading.Thread(target=holder)
    t.start()
    held.wait(5)
    threading.Timer(0.3, release.set).start()
    started = time.monotonic()
    made = sessions.create_session(c, pol, {"prompt": "p", "title": "slow"}, settle_s=0)
    t.join(5)
    assert made["is_new_session"] is True and time.monotonic() - started >= 0.25


# -- a state directory that cannot record the call -------------------------------------------------------------

@pytest.mark.mutation
def test_an_unwritable_state_directory_stops_the_create_before_any_request(emu, tmp_path, pol):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the state directory should be")
    c = client(emu, tmp_path, state=blocker)
    payload = {"prompt": "p", "title": "t", "playbook_id": "pb-1"}
    with pytest.raises(ConfigError) as e:
        sessions.create_session(c, pol, payload, settle_s=0)
    assert "state directory" in e.value.message and e.value.exit_code == 3
    assert emu.requests() == []  # the playbook check did not run either
    dry = sessions.create_session(c, pol, payload, dry_run=True)  # a dry run records nothing: it still works
    assert dry["dry_run"] is True and dry["request"]["body"] == dedup.with_tags(payload) and emu.requests() == []


# -- warnings of the id checks ------------------------------------------------------------------------------------

@pytest.mark.mutation
def test_a_playbook_the_token_may_not_read_is_a_warning_not_a_refusal(emu, tmp_path, pol):
    emu.set_fault("GET", R_PLAYBOOK, "status", status=403)
    notes = []
    made = sessions.create_session(client(emu, tmp_path), pol, {"prompt": "p", "title": "t", "playbook_id": "pb-1"},
                                   settle_s=0, note=notes.append)
    assert made["is_new_session"] is True
    assert any("may not read playbooks" in n and "pb-1" in n for n in notes)


# -- 429 answers ---------------------------------------------------------------------------------------------------

@pytest.mark.mutation
def test_a_create_rate_limited_throughout_is_a_rate_limit_error(emu, tmp_path, pol):
    emu.set_fault("POST", R_SESSIONS, "status", status=429, times=None, headers={"Retry-After": "1"})
    with pytest.raises(RateLimited) as e:
        sessions.create_session(client(emu, tmp_path), pol, {"prompt": "p", "title": "busy"}, settle_s=0)
    assert e.value.exit_code == 6 and e.value.http_status == 429
    assert len(posts(emu)) == 3 and emu.sessions_in(emu.org_id) == []


@pytest.mark.mutation
def test_force_new_ends_the_session_a_lying_429_made(emu, tmp_path, pol):
    emu.set_fault("POST", R_SESSIONS, "status_after_processing", status=429)
    notes = []
    made = sessions.create_session(client(emu, tmp_path), pol, {"prompt": "p", "title": "forced"}, force_new=True,
                                   settle_s=0, note=notes.append)
    first, second = (s["session_id"] for s in emu.sessions_in(emu.org_id))
    assert made["session_id"] == second and made["is_new_session"] is True
    assert made["duplicates_ended"] == [first]
    assert active(emu, "forced") == [second]


@pytest.mark.mutation
def test_after_two_lying_429s_one_session_survives_and_the_answer_names_the_ended(emu, tmp_path, pol):
    emu.set_fault("POST", R_SESSIONS, "status_after_processing", status=429, times=2)
    made = sessions.create_session(client(emu, tmp_path), pol, {"prompt": "p", "title": "thrice"}, settle_s=0)
    every = {s["session_id"] for s in emu.sessions_in(emu.org_id)}
    (survivor,) = active(emu, "thrice")
    assert len(every) == 3 and made["session_id"] == survivor
    ended = set(made.get("duplicates_ended", [])) | ({made["duplicate_ended"]} if "duplicate_ended" in made else set())
    assert ended == every - {survivor}
    assert made.get("duplicates_ended")  # a third session was ended besides ours or the survivor


@pytest.mark.mutation
def test_a_first_attempt_create_never_ends_a_later_session_of_the_same_title(emu, tmp_path, pol):
    """Right after our create, someone makes another session with the same title (a --force-new create,
    say): ours is the earliest and survives, and theirs is left alone."""
    theirs = {}

    class Racer(HTTPAdapter):
        def send(self, request, **kw):
            resp = super().send(request, **kw)
            if request.method == "POST" and not theirs:
                emu.clock.advance(1)
                other = client(emu, tmp_path / "other")
                theirs.update(other.call("POST", routes.SESSIONS, body={"prompt": "p", "title": "mine"},
                                         action="create_session", safe_to_repeat=False).data)
            return resp
    made = sessions.create_session(client(emu, tmp_path, transport=Racer(max_retries=0)), pol,
                                   {"prompt": "p", "title": "mine"}, settle_s=0)
    assert made["is_new_session"] is True and "duplicates_ended" not in made
    assert active(emu, "mine") == sorted([made["session_id"], theirs["session_id"]])


# -- converge when the second look fails ------------------------------------------------------------------------

@pytest.mark.mutation
def test_converge_after_a_repeated_create_keeps_ours_when_the_list_fails(emu, tmp_path):
    c = client(emu, tmp_path)
    mine = c.call("POST", routes.SESSIONS, body={"prompt": "p", "title": "t"}, safe_to_repeat=False).data
    emu.set_fault("GET", R_SESSIONS, "status", status=500, times=None)
    out = dedup.converge(c, "t", "p", mine, since=0, tagged=True, settle_s=0, sweep_since=time.time() - 1)
    assert out["session_id"] == mine["session_id"] and out["is_new_session"] is True
    assert "duplicates_ended" not in out and active(emu, "t") == [mine["session_id"]]
