"""The dedup internals and create_session's hand-offs, pinned one behaviour at a time (found by
mutation testing, tools/mutation.py): how many sessions each look reads and with which query, which
flag reaches which helper, the sweep's window and its principal check, the fresh copy of a session
answered after a second look. Stubs stand in for the API where the case is about paging or calls
(the emulator cannot lag or repeat on cue); the create paths run against the emulator."""

from __future__ import annotations

import time
import types

import pytest

from devin_plugin import dedup, sessions
from devin_plugin import policy as policy_mod
from devin_plugin.errors import ApiError, InvalidInput
from test_dedup import c, pol  # noqa: F401  (fixtures: a client on the emulator, the default policy)

pytestmark = pytest.mark.mutation
R_SESSIONS = "/v3/organizations/{org_id}/sessions"
ORG = "org-test1"


def sid(ch: str) -> str:
    return "devin-" + ch * 32


def item(ch: str, title="t", created=100, **kw) -> dict:
    return {"session_id": sid(ch), "org_id": ORG, "title": title, "status": "running", "status_detail": "working",
            "created_at": created, **kw}


class Pager:
    """A client stub that answers every list request with `page_for(request, n)` and records requests."""

    def __init__(self, page_for):
        self.page_for = page_for
        self.sent: list = []
        self.settings = types.SimpleNamespace(org_id=ORG)
        self.deleted: list = []
        self.fail_delete = False

    def build(self, method, template, **kw):
        return types.SimpleNamespace(method=method, template=template, params=dict(kw.get("params") or {}),
                                     action=kw.get("action"), path=kw.get("path"))

    def derive(self, req, *, params):
        return types.SimpleNamespace(method=req.method, template=req.template, params={**req.params, **params},
                                     action=req.action, path=req.path)

    def send(self, req):
        self.sent.append(req)
        return types.SimpleNamespace(data=self.page_for(req, len(self.sent)))

    def call(self, method, template, **kw):
        if self.fail_delete:
            raise ApiError("the Devin API failed with 500", http_status=500)
        self.deleted.append(kw["path"]["devin_id"])

    def remaining(self):
        return 100.0


def endless(items_per_page=200):
    """Pages of non-matching items, each with a new cursor, forever."""
    return lambda req, n: {"items": [item("b", title=f"other {n}-{i}") for i in range(items_per_page)],
                           "has_next_page": True, "end_cursor": f"c{n}"}


# -- how much each look reads ------------------------------------------------------------------------------

def test_peers_reads_the_tag_up_to_its_bound_and_the_untagged_scan_up_to_its_own():
    tagged = Pager(endless())
    dedup.peers(tagged, "t", since=0, tagged=True)
    assert len(tagged.sent) == dedup.TAGGED_MAX // 200
    assert tagged.sent[0].params["tags"] == [dedup.title_tag("t")]
    scan = Pager(endless())
    dedup.peers(scan, "t", since=0, tagged=False)
    assert len(scan.sent) == dedup.SCAN_MAX // 200 and "tags" not in scan.sent[0].params


def test_a_read_asks_for_full_pages_even_when_fewer_items_are_still_wanted():
    st = Pager(endless())
    dedup._read(st, dedup.tag_request(st, "t", 0), "t", 0, 250, dedup.Search())
    assert [r.params["first"] for r in st.sent] == [200, 200]


def test_an_empty_next_cursor_is_reported_as_it_came():
    st = Pager(lambda req, n: {"items": [], "has_next_page": True, "end_cursor": ""})
    assert dedup._read(st, dedup.tag_request(st, "t", 0), "t", 0, 1000, dedup.Search()) == ""


def test_a_session_seen_twice_is_found_once():
    twice = item("a")
    st = Pager(lambda req, n: {"items": [twice], "has_next_page": n < 2, "end_cursor": f"c{n}"})
    out = dedup.Search()
    dedup._read(st, dedup.tag_request(st, "t", 0), "t", 0, 1000, out)
    assert out.found == [twice]
    again = Pager(lambda req, n: {"items": [dict(twice)], "has_next_page": False, "end_cursor": None})
    dedup._read(again, dedup.tag_request(again, "t", 0), "t", 0, 1000, out)
    assert out.found == [twice]


