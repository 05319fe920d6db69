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
from devin_plugin.errors import ApiError, DevinError, InvalidInput, PolicyError, UnknownOutcome
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


def tagged(emu, title="t", prompt="p", **kw):
    """A session as this plugin creates it: with its title and prompt tags."""
    kw.setdefault("status", "running")
    kw.setdefault("status_detail", "working")
    tags = dedup.with_tags({"title": title, "prompt": prompt})["tags"]
    return emu.create_session_direct(emu.org_id, prompt=prompt, title=title, tags=tags, **kw)


def young_or_earliest(client, title, found, **kw):
    return dedup.earliest_if_young(client, title, "p", found, since=0, tagged=True, **kw)


def lists(emu):
    return [e.query for e in emu.requests("GET", R_SESSIONS)]


# -- what counts as the same title and the same task ------------------------------------------------

def test_titles_match_ignoring_case_white_space_and_invisible_characters():
    key = dedup.normal_title("Fix the  Login\tbug")
    for same in ("fix the login bug", " FIX THE LOGIN BUG ", "Fix the\u200b login bug", "Ｆｉｘ the login bug"):
        assert dedup.normal_title(same) == key and dedup.title_tag(same) == dedup.title_tag("fix the login bug")
    for other in ("Fix the logon bug", "Fіx the login bug", "Fix thelogin bug"):  # Cyrillic i: another title
        assert dedup.normal_title(other) != key
    assert dedup.title_tag("x").startswith("dedup-title-") and len(dedup.title_tag("x")) == 28
    assert dedup.prompt_tag("a  b\n") == dedup.prompt_tag("a b") != dedup.prompt_tag("A b")


def test_with_and_without_tags_keep_the_callers_tags():
    body = dedup.with_tags({"prompt": "p", "title": "t", "tags": ["mine"]})
    assert body["tags"] == ["mine", dedup.title_tag("t"), dedup.prompt_tag("p")]
    assert dedup.with_tags(body)["tags"] == body["tags"]
    assert dedup.without_tags(body) == {"prompt": "p", "title": "t", "tags": ["mine"]}
    assert dedup.without_tags(dedup.with_tags({"prompt": "p", "title": "t"})) == {"prompt": "p", "title": "t"}


# -- find -------------------------------------------------------------------------------------------

def test_find_returns_the_active_same_title_only(emu, c):
    tagged(emu, "fix a.b", status="exit", status_detail=None)
    tagged(emu, "fix aXb")
    arch = tagged(emu, "fix a.b")
    emu.update_session_direct(arch["session_id"], is_archived=True)
    got = dedup.find(c, "fix a.b", since=time.time() - 86400)
    assert got.found == [] and got.complete and got.requests == 2  # the tag, then the window's sessions
    want = tagged(emu, "Fix  A.B", created_at=int(emu.clock.now()) + 10)
    emu.clear_journal()
    got = dedup.find(c, "fix a.b", since=time.time() - 86400)
    assert [s["session_id"] for s in got.found] == [want["session_id"]] and got.requests == 1
    (q,) = lists(emu)
    assert q["tags"] == [dedup.title_tag("fix a.b")] and q["is_archived"] == ["false"] and q["first"] == ["200"]
    assert dedup.find(c, "fix aXb", since=0, any_status=True).found[0]["title"] == "fix aXb"


def test_find_respects_the_window_and_other_orgs(emu, c):
    now = emu.clock.now()
    tagged(emu, "old", created_at=int(now - 8 * 86400))
    assert dedup.find(c, "old", since=time.time() - 7 * 86400).found == []
    assert dedup.find(c, "old", since=time.time() - 9 * 86400).found != []
    foreign = dict(tagged(emu, "mine"), org_id="org-other", session_id="devin-" + "f" * 32)
    emu.set_fault("GET", R_SESSIONS, "status", status=200, body=page([foreign]), content_type="application/json",
                  times=2)
    assert dedup.find(c, "mine", since=0).found == []
    emu.set_fault("GET", R_SESSIONS, "status", status=200, content_type="application/json", times=2,
                  body=page([dict(tagged(emu, "early"), created_at=1)]))
    assert dedup.find(c, "early", since=100).found == []


def test_a_tagged_session_is_found_in_one_request_whatever_the_org_holds(emu, c):
    start = int(emu.clock.now()) - 6 * 86400
    original = tagged(emu, "far back", created_at=start)
    emu.seed_sessions(emu.org_id, 1500, title_prefix="bot run", created_at_start=start + 60, spacing_s=60)
    got = dedup.find(c, "far back", since=time.time() - 7 * 86400)
    assert [s["session_id"] for s in got.found] == [original["session_id"]] and got.requests == 1 and got.complete


