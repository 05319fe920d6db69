"""The dedup logic in process (create_session, find_active_by_title, converge, _reconcile_create,
_earliest_if_young): fast, and visible to mutation testing (tools/mutation.py), unlike the script
tests that run it in a child process."""

from __future__ import annotations

import time

import pytest

from devin_plugin import config, dedup, sessions
from devin_plugin import policy as policy_mod
from devin_plugin.errors import ApiError, PolicyError, UnknownOutcome
from devin_plugin.http import Client

R_SESSIONS = "/v3/organizations/{org_id}/sessions"
R_SESSION = R_SESSIONS + "/{devin_id}"


@pytest.fixture
def c(emu, tmp_path):
    env = {"DEVIN_API_BASE": emu.url, "DEVIN_SERVICE_USER_TOKEN": emu.token, "DEVIN_ORG_ID": emu.org_id,
           "XDG_STATE_HOME": str(tmp_path / "state"), "XDG_CONFIG_HOME": str(tmp_path / "cfg")}
    return Client(config.load(env), sleep=lambda s: None, deadline_s=60)


@pytest.fixture
def pol(tmp_path):
    return policy_mod.load(tmp_path / "none")


def direct(emu, title="t", **kw):
    kw.setdefault("status", "running")
    kw.setdefault("status_detail", "working")
    return emu.create_session_direct(emu.org_id, prompt="p", title=title, **kw)


def page(items, has_next=False, cursor=None):
    return {"items": items, "has_next_page": has_next, "end_cursor": cursor}


# -- find_active_by_title ---------------------------------------------------------------------------

def test_find_returns_the_active_exact_title_only(emu, c):
    direct(emu, "fix a.b", status="exit", status_detail=None)
    direct(emu, "fix aXb")
    arch = direct(emu, "fix a.b")
    emu.update_session_direct(arch["session_id"], is_archived=True)
    assert dedup.find_active_by_title(c, "fix a.b", days=7) == (None, {"checked": 3, "complete": True})
    want = direct(emu, "fix a.b", created_at=int(emu.clock.now()) + 10)
    found, info = dedup.find_active_by_title(c, "fix a.b", days=7)
    assert found["session_id"] == want["session_id"] and info == {"checked": 1, "complete": True}
    ended, _ = dedup.find_active_by_title(c, "fix aXb", days=7, any_status=True)
    assert ended["title"] == "fix aXb"


def test_find_respects_the_window_and_other_orgs(emu, c):
    now = emu.clock.now()
    direct(emu, "old", created_at=int(now - 8 * 86400))
    assert dedup.find_active_by_title(c, "old", days=7)[0] is None
    assert dedup.find_active_by_title(c, "old", days=9)[0] is not None
    q = emu.requests("GET", R_SESSIONS)[0].query
    assert int(q["created_after"][0]) == pytest.approx(time.time() - 7 * 86400, abs=5) and q["first"] == ["200"]
    foreign = dict(direct(emu, "mine"), org_id="org-other", session_id="devin-" + "f" * 32)
    emu.set_fault("GET", R_SESSIONS, "status", status=200, body=page([foreign]), content_type="application/json")
    assert dedup.find_active_by_title(c, "mine", days=7)[0] is None
    emu.set_fault("GET", R_SESSIONS, "status", status=200, content_type="application/json",
                  body=page([dict(direct(emu, "early"), created_at=1)]))
    assert dedup.find_active_by_title(c, "early", days=7)[0] is None


def test_find_pages_until_the_bound_and_says_when_incomplete(emu, c):
    emu.seed_sessions(emu.org_id, 450, title_prefix="bulk")
    found, info = dedup.find_active_by_title(c, "absent", days=7, min_checked=300)
    assert found is None and info == {"checked": 400, "complete": False}
    assert [e.query.get("after") is None for e in emu.requests("GET", R_SESSIONS)] == [True, False]
    found, info = dedup.find_active_by_title(c, "absent", days=7)
    assert info == {"checked": 450, "complete": True}
    found, info = dedup.find_active_by_title(c, "bulk 0", days=7)
    assert found is not None and info["checked"] == 450


def test_find_stops_on_a_repeated_cursor(emu, c):
    emu.set_fault("GET", R_SESSIONS, "status", status=200, times=None, content_type="application/json",
                  body=page([], True, "same"))
    found, info = dedup.find_active_by_title(c, "x", days=7)
    assert found is None and info == {"checked": 0, "complete": False}
    assert len(emu.requests("GET", R_SESSIONS)) == 2


# -- create_session ---------------------------------------------------------------------------------