# -- which flag reaches which helper -------------------------------------------------------------------------

def test_the_tag_flag_reaches_every_second_look(monkeypatch):
    seen = []

    def peers(client, title, *, since, tagged):
        seen.append(tagged)
        return {}
    monkeypatch.setattr(dedup, "peers", peers)
    mine = item("m", created=time.time())
    dedup.converge(Pager(endless()), "t", "p", mine, since=0, tagged=True, settle_s=0)
    dedup.earliest_if_young(Pager(endless()), "t", "p", mine, since=0, tagged=True, settle_s=1, sleep=lambda s: None)
    dedup.sweep_own(Pager(endless()), "t", "p", mine, since=0, tagged=True, note=lambda m: None)
    assert seen == [True, True, True]


def test_made_since_looks_as_the_create_was_sent(monkeypatch):
    seen = []

    def find(client, title, **kw):
        seen.append(kw)
        return dedup.Search()
    monkeypatch.setattr(dedup, "find", find)
    assert dedup.made_since(Pager(endless()), "t", "p", 1000.0, tagged=False) is None
    assert seen == [{"since": 990.0, "tagged": False, "any_status": True}]


def test_create_hands_the_tag_flag_and_the_sweep_start_to_converge(monkeypatch, emu, c, pol):
    got = []

    def converge(client, title, prompt, session, **kw):
        got.append(kw)
        return dict(session, is_new_session=True)
    monkeypatch.setattr(dedup, "converge", converge)
    sessions.create_session(c, pol, {"prompt": "p", "title": "once"}, settle_s=0)
    assert got[-1]["tagged"] is True and got[-1]["sweep_since"] is None  # one attempt: nothing to sweep
    emu.set_fault("POST", R_SESSIONS, "status_after_processing", status=429)
    before = time.time()
    sessions.create_session(c, pol, {"prompt": "p", "title": "twice"}, settle_s=0)
    assert got[-1]["tagged"] is True and got[-1]["sweep_since"] >= before - 1


def test_force_new_hands_the_tag_flag_to_the_sweep(monkeypatch, emu, c, pol):
    got = []

    def sweep_own(client, title, prompt, mine, **kw):
        got.append(kw)
        return []
    monkeypatch.setattr(dedup, "sweep_own", sweep_own)
    emu.set_fault("POST", R_SESSIONS, "status_after_processing", status=429)
    sessions.create_session(c, pol, {"prompt": "p", "title": "forced"}, force_new=True, settle_s=0)
    assert len(got) == 1 and got[0]["tagged"] is True


# -- the sweep: its window, its principal, its failures ---------------------------------------------------------

def sweep(found: list[dict], *, since=1000.0, fail=False):
    st = Pager(endless())
    st.fail_delete = fail
    notes: list = []
    mine = item("m", created=since + 1, user_id="u-1")
    ended = dedup._sweep(st, {s["session_id"]: s for s in found}, mine, mine, "p", since, notes.append)
    return ended, st.deleted, notes


@pytest.fixture
def same_task_yes(monkeypatch):
    monkeypatch.setattr(dedup, "same_task", lambda client, s, prompt: s.get("task", "p") == prompt)


def test_the_sweep_window_starts_five_seconds_before_the_call(same_task_yes):
    edge = item("e", created=995, user_id="u-1")          # exactly since - 5: inside
    early = item("f", created=994.5, user_id="u-1")       # before it: left alone
    ended, deleted, _ = sweep([edge, early])
    assert ended == [edge["session_id"]] and deleted == [edge["session_id"]]