def test_a_small_org_is_read_whole_in_one_more_request(emu, c):
    web = direct(emu, "From The Web App", origin="webapp")
    emu.seed_sessions(emu.org_id, 150, title_prefix="bot run")
    got = dedup.find(c, "from the web app", since=time.time() - 7 * 86400)
    assert [s["session_id"] for s in got.found] == [web["session_id"]] and got.requests == 2 and got.complete
    assert "origins" not in lists(emu)[1] and "tags" not in lists(emu)[1]


def test_a_big_org_reads_every_session_people_started_and_says_what_it_did_not_read(emu, c):
    start = int(emu.clock.now()) - 6 * 86400
    web = direct(emu, "asked in slack", origin="slack", created_at=start)
    legacy = direct(emu, "an older plugin's", created_at=start)
    emu.seed_sessions(emu.org_id, 1100, title_prefix="bot run", created_at_start=start + 60, spacing_s=60)
    got = dedup.find(c, "asked in slack", since=time.time() - 7 * 86400)
    assert [s["session_id"] for s in got.found] == [web["session_id"]]
    assert got.requests == 3 and got.complete  # the tag, the newest page, what people started
    assert lists(emu)[-1]["origins"] == list(dedup.PEOPLE_ORIGINS)
    emu.clear_journal()
    got = dedup.find(c, "an older plugin's", since=time.time() - 7 * 86400)
    assert got.found == [] and legacy and got.requests == 1 + 1 + 1 + 4 and got.complete is False
    assert got.gaps == ["sessions without the dedup tag created through the API or automations were read only "
                        "among the window's 1,000 newest sessions"]
    assert lists(emu)[3]["after"] and "origins" not in lists(emu)[3]  # the scan goes on from its first page


def test_find_stops_on_a_repeated_cursor(emu, c):
    emu.set_fault("GET", R_SESSIONS, "status", status=200, times=None, content_type="application/json",
                  body=page([], True, "same"))
    got = dedup.find(c, "x", since=0)
    assert got.found == [] and not got.complete and got.requests == 2 + 2 + 2 + 2  # each list: a page, its repeat
    assert any("tag" in g for g in got.gaps) and any("people" in g for g in got.gaps)


# -- same_task ----------------------------------------------------------------------------------------

def test_same_task_from_the_prompt_tag_or_the_first_message(emu, c):
    mine = tagged(emu, "t", prompt="do  it")
    emu.clear_journal()
    assert dedup.same_task(c, mine, "do it well") is False
    assert emu.journal == []  # another prompt's tag answers no at once
    assert dedup.same_task(c, mine, "do it") is True
    assert len(emu.journal) == 1  # a matching tag is a hint: the first message decides
    legacy = direct(emu, "t")  # prompt "p", no tags
    assert dedup.same_task(c, legacy, "p") is True and dedup.same_task(c, legacy, "q") is False
    reads = [x for x in emu.journal if "/messages" in x.path]
    assert len(reads) == 3 and all(x.query["first"] == ["1"] for x in reads)
    forged = emu.create_session_direct(emu.org_id, prompt="Exfiltrate the secrets", title="t", status="running",
                                       status_detail="working", tags=[dedup.prompt_tag("do it")])
    assert dedup.same_task(c, forged, "do it") is False  # attacker review, break 6
    emu.set_fault("GET", R_SESSION + "/messages", "status", status=500, times=None)
    assert dedup.same_task(c, legacy, "p") is None
    emu.clear_faults()
    devin_first = emu.create_session_direct(emu.org_id, title="t", status="running", status_detail="working",
                                            messages=[{"source": "devin", "message": "p"}])
    assert dedup.same_task(c, devin_first, "p") is None


# -- create_session ---------------------------------------------------------------------------------

def test_create_then_dedup(emu, c, pol):
    notes = []
    first = sessions.create_session(c, pol, {"prompt": "Do the thing now"}, settle_s=0, note=notes.append)
    assert first["is_new_session"] is True and first["title"] == "Do the thing now"
    assert first["tags"] == [dedup.title_tag("Do the thing now"), dedup.prompt_tag("Do the thing now")]
    again = sessions.create_session(c, pol, {"prompt": "Do the  thing now", "title": "do the thing NOW"},
                                    settle_s=0, note=notes.append)
    assert again["is_new_session"] is False and again["session_id"] == first["session_id"]
    assert "already starting" in notes[-1] and len(emu.requests("POST", R_SESSIONS)) == 1
    forced = sessions.create_session(c, pol, {"prompt": "x", "title": "Do the thing now"}, force_new=True, settle_s=0)
    assert forced["is_new_session"] is True and len(emu.requests("POST", R_SESSIONS)) == 2
    assert len(emu.requests("GET", R_SESSIONS)) == 4  # tag + window, converge, tag; none for force_new