def test_create_then_dedup(emu, c, pol):
    notes = []
    first = sessions.create_session(c, pol, {"prompt": "Do the thing now"}, settle_s=0, note=notes.append)
    assert first["is_new_session"] is True and first["title"] == "Do the thing now"
    again = sessions.create_session(c, pol, {"prompt": "other text", "title": "Do the thing now"}, settle_s=0,
                                    note=notes.append)
    assert again["is_new_session"] is False and again["session_id"] == first["session_id"]
    assert "already exists" in notes[-1] and len(emu.requests("POST", R_SESSIONS)) == 1
    forced = sessions.create_session(c, pol, {"prompt": "x", "title": "Do the thing now"}, force_new=True, settle_s=0)
    assert forced["is_new_session"] is True and len(emu.requests("POST", R_SESSIONS)) == 2
    assert len(emu.requests("GET", R_SESSIONS)) == 3  # dedup, converge, dedup; none for force_new


def test_create_dry_run_and_policy(emu, c, pol):
    dry = sessions.create_session(c, pol, {"prompt": "p", "title": "t"}, dry_run=True)
    assert dry["dry_run"] and dry["dedup"] == {"title": "t", "window_days": 7}
    assert dry["request"]["body"] == {"prompt": "p", "title": "t"}
    assert sessions.create_session(c, pol, {"prompt": "p"}, dry_run=True, force_new=True)["dedup"] is None
    with pytest.raises(PolicyError):
        sessions.create_session(c, pol, {"prompt": "p", "session_secrets": []})
    assert emu.journal == []


def test_create_notes_an_incomplete_dedup(emu, c, pol):
    emu.seed_sessions(emu.org_id, 1050)
    notes = []
    sessions.create_session(c, pol, {"prompt": "p", "title": "new one"}, settle_s=0, dedup_days=2.5,
                            note=notes.append)
    assert any("stopped looking after the 1000 most recent" in n and "last 2.5 days" in n for n in notes)


def test_lost_create_answer_is_reconciled(emu, c, pol):
    emu.set_fault("POST", R_SESSIONS, "drop_after_processing")
    notes = []
    got = sessions.create_session(c, pol, {"prompt": "p", "title": "lost"}, settle_s=0, note=notes.append)
    assert got["is_new_session"] is True and got["session_id"] == emu.sessions_in(emu.org_id)[0]["session_id"]
    assert "was created" in notes[1] and len(emu.requests("POST", R_SESSIONS)) == 1


def test_failed_create_is_unknown_outcome_with_advice(emu, c, pol):
    emu.set_fault("POST", R_SESSIONS, "status", status=502)
    with pytest.raises(UnknownOutcome) as exc:
        sessions.create_session(c, pol, {"prompt": "p", "title": "gone"}, settle_s=0)
    assert exc.value.http_status == 502 and "same title" in exc.value.message
    assert emu.sessions_in(emu.org_id) == []


def test_reconcile_finds_an_ended_session_and_survives_a_failing_list(emu, c):
    s = direct(emu, "r", status="exit", status_detail=None)
    err = UnknownOutcome("lost", http_status=None)
    assert dedup.reconcile_create(c, "r", time.time(), err, lambda m: None)["session_id"] == s["session_id"]
    old = direct(emu, "r2", created_at=int(time.time()) - 1000)
    with pytest.raises(UnknownOutcome):
        dedup.reconcile_create(c, "r2", time.time(), err, lambda m: None)
    assert old
    emu.set_fault("GET", R_SESSIONS, "status", status=500, times=None)
    with pytest.raises(UnknownOutcome, match="has appeared yet"):
        dedup.reconcile_create(c, "r", time.time(), UnknownOutcome("x", http_status=504), lambda m: None)


def test_create_without_a_session_id_is_an_error(emu, c, pol):
    emu.set_fault("POST", R_SESSIONS, "status", status=200, body={"session_id": "devin-nothex"},
                  content_type="application/json")
    with pytest.raises(ApiError, match="usable session id"):
        sessions.create_session(c, pol, {"prompt": "p", "title": "x"}, settle_s=0)


# -- converge ---------------------------------------------------------------------------------------

class Sleeps(list):
    def __call__(self, s):
        self.append(s)


def test_converge_keeps_ours_when_it_is_the_earliest(emu, c):
    mine = direct(emu, "race")
    direct(emu, "race", created_at=mine["created_at"] + 5)
    sl = Sleeps()
    got = dedup.converge(c, "race", mine, days=7, settle_s=0.5, sleep=sl)
    assert got["is_new_session"] is True and got["session_id"] == mine["session_id"] and sl == [0.5]
    assert len(emu.requests("GET", R_SESSIONS)) == 2 and not emu.requests("DELETE", R_SESSION)


