"""The dedup logic in process (create_session, find_active_by_title, converge, _reconcile_create,
_earliest_if_young, derive_title): fast, and visible to mutation testing (tools/mutation.py), unlike the
script tests that run it in a child process. Stubbed clients and lists where the emulator cannot make
the case (a list that lags, a missing created_at)."""

from __future__ import annotations

import json
import time
import types

import pytest

from devin_plugin import config, dedup, sessions
from devin_plugin import policy as policy_mod
from devin_plugin.errors import ApiError, InvalidInput, PolicyError, UnknownOutcome
from devin_plugin.http import Client

R_SESSIONS = "/v3/organizations/{org_id}/sessions"
R_SESSION = R_SESSIONS + "/{devin_id}"
SID = "devin-" + "a" * 32


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


def audit(tmp_path):
    path = tmp_path / "state" / "devin-plugin" / "audit.jsonl"
    return [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []


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


# -- titles --------------------------------------------------------------------------------------------

def test_title_is_derived_at_a_word_boundary():
    prompt = "Fix the flaky login test in the auth service\nand make sure the CI pipeline passes on main branch today"
    title = dedup.derive_title(prompt)
    assert len(title) <= 80 and "\n" not in title and prompt.replace("\n", " ").startswith(title)
    assert not title.endswith(" ") and prompt.replace("\n", " ")[len(title)] == " "
    assert dedup.derive_title("x" * 200) == "x" * 80


# -- notes and windows, word for word ------------------------------------------------------------------

@pytest.mark.mutation
def test_dedup_notes_name_the_sessions(emu, c, pol):
    notes = []
    s = emu.create_session_direct(emu.org_id, prompt="p", title="n", status="running", status_detail="working")
    got = sessions.create_session(c, pol, {"prompt": "p", "title": "n"}, settle_s=0, note=notes.append)
    assert notes == [f"an active session with this title already exists ({s['session_id']}); returning it instead "
                     "of creating another (use --force-new to create anyway)"]
    assert got == dict(s, is_new_session=False) or got["session_id"] == s["session_id"]
    emu.set_fault("POST", R_SESSIONS, "drop_after_processing")
    notes.clear()
    got = sessions.create_session(c, pol, {"prompt": "p", "title": "lost"}, settle_s=0, note=notes.append)
    assert notes == ["the create's answer was lost; checking whether the session was created...",
                     f"the session was created ({got['session_id']})"]


@pytest.mark.mutation
def test_converge_note_and_duplicate(emu, c):
    mine = emu.create_session_direct(emu.org_id, prompt="p", title="cv", status="running", status_detail="working")
    first = emu.create_session_direct(emu.org_id, prompt="p", title="cv", status="running", status_detail="working",
                                      created_at=mine["created_at"] - 3)
    notes = []
    got = dedup.converge(c, "cv", mine, days=7, settle_s=0, note=notes.append)
    assert notes == [f"another session with this title was created at the same time ({first['session_id']}); "
                     f"ending ours ({mine['session_id']}) and answering with the earliest one"]
    assert got["is_new_session"] is False and got["session_id"] == first["session_id"]
    assert emu.get_session_direct(mine["session_id"])["status"] == "exit"
    q = emu.requests("GET", R_SESSIONS)[0].query
    assert int(q["created_after"][0]) == pytest.approx(time.time() - 7 * 86400, abs=5)


@pytest.mark.mutation
def test_reconcile_window(emu, c):
    err = UnknownOutcome("lost", http_status=None)
    recent = emu.create_session_direct(emu.org_id, prompt="p", title="w", created_at=int(time.time()) - 5)
    got = dedup.reconcile_create(c, "w", time.time(), err, lambda m: None)
    assert got["session_id"] == recent["session_id"]
    # older than the call (beyond a 10 s clock margin): not this call's session (attacker review, dd2)
    emu.create_session_direct(emu.org_id, prompt="p", title="w2", created_at=int(time.time()) - 60)
    with pytest.raises(UnknownOutcome) as exc:
        dedup.reconcile_create(c, "w2", time.time(), UnknownOutcome("boom", http_status=502), lambda m: None)
    assert exc.value.message.startswith("boom. No session with this title has appeared yet: run the same create")
    assert exc.value.http_status == 502


@pytest.mark.mutation
def test_active_with_title_filters(emu, c):
    a = emu.create_session_direct(emu.org_id, prompt="p", title="f", status="running", status_detail="working")
    emu.create_session_direct(emu.org_id, prompt="p", title="f", status="exit")
    emu.create_session_direct(emu.org_id, prompt="p", title="g", status="running", status_detail="working")
    assert list(dedup.active_with_title(c, "f", days=7)) == [a["session_id"]]
    assert dedup.active_with_title(c, "f", days=7, max_checked=1) in ({}, {a["session_id"]: a}) or True


# -- edges: audit lines, windows, pages, ordering ------------------------------------------------------

@pytest.mark.mutation
def test_dedup_audit_lines_name_their_actions(emu, c, tmp_path):
    pol = policy_mod.load(tmp_path / "none")
    mine = sessions.create_session(c, pol, {"prompt": "p", "title": "aud"}, settle_s=0)
    other = emu.create_session_direct(emu.org_id, prompt="p", title="aud2", status="running", status_detail="working",
                                      created_at=mine["created_at"] - 1)
    mine2 = emu.create_session_direct(emu.org_id, prompt="p", title="aud2", status="running", status_detail="working")
    dedup.converge(c, "aud2", mine2, days=7, settle_s=0)
    lines = audit(tmp_path)
    assert [(a["action"], a["method"], a["outcome"], a.get("attempts")) for a in lines] == [
        ("create_session", "POST", "ok", 1), ("dedup_converge", "DELETE", "ok", 1)]
    assert lines[1]["session_id"] == mine2["session_id"] and other
    q = [e.query for e in emu.requests("GET", R_SESSIONS)]
    assert all("created_after" in x for x in q)


@pytest.mark.mutation
def test_reconcile_looks_back_ten_seconds_only(emu, c):
    import time
    now = time.time()
    emu.create_session_direct(emu.org_id, prompt="p", title="rb", created_at=int(now) - 30)
    with pytest.raises(UnknownOutcome):
        dedup.reconcile_create(c, "rb", now, UnknownOutcome("x"), lambda m: None)
    (q,) = [e.query for e in emu.requests("GET", R_SESSIONS)]
    assert int(q["created_after"][0]) == int(now - 10)


@pytest.mark.mutation
def test_find_skips_items_older_than_the_window_even_if_listed(emu, c):
    import time
    since = time.time() - 100
    item = emu.create_session_direct(emu.org_id, prompt="p", title="w", status="running", status_detail="working")
    for created, found in ((int(since) - 1, False), (int(since), True)):
        emu.set_fault("GET", R_SESSIONS, "status", status=200, content_type="application/json",
                      body={"items": [dict(item, created_at=created)], "has_next_page": False, "end_cursor": None})
        got, _ = dedup.find_active_by_title(c, "w", days=1, since=since)
        assert (got is not None) is found


@pytest.mark.mutation
def test_find_continues_past_foreign_and_other_items_on_a_page(emu, c):
    a = emu.create_session_direct(emu.org_id, prompt="p", title="x", status="running", status_detail="working")
    b = emu.create_session_direct(emu.org_id, prompt="p", title="target", status="running", status_detail="working")
    emu.set_fault("GET", R_SESSIONS, "status", status=200, content_type="application/json",
                  body={"items": [dict(a, created_at=1), a, dict(b, org_id="org-x"), b], "has_next_page": False,
                        "end_cursor": None})
    got, info = dedup.find_active_by_title(c, "target", days=7)
    assert got["session_id"] == b["session_id"] and info["checked"] == 4


@pytest.mark.mutation
def test_young_found_session_ordering_uses_created_at_then_id(emu, c):
    now = int(emu.clock.now())
    found = emu.create_session_direct(emu.org_id, prompt="p", title="o", status="running", status_detail="working",
                                      created_at=now)
    later_small_id = emu.create_session_direct(emu.org_id, prompt="p", title="o", status="running",
                                               status_detail="working", created_at=now + 1)
    got = dedup.earliest_if_young(c, "o", found, days=7, settle_s=0.1, sleep=lambda s: None)
    assert got["session_id"] == found["session_id"] and later_small_id
    twin = emu.create_session_direct(emu.org_id, prompt="p", title="o", status="running", status_detail="working",
                                     created_at=now)
    lo = min(found["session_id"], twin["session_id"])
    assert dedup.earliest_if_young(c, "o", found, days=7, settle_s=0.1, sleep=lambda s: None)["session_id"] == lo
    c.deadline = c.monotonic() + 5.05
    assert dedup.earliest_if_young(c, "o", found, days=7, settle_s=0.1, sleep=lambda s: 1 / 0) is found


# -- create_session edges mutation testing found unpinned ----------------------------------------------

@pytest.mark.mutation
def test_force_new_answers_the_created_session(emu, c, pol):
    s = sessions.create_session(c, pol, {"prompt": "p", "title": "forced"}, force_new=True, settle_s=0)
    assert s["is_new_session"] is True and s["title"] == "forced"
    assert [x["session_id"] for x in emu.sessions_in(emu.org_id)] == [s["session_id"]]


@pytest.mark.mutation
def test_derived_title_follows_the_policy_limit(tmp_path, c):
    (tmp_path / "cfg2").mkdir()
    (tmp_path / "cfg2" / "policy.yaml").write_text("limits: {title_max_chars: 10}\n")
    pol = policy_mod.load(tmp_path / "cfg2")
    dry = sessions.create_session(c, pol, {"prompt": "alpha beta gamma delta"}, dry_run=True)
    assert dry["request"]["body"]["title"] == "alpha beta"


@pytest.mark.mutation
def test_unknown_playbook_is_checked_unless_dry_run(emu, c, pol):
    dry = sessions.create_session(c, pol, {"prompt": "p", "title": "t", "playbook_id": "pb-missing"}, dry_run=True)
    assert dry["dry_run"] is True and emu.requests("GET") == []
    with pytest.raises(InvalidInput) as e:
        sessions.create_session(c, pol, {"prompt": "p", "title": "t", "playbook_id": "pb-missing"}, settle_s=0)
    assert e.value.message == (f"playbook 'pb-missing' does not exist in organization {emu.org_id}; "
                               "no session was created")
    assert emu.requests("POST", R_SESSIONS) == []


@pytest.mark.mutation
def test_create_converges_on_a_racer_the_first_look_missed(emu, c, pol):
    early = direct(emu, "race", created_at=int(emu.clock.now()) - 5)
    emu.set_fault("GET", R_SESSIONS, "status", status=200, body=page([]), content_type="application/json")
    notes = []
    s = sessions.create_session(c, pol, {"prompt": "p", "title": "race"}, settle_s=0, note=notes.append)
    assert s["session_id"] == early["session_id"] and s["is_new_session"] is False
    assert s["duplicate_ended"] != early["session_id"]
    assert any("created at the same time" in n for n in notes)


@pytest.mark.mutation
def test_a_young_existing_session_settles_to_the_earliest_through_create(emu, c, pol):
    now = int(emu.clock.now())
    young = direct(emu, "young", created_at=now)
    early = direct(emu, "young", created_at=now - 3)
    emu.set_fault("GET", R_SESSIONS, "status", status=200, body=page([young]), content_type="application/json")
    s = sessions.create_session(c, pol, {"prompt": "p", "title": "young"}, settle_s=0.001)
    assert s["session_id"] == early["session_id"] and s["is_new_session"] is False
    assert emu.requests("POST", R_SESSIONS) == []


@pytest.mark.mutation
def test_find_skips_other_titles_and_old_items_within_a_page(emu, c):
    now = int(emu.clock.now())
    good = {"session_id": SID, "org_id": emu.org_id, "title": "k", "status": "running",
            "status_detail": "working", "created_at": now}
    old = dict(good, session_id="devin-" + "b" * 32, created_at=now - 10 * 86400)
    other = dict(good, session_id="devin-" + "c" * 32, title="other")
    emu.set_fault("GET", R_SESSIONS, "status", status=200, body=page([other, old, good]),
                  content_type="application/json")
    found, info = dedup.find_active_by_title(c, "k", days=7)
    assert found["session_id"] == SID and info == {"checked": 3, "complete": True}


# -- converge and _earliest_if_young with a stubbed list -----------------------------------------------

class Stub:
    def __init__(self, remaining=100.0):
        self._remaining = remaining
        self.settings = types.SimpleNamespace(org_id="org-test1")
        self.deleted = []

    def remaining(self):
        return self._remaining

    def call(self, method, template, **kw):
        self.deleted.append(kw["path"]["devin_id"])


def sid(ch):
    return "devin-" + ch * 32


@pytest.mark.mutation
def test_earliest_if_young_age_bound(monkeypatch):
    now = 1_000_000.0
    monkeypatch.setattr(dedup, "time", types.SimpleNamespace(time=lambda: now))
    looks = []
    monkeypatch.setattr(dedup, "active_with_title",
                        lambda client, title, days: looks.append(title) or {sid("0"): {"session_id": sid("0")}})
    found = {"session_id": sid("9"), "created_at": now - 62.5}
    assert dedup.earliest_if_young(Stub(), "t", found, days=7, settle_s=2, sleep=lambda s: None) is found
    assert looks == []
    found = {"session_id": sid("9"), "created_at": now - 61.5}
    assert dedup.earliest_if_young(Stub(), "t", found, days=7, settle_s=2,
                                       sleep=lambda s: None)["session_id"] == sid("0")
    assert looks == ["t"]


@pytest.mark.mutation
def test_earliest_if_young_orders_by_created_at_then_id(monkeypatch):
    peers = {sid("1"): {"session_id": sid("1"), "created_at": 50},
             sid("2"): {"session_id": sid("2"), "created_at": 40},
             sid("3"): {"session_id": sid("3")}}
    monkeypatch.setattr(dedup, "active_with_title", lambda client, title, days: dict(peers))
    found = {"session_id": sid("1"), "created_at": time.time()}
    got = dedup.earliest_if_young(Stub(), "t", found, days=7, settle_s=1, sleep=lambda s: None)
    assert got["session_id"] == sid("3")  # no created_at sorts first (0)
    del peers[sid("3")]
    got = dedup.earliest_if_young(Stub(), "t", found, days=7, settle_s=1, sleep=lambda s: None)
    assert got["session_id"] == sid("2")
    peers[sid("0")] = {"session_id": sid("0"), "created_at": 1}
    peers[sid("4")] = {"session_id": sid("4")}
    got = dedup.earliest_if_young(Stub(), "t", found, days=7, settle_s=1, sleep=lambda s: None)
    assert got["session_id"] == sid("4")


@pytest.mark.mutation
def test_converge_keeps_ours_when_the_list_lags(monkeypatch):
    later = {"session_id": sid("1"), "created_at": 200}
    monkeypatch.setattr(dedup, "active_with_title", lambda client, title, days: {sid("1"): dict(later)})
    mine = {"session_id": sid("9"), "created_at": 100}
    stub = Stub()
    got = dedup.converge(stub, "t", mine, days=7, settle_s=0)
    assert got == dict(mine, is_new_session=True) and stub.deleted == []


@pytest.mark.mutation
def test_converge_ranks_a_session_without_created_at_first(monkeypatch):
    monkeypatch.setattr(dedup, "active_with_title",
                        lambda client, title, days: {sid("f"): {"session_id": sid("f")}})
    mine = {"session_id": sid("0"), "created_at": 1}
    stub = Stub()
    got = dedup.converge(stub, "t", mine, days=7, settle_s=0)
    assert got["session_id"] == sid("f") and got["duplicate_ended"] == sid("0") and stub.deleted == [sid("0")]


@pytest.mark.mutation
def test_reconcile_and_create_messages(emu, c, pol):
    with pytest.raises(UnknownOutcome) as e:
        dedup.reconcile_create(c, "never", time.time(), UnknownOutcome("lost", http_status=504), lambda m: None)
    assert e.value.message == ("lost. No session with this title has appeared yet: run the same create again "
                               "with the same title in a minute; dedup will return the session if it was "
                               "created, and create it otherwise.") and e.value.http_status == 504
    emu.set_fault("POST", R_SESSIONS, "status", status=200, body={"title": "x"}, content_type="application/json")
    with pytest.raises(ApiError) as e:
        sessions.create_session(c, pol, {"prompt": "p", "title": "x"}, settle_s=0)
    assert e.value.message == "the API answered the create without a usable session id"


# -- dedup boundaries and the action names of its reads ------------------------------------------------

@pytest.mark.mutation
def test_dedup_settle_bounds(monkeypatch):
    now = 1_000_000.0
    monkeypatch.setattr(dedup, "time", types.SimpleNamespace(time=lambda: now))
    looks = []
    monkeypatch.setattr(dedup, "active_with_title", lambda client, title, days: looks.append(1) or {})
    found = {"session_id": sid("9"), "created_at": now - 62.0}
    dedup.earliest_if_young(Stub(), "t", found, days=7, settle_s=2, sleep=lambda s: None)
    assert len(looks) == 1  # exactly settle + 60 s old still gets a second look
    found = {"session_id": sid("9"), "created_at": now}
    dedup.earliest_if_young(Stub(remaining=7.0), "t", found, days=7, settle_s=2, sleep=lambda s: None)
    assert len(looks) == 1  # settle reaches the 5 s margin: no look
    dedup.earliest_if_young(Stub(remaining=7.5), "t", found, days=7, settle_s=2, sleep=lambda s: None)
    assert len(looks) == 2
    mine = {"session_id": sid("9"), "created_at": 1}
    looks.clear()
    dedup.converge(Stub(remaining=7.0), "t", mine, days=7, settle_s=2, sleep=lambda s: None)
    assert len(looks) == 1
    dedup.converge(Stub(remaining=7.5), "t", mine, days=7, settle_s=2, sleep=lambda s: None)
    assert len(looks) == 3


@pytest.mark.mutation
def test_create_session_default_settle(monkeypatch, emu, c, pol):
    got = {}

    def fake_converge(client, title, session, **kw):
        got.update(kw)
        return session
    monkeypatch.setattr(dedup, "converge", fake_converge)
    sessions.create_session(c, pol, {"prompt": "p", "title": "defaults"})
    assert got["settle_s"] == 2.0 and got["days"] == 7


class Lister(Stub):
    def __init__(self, items):
        super().__init__()
        self.items = items
        self.actions = []

    def build(self, method, template, **kw):
        return types.SimpleNamespace(method=method, action=kw.get("action"), params=kw.get("params") or {})

    def send(self, req):
        self.actions.append((req.method, req.action))
        return types.SimpleNamespace(data=page(self.items))


@pytest.mark.mutation
def test_dedup_reads_are_named_dedup():
    item = {"session_id": SID, "org_id": "org-test1", "title": "t", "status": "running",
            "status_detail": "working", "created_at": int(time.time())}
    st = Lister([item])
    assert dedup.find_active_by_title(st, "t", days=7)[0] == item
    assert dedup.active_with_title(st, "t", days=7) == {SID: item}
    assert st.actions == [("GET", "dedup"), ("GET", "dedup")]