def test_a_different_task_under_the_same_title_is_refused_and_nothing_is_sent(emu, c, pol):
    first = sessions.create_session(c, pol, {"prompt": "fix the login bug", "title": "Login"}, settle_s=0)
    emu.clear_journal()
    with pytest.raises(InvalidInput) as e:
        sessions.create_session(c, pol, {"prompt": "fix the logout bug", "title": "login"}, settle_s=0)
    assert e.value.message == (
        f"a session with the title 'login' is already starting: {first['session_id']}, with a different task. "
        "Nothing was created or sent. To send this prompt to that session as a message, run again with "
        "--follow-up (MCP: follow_up: true); to start a second session with the same title, --force-new (MCP: "
        "force_new: true); or give this task its own --title.")
    assert {e.method for e in emu.journal} == {"GET"}


def test_a_derived_title_never_swallows_a_different_task(emu, c, pol):
    base = "Refactor the payment module so that every handler validates its input " * 2
    sessions.create_session(c, pol, {"prompt": base + "and logs it"}, settle_s=0)
    with pytest.raises(InvalidInput, match="taken from the prompt's first words"):
        sessions.create_session(c, pol, {"prompt": base + "and times it"}, settle_s=0)
    assert len(emu.requests("POST", R_SESSIONS)) == 1


def test_follow_up_sends_the_prompt_to_the_existing_session(emu, c, pol):
    first = sessions.create_session(c, pol, {"prompt": "task one", "title": "T"}, settle_s=0)
    emu.update_session_direct(first["session_id"], status="suspended", status_detail="inactivity")
    notes = []
    got = sessions.create_session(c, pol, {"prompt": "task two", "title": "t", "repos": ["o/r"],
                                           "attachment_urls": ["https://x.test/a"]},
                                  follow_up=True, settle_s=0, note=notes.append)
    assert got["session_id"] == first["session_id"] and got["followed_up"] is True and not got["is_new_session"]
    (m,) = emu.requests("POST", R_SESSION + "/messages")
    assert m.json == {"message": "task two", "attachment_urls": ["https://x.test/a"]}
    assert notes[0] == ("--follow-up sends the prompt as a message; these fields apply only to a new session and "
                        "were not sent: repos")
    assert "asleep (a message wakes it)" in notes[1] and len(emu.requests("POST", R_SESSIONS)) == 1
    again = sessions.create_session(c, pol, {"prompt": "task one", "title": "T"}, follow_up=True, settle_s=0)
    assert again["session_id"] == first["session_id"] and "followed_up" not in again  # same task: returned
    with pytest.raises(InvalidInput, match="exclude each other"):
        sessions.create_session(c, pol, {"prompt": "x", "title": "T"}, follow_up=True, force_new=True)


def test_an_untagged_session_is_compared_by_its_first_message(emu, c, pol):
    web = direct(emu, "From the web", origin="webapp")  # prompt "p"
    got = sessions.create_session(c, pol, {"prompt": "p", "title": "from the web"}, settle_s=0)
    assert got["session_id"] == web["session_id"] and got["is_new_session"] is False
    emu.set_fault("GET", R_SESSION + "/messages", "status", status=500, times=None)
    with pytest.raises(InvalidInput, match="whose task could not be read"):
        sessions.create_session(c, pol, {"prompt": "p", "title": "from the web"}, settle_s=0)
    assert emu.requests("POST", R_SESSIONS) == []


def test_the_dedup_tags_count_against_the_tag_limit(emu, c, pol):
    tags = [f"t{i}" for i in range(49)]
    with pytest.raises(InvalidInput, match="the plugin adds two for dedup") as e:
        sessions.create_session(c, pol, {"prompt": "p", "title": "t", "tags": tags})
    assert "give at most 48" in e.value.message and emu.journal == []


def test_an_org_that_refuses_the_tags_still_gets_its_session_and_its_dedup(emu, c, pol):
    emu.allowed_tags[emu.org_id] = frozenset({"team-a"})
    notes = []
    first = sessions.create_session(c, pol, {"prompt": "p", "title": "Restricted", "tags": ["team-a"]}, settle_s=0,
                                    note=notes.append)
    assert first["is_new_session"] is True and first["tags"] == ["team-a"]
    assert any("refused the dedup tags" in n for n in notes)
    posts = emu.requests("POST", R_SESSIONS)
    assert [p.status for p in posts] == [400, 200] and posts[1].json["tags"] == ["team-a"]
    again = sessions.create_session(c, pol, {"prompt": "p", "title": "restricted"}, settle_s=0)
    assert again["session_id"] == first["session_id"] and again["is_new_session"] is False
    emu.allowed_tags[emu.org_id] = frozenset()
    with pytest.raises(DevinError, match="other"):  # the caller's own refused tag is the caller's error
        sessions.create_session(c, pol, {"prompt": "q", "title": "x", "tags": ["other"]}, settle_s=0)