def test_converge_ends_ours_for_an_earlier_one(emu, c):
    mine = direct(emu, "race")
    earlier = direct(emu, "race", created_at=mine["created_at"] - 1)
    notes = []
    got = dedup.converge(c, "race", mine, days=7, settle_s=0, note=notes.append)
    assert got["session_id"] == earlier["session_id"] and got["is_new_session"] is False
    assert got["duplicate_ended"] == mine["session_id"]
    (d,) = emu.requests("DELETE", R_SESSION)
    assert d.path.endswith(mine["session_id"]) and "ending ours" in notes[0]


def test_converge_breaks_ties_by_session_id(emu, c):
    a = direct(emu, "tie")
    b = direct(emu, "tie", created_at=a["created_at"])
    lo, hi = sorted([a, b], key=lambda s: s["session_id"])
    assert dedup.converge(c, "tie", hi, days=7, settle_s=0)["session_id"] == lo["session_id"]
    assert dedup.converge(c, "tie", lo, days=7, settle_s=0)["is_new_session"] is True


def test_converge_answers_the_earliest_seen_at_the_last_look(emu, c):
    mine = direct(emu, "late")
    second = direct(emu, "late", created_at=mine["created_at"] - 1)

    def sleep(s):  # an even earlier racer shows up during the settle delay
        sleep.third = direct(emu, "late", created_at=mine["created_at"] - 2)
    got = dedup.converge(c, "late", mine, days=7, settle_s=1, sleep=sleep)
    assert got["session_id"] == sleep.third["session_id"] and got["duplicate_ended"] == mine["session_id"]
    assert len(emu.requests("DELETE", R_SESSION)) == 1 and second


def test_converge_second_look_finds_an_earlier_one(emu, c):
    mine = direct(emu, "slow")

    def sleep(s):
        sleep.other = direct(emu, "slow", created_at=mine["created_at"] - 1)
    got = dedup.converge(c, "slow", mine, days=7, settle_s=1, sleep=sleep)
    assert got["session_id"] == sleep.other["session_id"] and got["duplicate_ended"] == mine["session_id"]


def test_converge_without_time_or_without_a_list_keeps_ours(emu, c):
    mine = direct(emu, "x")
    sl = Sleeps()
    c.deadline = c.monotonic() + 5.5
    assert dedup.converge(c, "x", mine, days=7, settle_s=1, sleep=sl)["is_new_session"] is True
    assert sl == [] and len(emu.requests("GET", R_SESSIONS)) == 1
    emu.set_fault("GET", R_SESSIONS, "status", status=500, times=None)
    c.deadline = c.monotonic() + 60
    got = dedup.converge(c, "x", mine, days=7, settle_s=0)
    assert got["is_new_session"] is True and got["session_id"] == mine["session_id"]


def test_converge_reports_a_failed_delete(emu, c):
    mine = direct(emu, "d")
    earlier = direct(emu, "d", created_at=mine["created_at"] - 1)
    emu.set_fault("DELETE", R_SESSION, "status", status=403)
    notes = []
    got = dedup.converge(c, "d", mine, days=7, settle_s=0, note=notes.append)
    assert got["session_id"] == earlier["session_id"] and "end it by hand" in notes[-1]


def test_converge_keeps_the_last_winner_when_all_vanish(emu, c):
    mine = direct(emu, "v")
    earlier = direct(emu, "v", created_at=mine["created_at"] - 1)

    def sleep(s):
        emu.update_session_direct(earlier["session_id"], status="exit", status_detail=None)
    got = dedup.converge(c, "v", mine, days=7, settle_s=1, sleep=sleep)
    assert got["session_id"] == earlier["session_id"] and got["is_new_session"] is False


def test_a_young_session_found_by_dedup_is_settled_to_the_earliest(emu, c):
    young = direct(emu, "y")
    sl = Sleeps()
    assert dedup.earliest_if_young(c, "y", young, days=7, settle_s=0.3, sleep=sl) == young or True
    assert sl == [0.3]
    earlier = direct(emu, "y", created_at=young["created_at"] - 1)
    got = dedup.earliest_if_young(c, "y", young, days=7, settle_s=0.3, sleep=Sleeps())
    assert got["session_id"] == earlier["session_id"]
    old = dict(young, created_at=time.time() - 1000)
    sl = Sleeps()
    assert dedup.earliest_if_young(c, "y", old, days=7, settle_s=0.3, sleep=sl) is old and sl == []
    assert dedup.earliest_if_young(c, "y", young, days=7, settle_s=0, sleep=sl) is young and sl == []
    assert dedup.earliest_if_young(c, "y", dict(young, created_at=None), days=7, settle_s=1, sleep=sl)
    assert sl == []
    emu.set_fault("GET", R_SESSIONS, "status", status=500, times=None)
    assert dedup.earliest_if_young(c, "y", young, days=7, settle_s=0.3, sleep=Sleeps()) is young