def test_the_sweep_ends_only_this_principals_sessions_of_this_task(same_task_yes):
    other_user = item("o", created=1002, user_id="u-2")
    old_mine = item("p", created=900, user_id="u-1")
    other_task = item("q", created=1002, user_id="u-1", task="another")
    undated = item("r", created=None, user_id="u-1")
    ours = item("s", created=1002, user_id="u-1")
    ended, deleted, _ = sweep([other_user, old_mine, other_task, undated, ours])
    assert ended == deleted == [ours["session_id"]]


def test_a_sweep_that_cannot_end_a_session_says_so(same_task_yes):
    ours = item("s", created=1002, user_id="u-1")
    ended, deleted, notes = sweep([ours], fail=True)
    assert ended == [] and deleted == []
    assert notes[-1] == (f"could not end the duplicate {ours['session_id']}: the Devin API failed with 500; "
                         "end it by hand")


# -- the second look of a young session --------------------------------------------------------------------------

def test_a_young_session_is_answered_with_its_fresh_copy_and_only_earlier_ones_are_compared(monkeypatch):
    now = time.time()
    found = item("f", created=now)
    fresh = dict(found, status_detail="waiting_for_user")
    later = item("l", created=now + 1)
    compared = []

    def same_task(client, s, prompt):
        compared.append(s["session_id"])
        return True
    monkeypatch.setattr(dedup, "same_task", same_task)
    monkeypatch.setattr(dedup, "peers", lambda client, title, *, since, tagged: {found["session_id"]: fresh,
                                                                              later["session_id"]: later})
    got = dedup.earliest_if_young(Pager(endless()), "t", "p", found, since=0, tagged=True, settle_s=1,
                                  sleep=lambda s: None)
    assert got == fresh and got is not found
    assert compared == []  # a later session can never be the earliest: its messages are not read


# -- create_session's own refusals, word for word --------------------------------------------------------------

def test_force_new_and_follow_up_together_are_refused_word_for_word(emu, c, pol):
    with pytest.raises(InvalidInput) as e:
        sessions.create_session(c, pol, {"prompt": "p"}, force_new=True, follow_up=True)
    assert e.value.message == ("--force-new and --follow-up exclude each other: --force-new creates a second "
                               "session, --follow-up sends the prompt to the existing one. Nothing was sent.")
    assert emu.journal == []


def test_the_tag_limit_counts_the_two_dedup_tags_exactly(emu, c, pol):
    limit = pol.limit("tags_max")
    made = sessions.create_session(c, pol, {"prompt": "p", "title": "t", "tags": [f"t{i}" for i in range(limit - 2)]},
                                   settle_s=0)
    assert len(made["tags"]) == limit
    tags = [f"t{i}" for i in range(limit - 1)]
    with pytest.raises(InvalidInput) as e:
        sessions.create_session(c, pol, {"prompt": "p", "title": "u", "tags": tags}, settle_s=0)
    assert e.value.message == (
        f"too many tags: {limit - 1} given, and the plugin adds two for dedup ({dedup.title_tag('u')}, "
        f"{dedup.prompt_tag('p')}); give at most {limit - 2}. Nothing was sent.")


def test_a_dry_run_shows_whether_it_would_follow_up(c, pol):
    assert sessions.create_session(c, pol, {"prompt": "p"}, dry_run=True)["dedup"]["follow_up"] is False
    assert sessions.create_session(c, pol, {"prompt": "p"}, dry_run=True, follow_up=True)["dedup"]["follow_up"] is True


def test_each_default_filled_from_the_policy_file_is_a_note(emu, c, tmp_path):
    cfg = tmp_path / "cfg2"
    cfg.mkdir()
    (cfg / "policy.yaml").write_text("create_defaults: {max_acu_limit: 20}\n")
    notes: list = []
    sessions.create_session(c, policy_mod.load(cfg), {"prompt": "p", "title": "capped"}, settle_s=0,
                            note=notes.append)
    assert notes[0] == f"max_acu_limit set to 20 from create_defaults in your policy file {cfg / 'policy.yaml'}"
    (post,) = emu.requests("POST", R_SESSIONS)
    assert post.json["max_acu_limit"] == 20