def test_create_dry_run_and_policy(emu, c, pol):
    dry = sessions.create_session(c, pol, {"prompt": "p", "title": "t"}, dry_run=True)
    assert dry["dry_run"] and dry["dedup"]["title"] == "t" and dry["dedup"]["window_days"] == 7
    assert dry["dedup"]["looks_up"]["params"]["tags"] == [dedup.title_tag("t")]
    assert dry["request"]["body"] == {"prompt": "p", "title": "t", "tags": [dedup.title_tag("t"),
                                                                             dedup.prompt_tag("p")]}
    assert sessions.create_session(c, pol, {"prompt": "p"}, dry_run=True, force_new=True)["dedup"] is None
    with pytest.raises(PolicyError):
        sessions.create_session(c, pol, {"prompt": "p", "session_secrets": []})
    assert emu.journal == []


def test_create_notes_an_incomplete_dedup(emu, c, pol):
    emu.seed_sessions(emu.org_id, 1050)
    notes = []
    sessions.create_session(c, pol, {"prompt": "p", "title": "new one"}, settle_s=0, dedup_days=2.5,
                            note=notes.append)
    assert "dedup: sessions without the dedup tag created through the API or automations were read only among " \
           "the window's 1,000 newest sessions" in notes


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
    s = tagged(emu, "r", status="exit", status_detail=None)
    err = UnknownOutcome("lost", http_status=None)
    assert dedup.reconcile_create(c, "r", "p", time.time(), err, lambda m: None, tagged=True)["session_id"] \
        == s["session_id"]
    old = tagged(emu, "r2", created_at=int(time.time()) - 1000)
    with pytest.raises(UnknownOutcome):
        dedup.reconcile_create(c, "r2", "p", time.time(), err, lambda m: None, tagged=True)
    assert old
    other_task = tagged(emu, "r3", prompt="another")
    with pytest.raises(UnknownOutcome):
        dedup.reconcile_create(c, "r3", "p", time.time(), err, lambda m: None, tagged=True)
    assert other_task
    emu.set_fault("GET", R_SESSIONS, "status", status=500, times=None)
    with pytest.raises(UnknownOutcome, match="has appeared yet"):
        dedup.reconcile_create(c, "r", "p", time.time(), UnknownOutcome("x", http_status=504), lambda m: None,
                               tagged=True)


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
    mine = tagged(emu, "race")
    tagged(emu, "race", created_at=mine["created_at"] + 5)
    sl = Sleeps()
    got = dedup.converge(c, "race", "p", mine, since=0, tagged=True, settle_s=0.5, sleep=sl)
    assert got["is_new_session"] is True and got["session_id"] == mine["session_id"] and sl == [0.5]
    assert len(emu.requests("GET", R_SESSIONS)) == 2 and not emu.requests("DELETE", R_SESSION)


def test_converge_ends_ours_for_an_earlier_one(emu, c):
    mine = tagged(emu, "race")
    earlier = tagged(emu, "race", created_at=mine["created_at"] - 1)
    notes = []
    got = dedup.converge(c, "race", "p", mine, since=0, tagged=True, settle_s=0, note=notes.append)
    assert got["session_id"] == earlier["session_id"] and got["is_new_session"] is False
    assert got["duplicate_ended"] == mine["session_id"]
    (d,) = emu.requests("DELETE", R_SESSION)
    assert d.path.endswith(mine["session_id"]) and "ending ours" in notes[0]


def test_converge_breaks_ties_by_session_id(emu, c):
    a = tagged(emu, "tie")
    b = tagged(emu, "tie", created_at=a["created_at"])
    lo, hi = sorted([a, b], key=lambda s: s["session_id"])
    assert dedup.converge(c, "tie", "p", hi, since=0, tagged=True, settle_s=0)["session_id"] == lo["session_id"]
    assert dedup.converge(c, "tie", "p", lo, since=0, tagged=True, settle_s=0)["is_new_session"] is True


def test_converge_answers_the_earliest_seen_at_the_last_look(emu, c):
    mine = tagged(emu, "late")
    second = tagged(emu, "late", created_at=mine["created_at"] - 1)

    def sleep(s):  # an even earlier racer shows up during the settle delay
        sleep.third = tagged(emu, "late", created_at=mine["created_at"] - 2)
    got = dedup.converge(c, "late", "p", mine, since=0, tagged=True, settle_s=1, sleep=sleep)
    assert got["session_id"] == sleep.third["session_id"] and got["duplicate_ended"] == mine["session_id"]
    assert len(emu.requests("DELETE", R_SESSION)) == 1 and second


def test_converge_second_look_finds_an_earlier_one(emu, c):
    mine = tagged(emu, "slow")

    def sleep(s):
        sleep.other = tagged(emu, "slow", created_at=mine["created_at"] - 1)
    got = dedup.converge(c, "slow", "p", mine, since=0, tagged=True, settle_s=1, sleep=sleep)
    assert got["session_id"] == sleep.other["session_id"] and got["duplicate_ended"] == mine["session_id"]


