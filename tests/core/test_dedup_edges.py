"""Dedup edges the main dedup tests leave open, found by mutation testing (tools/mutation.py): each
test names the behaviour it pins. In process, against the emulator or a stub where the emulator
cannot make the case (a messages answer of the wrong shape)."""

from __future__ import annotations

import time
import types

import pytest

from devin_plugin import dedup
from test_dedup import c  # noqa: F401  (fixtures: a client on the emulator)

R_SESSIONS = "/v3/organizations/{org_id}/sessions"
R_SESSION = R_SESSIONS + "/{devin_id}"
SID = "devin-" + "a" * 32


def page(items, has_next=False, cursor=None):
    return {"items": items, "has_next_page": has_next, "end_cursor": cursor}


def ended(emu, title, **kw):
    return emu.create_session_direct(emu.org_id, prompt="p", title=title, status="exit", status_detail=None, **kw)


pytestmark = pytest.mark.mutation


# -- any_status reaches every list the search reads ---------------------------------------------------

def test_any_status_finds_an_ended_untagged_session_on_the_first_page(emu, c):
    gone = ended(emu, "Finished One")
    assert dedup.find(c, "finished one", since=0).found == []
    got = dedup.find(c, "finished one", since=0, any_status=True)
    assert [s["session_id"] for s in got.found] == [gone["session_id"]] and got.complete is True


def test_any_status_finds_an_ended_session_people_started_in_a_big_org(emu, c):
    start = int(emu.clock.now()) - 6 * 86400
    gone = ended(emu, "asked on slack", origin="slack", created_at=start)
    emu.seed_sessions(emu.org_id, 300, title_prefix="bot run", created_at_start=start + 60, spacing_s=60)
    assert dedup.find(c, "asked on slack", since=time.time() - 7 * 86400).found == []
    got = dedup.find(c, "asked on slack", since=time.time() - 7 * 86400, any_status=True)
    assert [s["session_id"] for s in got.found] == [gone["session_id"]] and got.complete is True


def test_the_scan_past_the_first_page_uses_the_window_and_any_status(emu, c):
    """An untagged API session among the newest 1,000 but not the newest 200 is found by the scan's
    continuation; one created before the window is not, whatever its title."""
    now = int(emu.clock.now())
    start = now - 6 * 86400
    before = emu.create_session_direct(emu.org_id, prompt="p", title="api made", status="running",
                                       status_detail="working", created_at=now - 8 * 86400)
    gone = ended(emu, "api made", created_at=start)
    emu.seed_sessions(emu.org_id, 400, title_prefix="bot run", created_at_start=start + 60, spacing_s=60)
    since = time.time() - 7 * 86400
    assert dedup.find(c, "api made", since=since).found == []
    got = dedup.find(c, "api made", since=since, any_status=True)
    assert [s["session_id"] for s in got.found] == [gone["session_id"]] and got.complete is True
    assert before["session_id"] not in [s["session_id"] for s in got.found]


# -- a cut list says so, and the search stops at what it found ---------------------------------------------

def test_a_tag_list_cut_short_still_returns_what_it_found_and_says_it_is_incomplete(emu, c):
    mine = emu.create_session_direct(emu.org_id, prompt="p", title="t", status="running", status_detail="working",
                                     tags=dedup.with_tags({"title": "t", "prompt": "p"})["tags"])
    emu.set_fault("GET", R_SESSIONS, "status", status=200, times=None, content_type="application/json",
                  body=page([mine], True, "same"))
    got = dedup.find(c, "t", since=0)
    assert [s["session_id"] for s in got.found] == [mine["session_id"]]
    assert got.complete is False and got.requests == 2
    assert got.gaps == [f"more than {dedup.TAGGED_MAX:,} sessions carry this title's tag; the newest were read"]


# -- same_task: the messages read, and answers of the wrong shape ---------------------------------------

class Messages:
    """A client stub whose messages answer is `data` (what the API's JSON decoded to)."""

    def __init__(self, data):
        self.data = data
        self.built = []
        self.settings = types.SimpleNamespace(org_id="org-test1")

    def build(self, method, template, **kw):
        self.built.append((method, template, kw.get("action"), kw.get("params"), kw.get("path")))
        return types.SimpleNamespace(method=method)

    def send(self, req):
        return types.SimpleNamespace(data=self.data)


def test_same_task_reads_one_message_named_as_a_dedup_read():
    st = Messages(page([{"source": "user", "message": "p"}]))
    assert dedup.same_task(st, {"session_id": SID}, "p") is True
    assert st.built == [("GET", "/organizations/{org_id}/sessions/{devin_id}/messages", "dedup",
                         {"first": 1}, {"devin_id": SID})]


@pytest.mark.parametrize("data", [[], "x", None, 7, {"items": None}, {"items": []}, {"items": "abc"},
                                  {"items": ["p"]}, {"items": [None]}, {}])
def test_a_messages_answer_of_the_wrong_shape_means_unknown_not_a_crash(data):
    assert dedup.same_task(Messages(data), {"session_id": SID}, "p") is None


@pytest.mark.parametrize("first", [{"source": "devin", "message": "p"}, {"source": "user", "message": 7},
                                   {"source": "user"}, {"message": "p"}])
def test_a_first_message_that_is_not_the_users_text_means_unknown(first):
    assert dedup.same_task(Messages(page([first])), {"session_id": SID}, "p") is None


def test_any_status_reaches_the_tag_and_the_people_lists_beyond_the_newest_thousand(emu, c):
    """Past the scan's 1,000 newest, only the tag query and the people query can find a session: both
    honour any_status (made_since looks for a session in any state)."""
    start = int(emu.clock.now()) - 6 * 86400
    tags = dedup.with_tags({"title": "tagged and done", "prompt": "p"})["tags"]
    by_tag = ended(emu, "tagged and done", created_at=start, tags=tags)
    by_person = ended(emu, "asked in teams", origin="teams", created_at=start)
    emu.seed_sessions(emu.org_id, 1100, title_prefix="bot run", created_at_start=start + 60, spacing_s=60)
    since = time.time() - 7 * 86400
    for title, want in (("tagged and done", by_tag), ("asked in teams", by_person)):
        assert dedup.find(c, title, since=since).found == []
        got = dedup.find(c, title, since=since, any_status=True)
        assert [s["session_id"] for s in got.found] == [want["session_id"]], title
