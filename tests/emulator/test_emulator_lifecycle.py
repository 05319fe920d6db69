"""The clock-driven session life cycle (manual clock), and the real-time clock."""

from __future__ import annotations

import time

import emulator_fixtures  # noqa: F401
from emulator_fixtures import Client, assert_problem, client, emu  # noqa: F401

from devin_emulator import Emulator, ManualClock, RealClock


def state(client, sid):
    s = client.session(sid)
    return s["status"], s["status_detail"]


def test_full_life_cycle(client, emu):
    emu.script_replies(["Sure: should I also update the docs?"])
    s = client.create("Refactor module foo", repos=["acme/app"])
    sid = s["session_id"]
    assert state(client, sid) == ("new", None)
    emu.clock.advance(emu.claim_after_s)
    assert state(client, sid) == ("claimed", None)
    emu.clock.advance(emu.start_after_s)
    assert state(client, sid) == ("running", "working")
    msgs = client.messages(sid)
    assert [m["source"] for m in msgs] == ["user", "devin"]  # prompt, then Devin's first message
    emu.clock.advance(emu.work_s - 1)
    assert state(client, sid) == ("running", "working")
    emu.clock.advance(1)
    got = client.session(sid)
    assert (got["status"], got["status_detail"]) == ("running", "finished")
    assert got["acus_consumed"] > 0
    assert got["pull_requests"] and got["pull_requests"][0]["pr_url"].startswith("https://github.com/acme/app/pull/")
    assert client.messages(sid)[-1]["source"] == "devin"
    # a user message: working, then Devin's scripted reply; a question -> waiting_for_user
    r = client.post(f"sessions/{sid}/messages", json={"message": "Also handle bar"})
    assert r.json()["status"] == "running"
    assert state(client, sid) == ("running", "working")
    emu.clock.advance(emu.reply_after_s)
    assert state(client, sid) == ("running", "waiting_for_user")
    assert client.messages(sid)[-1]["message"] == "Sure: should I also update the docs?"
    # inactivity: suspended after 600 s without activity
    emu.clock.advance(emu.inactivity_s - 1)
    assert state(client, sid)[0] == "running"
    emu.clock.advance(1)
    assert state(client, sid) == ("suspended", "inactivity")
    updated = client.session(sid)["updated_at"]
    # a message wakes it: resuming, then running, then a (default) reply
    r = client.post(f"sessions/{sid}/messages", json={"message": "yes please"})
    assert r.status_code == 200 and r.json()["status"] == "resuming"
    assert client.session(sid)["updated_at"] >= updated
    emu.clock.advance(emu.resume_after_s)
    assert state(client, sid) == ("running", "working")
    emu.clock.advance(emu.reply_after_s)
    assert state(client, sid) == ("running", "finished")
    assert client.messages(sid)[-1]["message"] == emu.default_reply


def test_big_clock_jump_applies_every_step(client, emu):
    s = client.create()
    emu.clock.advance(10_000)
    assert state(client, s["session_id"]) == ("suspended", "inactivity")
    sources = [m["source"] for m in client.messages(s["session_id"])]
    assert sources == ["user", "devin", "devin"]


def test_list_also_advances_lifecycle(client, emu):
    s = client.create()
    emu.clock.advance(emu.claim_after_s + emu.start_after_s)
    item = client.get("sessions").json()["items"][0]
    assert item["session_id"] == s["session_id"] and item["status"] == "running"


def test_billing_suspension_does_not_resume(client, emu):
    s = emu.create_session_direct(emu.org_id, prompt="p", status="suspended", status_detail="out_of_credits")
    r = client.post(f"sessions/{s['session_id']}/messages", json={"message": "wake"})
    assert r.status_code == 200 and r.json()["status"] == "suspended"
    emu.clock.advance(100)
    assert state(client, s["session_id"]) == ("suspended", "out_of_credits")
    assert client.messages(s["session_id"])[-1]["message"] == "wake"


def test_message_while_starting_is_kept(client, emu):
    s = client.create()
    r = client.post(f"sessions/{s['session_id']}/messages", json={"message": "early note"})
    assert r.json()["status"] == "new"
    emu.clock.advance(emu.claim_after_s + emu.start_after_s)
    assert state(client, s["session_id"]) == ("running", "working")
    assert "early note" in [m["message"] for m in client.messages(s["session_id"])]


def test_shortened_durations(emu):
    emu.claim_after_s = emu.start_after_s = emu.work_s = 0
    c = Client(emu)
    s = c.create()
    assert state(c, s["session_id"]) == ("running", "finished")


def test_terminate_cancels_pending_steps(client, emu):
    s = client.create()
    client.delete(f"sessions/{s['session_id']}")
    emu.clock.advance(5000)
    assert state(client, s["session_id"]) == ("exit", None)


def test_lifecycle_can_be_disabled(client, emu):
    emu.lifecycle_enabled = False
    s = client.create()
    emu.clock.advance(5000)
    assert state(client, s["session_id"]) == ("new", None)


def test_manual_clock_rules():
    c = ManualClock(100.0)
    assert c.now() == 100.0
    assert c.advance(5) == 105.0
    c.set(200)
    assert c.now() == 200.0
    for bad in (lambda: c.advance(-1), lambda: c.set(1)):
        try:
            bad()
        except ValueError:
            pass
        else:  # pragma: no cover
            raise AssertionError("moved backwards")
    assert Emulator().clock.now() == 1_790_000_000.0


def test_real_clock_speed():
    rc = RealClock(speed=100.0)
    t0 = rc.now()
    assert abs(t0 - time.time()) < 5
    time.sleep(0.05)
    assert rc.now() - t0 >= 4.0
    before = rc.now()
    rc.advance(1000)
    assert rc.now() - before >= 1000


def test_real_clock_drives_lifecycle():
    with Emulator(RealClock(speed=200.0)) as e:
        c = Client(e)
        s = c.create()
        deadline = time.monotonic() + 5
        while state(c, s["session_id"]) != ("running", "finished"):
            assert time.monotonic() < deadline
            time.sleep(0.02)