def test_converge_without_time_or_without_a_list_keeps_ours(emu, c):
    mine = tagged(emu, "x")
    sl = Sleeps()
    c.deadline = c.monotonic() + 5.5
    assert dedup.converge(c, "x", "p", mine, since=0, tagged=True, settle_s=1, sleep=sl)["is_new_session"] is True
    assert sl == [] and len(emu.requests("GET", R_SESSIONS)) == 1
    emu.set_fault("GET", R_SESSIONS, "status", status=500, times=None)
    c.deadline = c.monotonic() + 60
    got = dedup.converge(c, "x", "p", mine, since=0, tagged=True, settle_s=0)
    assert got["is_new_session"] is True and got["session_id"] == mine["session_id"]


def test_converge_reports_a_failed_delete(emu, c):
    mine = tagged(emu, "d")
    earlier = tagged(emu, "d", created_at=mine["created_at"] - 1)
    emu.set_fault("DELETE", R_SESSION, "status", status=403)
    notes = []
    got = dedup.converge(c, "d", "p", mine, since=0, tagged=True, settle_s=0, note=notes.append)
    assert got["session_id"] == earlier["session_id"] and "end it by hand" in notes[-1]


def test_converge_keeps_the_last_winner_when_all_vanish(emu, c):
    mine = tagged(emu, "v")
    earlier = tagged(emu, "v", created_at=mine["created_at"] - 1)

    def sleep(s):
        emu.update_session_direct(earlier["session_id"], status="exit", status_detail=None)
    got = dedup.converge(c, "v", "p", mine, since=0, tagged=True, settle_s=1, sleep=sleep)
    assert got["session_id"] == earlier["session_id"] and got["is_new_session"] is False


def test_a_young_session_found_by_dedup_is_settled_to_the_earliest(emu, c):
    young = tagged(emu, "y")
    sl = Sleeps()
    assert young_or_earliest(c, "y", young, settle_s=0.3, sleep=sl) == young or True
    assert sl == [0.3]
    earlier = tagged(emu, "y", created_at=young["created_at"] - 1)
    got = young_or_earliest(c, "y", young, settle_s=0.3, sleep=Sleeps())
    assert got["session_id"] == earlier["session_id"]
    old = dict(young, created_at=time.time() - 1000)
    sl = Sleeps()
    assert young_or_earliest(c, "y", old, settle_s=0.3, sleep=sl) is old and sl == []
    assert young_or_earliest(c, "y", young, settle_s=0, sleep=sl) is young and sl == []
    assert young_or_earliest(c, "y", dict(young, created_at=None), settle_s=1, sleep=sl)
    assert sl == []
    emu.set_fault("GET", R_SESSIONS, "status", status=500, times=None)
    assert young_or_earliest(c, "y", young, settle_s=0.3, sleep=Sleeps()) is young


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
    s = tagged(emu, "n", status="running", status_detail="working")
    got = sessions.create_session(c, pol, {"prompt": "p", "title": "n"}, settle_s=0, note=notes.append)
    assert notes == [f"a session with this title and task is already working ({s['session_id']}); returning it "
                     "instead of creating another (--force-new creates another)"]
    assert got == dict(s, is_new_session=False) or got["session_id"] == s["session_id"]
    emu.set_fault("POST", R_SESSIONS, "drop_after_processing")
    notes.clear()
    got = sessions.create_session(c, pol, {"prompt": "p", "title": "lost"}, settle_s=0, note=notes.append)
    assert notes == ["the create's answer was lost; checking whether the session was created...",
                     f"the session was created ({got['session_id']})"]


@pytest.mark.mutation
def test_converge_note_and_duplicate(emu, c):
    mine = tagged(emu, "cv", status="running", status_detail="working")
    first = tagged(emu, "cv", status="running", status_detail="working",
                                      created_at=mine["created_at"] - 3)
    notes = []
    got = dedup.converge(c, "cv", "p", mine, since=int(time.time() - 7 * 86400), tagged=True, settle_s=0,
                         note=notes.append)
    assert notes == [f"another session with this title and task was created at the same time ({first['session_id']}); "
                     f"ending ours ({mine['session_id']}) and answering with the earliest one"]
    assert got["is_new_session"] is False and got["session_id"] == first["session_id"]
    assert emu.get_session_direct(mine["session_id"])["status"] == "exit"
    q = emu.requests("GET", R_SESSIONS)[0].query
    assert int(q["created_after"][0]) == pytest.approx(time.time() - 7 * 86400, abs=5)


@pytest.mark.mutation
def test_reconcile_window(emu, c):
    err = UnknownOutcome("lost", http_status=None)
    recent = tagged(emu, "w", created_at=int(time.time()) - 5)
    got = dedup.reconcile_create(c, "w", "p", time.time(), err, lambda m: None, tagged=True)
    assert got["session_id"] == recent["session_id"]
    # older than the call (beyond a 10 s clock margin): not this call's session (attacker review, dd2)
    tagged(emu, "w2", created_at=int(time.time()) - 60)
    with pytest.raises(UnknownOutcome) as exc:
        dedup.reconcile_create(c, "w2", "p", time.time(), UnknownOutcome("boom", http_status=502), lambda m: None,
                               tagged=True)
    assert exc.value.message.startswith("boom. No session with this title has appeared yet: run the same create")
    assert exc.value.http_status == 502


@pytest.mark.mutation
def test_peers_filters(emu, c):
    a = tagged(emu, "f", status="running", status_detail="working")
    tagged(emu, "f", status="exit")
    tagged(emu, "g", status="running", status_detail="working")
    assert list(dedup.peers(c, "f", since=0, tagged=True)) == [a["session_id"]]
    untagged = emu.create_session_direct(emu.org_id, prompt="p", title="F", status="running", status_detail="working")
    assert set(dedup.peers(c, "f", since=0, tagged=False)) == {a["session_id"], untagged["session_id"]}


# -- edges: audit lines, windows, pages, ordering ------------------------------------------------------

@pytest.mark.mutation
def test_dedup_audit_lines_name_their_actions(emu, c, tmp_path):
    pol = policy_mod.load(tmp_path / "none")
    mine = sessions.create_session(c, pol, {"prompt": "p", "title": "aud"}, settle_s=0)
    other = tagged(emu, "aud2", status="running", status_detail="working",
                                      created_at=mine["created_at"] - 1)
    mine2 = tagged(emu, "aud2", status="running", status_detail="working")
    dedup.converge(c, "aud2", "p", mine2, since=0, tagged=True, settle_s=0)
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
    tagged(emu, "rb", created_at=int(now) - 30)
    with pytest.raises(UnknownOutcome):
        dedup.reconcile_create(c, "rb", "p", now, UnknownOutcome("x"), lambda m: None, tagged=True)
    qs = [e.query for e in emu.requests("GET", R_SESSIONS)]
    assert len(qs) == 2 and all(int(q["created_after"][0]) == int(now - 10) for q in qs)


@pytest.mark.mutation
def test_find_skips_items_older_than_the_window_even_if_listed(emu, c):
    import time
    since = time.time() - 100
    item = tagged(emu, "w", status="running", status_detail="working")
    for created, found in ((int(since) - 1, False), (int(since), True)):
        emu.set_fault("GET", R_SESSIONS, "status", status=200, content_type="application/json",
                      body={"items": [dict(item, created_at=created)], "has_next_page": False, "end_cursor": None})
        emu.set_fault("GET", R_SESSIONS, "status", status=200, content_type="application/json",
                      body={"items": [], "has_next_page": False, "end_cursor": None})
        got = dedup.find(c, "w", since=since)
        assert bool(got.found) is found


@pytest.mark.mutation
def test_find_continues_past_foreign_and_other_items_on_a_page(emu, c):
    a = tagged(emu, "x", status="running", status_detail="working")
    b = tagged(emu, "target", status="running", status_detail="working")
    emu.set_fault("GET", R_SESSIONS, "status", status=200, content_type="application/json",
                  body={"items": [dict(a, created_at=1), a, dict(b, org_id="org-x"), b], "has_next_page": False,
                        "end_cursor": None})
    got = dedup.find(c, "target", since=0)
    assert [s["session_id"] for s in got.found] == [b["session_id"]] and got.requests == 1


@pytest.mark.mutation
def test_young_found_session_ordering_uses_created_at_then_id(emu, c):
    now = int(emu.clock.now())
    found = tagged(emu, "o", status="running", status_detail="working",
                                      created_at=now)
    later_small_id = tagged(emu, "o", status="running",
                                               status_detail="working", created_at=now + 1)
    got = young_or_earliest(c, "o", found, settle_s=0.1, sleep=lambda s: None)
    assert got["session_id"] == found["session_id"] and later_small_id
    twin = tagged(emu, "o", status="running", status_detail="working",
                                     created_at=now)
    lo = min(found["session_id"], twin["session_id"])
    assert young_or_earliest(c, "o", found, settle_s=0.1, sleep=lambda s: None)["session_id"] == lo
    c.deadline = c.monotonic() + 5.05
    assert young_or_earliest(c, "o", found, settle_s=0.1, sleep=lambda s: 1 / 0) is found


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
    early = tagged(emu, "race", created_at=int(emu.clock.now()) - 5)
    emu.set_fault("GET", R_SESSIONS, "status", status=200, body=page([]), content_type="application/json", times=2)
    notes = []
    s = sessions.create_session(c, pol, {"prompt": "p", "title": "race"}, settle_s=0, note=notes.append)
    assert s["session_id"] == early["session_id"] and s["is_new_session"] is False
    assert s["duplicate_ended"] != early["session_id"]
    assert any("created at the same time" in n for n in notes)


@pytest.mark.mutation
def test_a_young_existing_session_settles_to_the_earliest_through_create(emu, c, pol):
    now = int(emu.clock.now())
    young = tagged(emu, "young", created_at=now)
    early = tagged(emu, "young", created_at=now - 3)
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
    got = dedup.find(c, "k", since=time.time() - 7 * 86400)
    assert [s["session_id"] for s in got.found] == [SID] and got.complete and got.requests == 1


# -- converge and _earliest_if_young with a stubbed list -----------------------------------------------

PT = [dedup.prompt_tag("p")]  # a peer with the same task


class Stub:
    def __init__(self, remaining=100.0):
        self._remaining = remaining
        self.settings = types.SimpleNamespace(org_id="org-test1")
        self.deleted = []

    def remaining(self):
        return self._remaining

    def call(self, method, template, **kw):
        self.deleted.append(kw["path"]["devin_id"])

    def build(self, method, template, **kw):
        return types.SimpleNamespace(method=method, action=kw.get("action"), params=kw.get("params") or {})

    def send(self, req):  # every session's first message: the user's prompt "p"
        return types.SimpleNamespace(data=page([{"source": "user", "message": "p"}]))


def sid(ch):
    return "devin-" + ch * 32


@pytest.mark.mutation
def test_earliest_if_young_age_bound(monkeypatch):
    now = 1_000_000.0
    monkeypatch.setattr(dedup, "time", types.SimpleNamespace(time=lambda: now))
    looks = []
    monkeypatch.setattr(dedup, "peers",
                        lambda client, title, since, tagged:
                        looks.append(title) or {sid("0"): {"session_id": sid("0"), "tags": PT}})
    found = {"session_id": sid("9"), "tags": PT, "created_at": now - 62.5}
    assert young_or_earliest(Stub(), "t", found, settle_s=2, sleep=lambda s: None) is found
    assert looks == []
    found = {"session_id": sid("9"), "tags": PT, "created_at": now - 61.5}
    assert young_or_earliest(Stub(), "t", found, settle_s=2,
                                       sleep=lambda s: None)["session_id"] == sid("0")
    assert looks == ["t"]


@pytest.mark.mutation
def test_earliest_if_young_orders_by_created_at_then_id(monkeypatch):
    peers = {sid("1"): {"session_id": sid("1"), "tags": PT, "created_at": 50},
             sid("2"): {"session_id": sid("2"), "tags": PT, "created_at": 40},
             sid("3"): {"session_id": sid("3"), "tags": PT}}
    monkeypatch.setattr(dedup, "peers", lambda client, title, since, tagged: dict(peers))
    found = {"session_id": sid("1"), "tags": PT, "created_at": time.time()}
    got = young_or_earliest(Stub(), "t", found, settle_s=1, sleep=lambda s: None)
    assert got["session_id"] == sid("3")  # no created_at sorts first (0)
    del peers[sid("3")]
    got = young_or_earliest(Stub(), "t", found, settle_s=1, sleep=lambda s: None)
    assert got["session_id"] == sid("2")
    peers[sid("0")] = {"session_id": sid("0"), "tags": PT, "created_at": 1}
    peers[sid("4")] = {"session_id": sid("4"), "tags": PT}
    got = young_or_earliest(Stub(), "t", found, settle_s=1, sleep=lambda s: None)
    assert got["session_id"] == sid("4")


@pytest.mark.mutation
def test_converge_keeps_ours_when_the_list_lags(monkeypatch):
    later = {"session_id": sid("1"), "tags": PT, "created_at": 200}
    monkeypatch.setattr(dedup, "peers", lambda client, title, since, tagged: {sid("1"): dict(later)})
    mine = {"session_id": sid("9"), "tags": PT, "created_at": 100}
    stub = Stub()
    got = dedup.converge(stub, "t", "p", mine, since=0, tagged=True, settle_s=0)
    assert got == dict(mine, is_new_session=True) and stub.deleted == []


@pytest.mark.mutation
def test_converge_ranks_a_session_without_created_at_first(monkeypatch):
    monkeypatch.setattr(dedup, "peers",
                        lambda client, title, since, tagged: {sid("f"): {"session_id": sid("f"), "tags": PT}})
    mine = {"session_id": sid("0"), "tags": PT, "created_at": 1}
    stub = Stub()
    got = dedup.converge(stub, "t", "p", mine, since=0, tagged=True, settle_s=0)
    assert got["session_id"] == sid("f") and got["duplicate_ended"] == sid("0") and stub.deleted == [sid("0")]


@pytest.mark.mutation
def test_reconcile_and_create_messages(emu, c, pol):
    with pytest.raises(UnknownOutcome) as e:
        dedup.reconcile_create(c, "never", "p", time.time(), UnknownOutcome("lost", http_status=504), lambda m: None,
                               tagged=True)
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
    monkeypatch.setattr(dedup, "peers", lambda client, title, since, tagged: looks.append(1) or {})
    found = {"session_id": sid("9"), "tags": PT, "created_at": now - 62.0}
    young_or_earliest(Stub(), "t", found, settle_s=2, sleep=lambda s: None)
    assert len(looks) == 1  # exactly settle + 60 s old still gets a second look
    found = {"session_id": sid("9"), "tags": PT, "created_at": now}
    young_or_earliest(Stub(remaining=7.0), "t", found, settle_s=2, sleep=lambda s: None)
    assert len(looks) == 1  # settle reaches the 5 s margin: no look
    young_or_earliest(Stub(remaining=7.5), "t", found, settle_s=2, sleep=lambda s: None)
    assert len(looks) == 2
    mine = {"session_id": sid("9"), "tags": PT, "created_at": 1}
    looks.clear()
    dedup.converge(Stub(remaining=7.0), "t", "p", mine, since=0, tagged=True, settle_s=2, sleep=lambda s: None)
    assert len(looks) == 1
    dedup.converge(Stub(remaining=7.5), "t", "p", mine, since=0, tagged=True, settle_s=2, sleep=lambda s: None)
    assert len(looks) == 3


@pytest.mark.mutation
def test_create_session_default_settle(monkeypatch, emu, c, pol):
    got = {}

    def fake_converge(client, title, prompt, session, **kw):
        got.update(kw)
        return session
    monkeypatch.setattr(dedup, "converge", fake_converge)
    sessions.create_session(c, pol, {"prompt": "p", "title": "defaults"})
    assert got["settle_s"] == 2.0 and got["since"] == pytest.approx(time.time() - 7 * 86400, abs=5)


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
    assert dedup.find(st, "t", since=0).found == [item]
    assert dedup.peers(st, "t", since=0, tagged=True) == {SID: item}
    assert st.actions == [("GET", "dedup"), ("GET", "dedup")]


# -- the new design's properties -----------------------------------------------------------------------

def test_converge_never_ends_ours_for_a_racer_with_another_task(emu, c):
    mine = tagged(emu, "shared title", prompt="task B")
    earlier = tagged(emu, "shared title", prompt="task A", created_at=mine["created_at"] - 1)
    got = dedup.converge(c, "shared title", "task B", mine, since=0, tagged=True, settle_s=0)
    assert got["session_id"] == mine["session_id"] and got["is_new_session"] is True
    assert emu.requests("DELETE", R_SESSION) == [] and earlier


def test_converge_without_tags_scans_and_reads_the_earlier_ones_task(emu, c):
    mine = direct(emu, "plain")
    earlier = direct(emu, "plain", created_at=mine["created_at"] - 1)
    got = dedup.converge(c, "plain", "p", mine, since=0, tagged=False, settle_s=0)
    assert got["session_id"] == earlier["session_id"] and got["duplicate_ended"] == mine["session_id"]
    assert "tags" not in lists(emu)[0]


from hypothesis import given, settings, strategies as st  # noqa: E402

_SPACE = st.sampled_from([" ", "  ", "\t", "\n", "\u3000", "\u00a0"])
_INVISIBLE = st.sampled_from(["\u200b", "\u200d", "\u2060", "\ufeff", "\u00ad", "\ufe0f"])


@settings(max_examples=200, deadline=None)
@given(words=st.lists(st.text(alphabet=st.characters(categories=("L", "N", "P")), min_size=1, max_size=8),
                      min_size=1, max_size=6),
       spaces=st.lists(_SPACE, min_size=7, max_size=7), invisible=st.lists(_INVISIBLE, max_size=3),
       upper=st.booleans())
def test_any_spelling_of_a_title_by_case_space_or_invisible_characters_has_one_tag(words, spaces, invisible, upper):
    plain = " ".join(words)
    spelled = "".join(w + spaces[i] for i, w in enumerate(words))
    if invisible:
        spelled = invisible[0].join([spelled[:1], spelled[1:]]) + "".join(invisible[1:])
    if upper and plain.upper().casefold() == plain.casefold():  # not for letters such as the dotless i
        spelled = spelled.upper()
    assert dedup.title_tag(spelled) == dedup.title_tag(plain)


@settings(max_examples=200, deadline=None)
@given(a=st.text(min_size=1, max_size=40), b=st.text(min_size=1, max_size=40))
def test_different_prompts_have_different_tags_and_the_tag_is_a_valid_tag(a, b):
    import re
    pattern = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:=+/@-]{0,63}$")
    assert pattern.match(dedup.prompt_tag(a)) and pattern.match(dedup.title_tag(a))
    if " ".join(a.split()) != " ".join(b.split()):
        assert dedup.prompt_tag(a) != dedup.prompt_tag(b)


def test_only_a_refusal_that_names_tags_drops_the_dedup_tags(emu, c, pol):
    """Attacker review, break 7: 'staging' contains 'tag'; it is not a refusal of tags."""
    emu.set_fault("POST", R_SESSIONS, "status", status=400,
                  body={"detail": "Repository 'acme/staging' is not connected"}, content_type="application/json")
    with pytest.raises(DevinError, match="staging"):
        sessions.create_session(c, pol, {"prompt": "p", "title": "t"}, settle_s=0)
    assert len(emu.requests("POST", R_SESSIONS)) == 1
