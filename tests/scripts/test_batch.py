"""delegate_batch.py against the emulator over loopback: plan before spending, at most N running, never
a task twice, through reruns, a kill between two creates and faults on create."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time

import pytest

from conftest import PYTHON, SCRIPTS, base_env

R_SESSIONS = "/v3/organizations/{org_id}/sessions"


def batch_file(dirs, n=20, name="sweep", cap=2, **defaults):
    doc = {"batch": name, "defaults": {"max_acu_limit": cap, **defaults},
           "tasks": [{"title": f"Fix lint in module {i}", "prompt": f"Fix the lint errors in module {i} of acme/app"}
                     for i in range(n)]}
    path = dirs["work"] / "batch.json"
    path.write_text(json.dumps(doc))
    return "batch.json"


def running(emu):
    from devin_plugin.states import status_class
    return [s for s in emu.sessions_in(emu.org_id) if status_class(s) in ("starting", "working", "needs_user")]


def writes(emu):
    return [e for e in emu.journal if e.method != "GET" and not e.path.startswith("/_emulator")]


def test_the_plan_sends_no_write_and_shows_caps_and_costs(emu, run, dirs):
    f = batch_file(dirs, n=5, devin_mode="fast")
    r = run("delegate_batch.py", f, "--json")
    assert r.rc == 0, r.err
    doc = json.loads(r.out)
    assert [i["state"] for i in doc["items"]] == ["new"] * 5 and doc["total_max_acu"] == 10 and not doc["sent"]
    assert doc["cost_notes"] == ["devin_mode fast: about 4x the ACUs of normal (documented)"]
    assert writes(emu) == [] and doc["plan_requests"] == 2  # the batch's tag, the five title tags at once
    text = run("delegate_batch.py", f)
    assert "Nothing was sent" in text.out and "--- begin untrusted content" in text.out


def test_twenty_tasks_three_at_a_time_over_reruns_make_exactly_twenty_sessions(emu, run, dirs):
    f = batch_file(dirs)
    peak, rounds = 0, 0
    while rounds < 12:
        rounds += 1
        r = run("delegate_batch.py", f, "--yes", "--max-active", "3", "--json")
        assert r.rc == 0, r.err
        peak = max(peak, len(running(emu)))
        states = [i["state"] for i in json.loads(r.out)["items"]]
        if "waiting" not in states and "new" not in states:
            break
        emu.clock.advance(40)  # Devin finishes its turn: the slots free up
    sessions = emu.sessions_in(emu.org_id)
    assert len(sessions) == 20 and len(emu.requests("POST", R_SESSIONS)) == 20
    assert peak <= 3 and rounds == 7
    assert all("batch-sweep" in s["tags"] for s in sessions)
    emu.clock.advance(40)
    again = json.loads(run("delegate_batch.py", f, "--yes", "--json").out)
    assert {i["state"] for i in again["items"]} == {"done"} and len(emu.requests("POST", R_SESSIONS)) == 20
    usage = json.loads(run("usage.py", "--tag", "batch-sweep", "--json").out)
    spent = [s["acus_consumed"] for s in emu.sessions_in(emu.org_id)]
    assert len(usage["items"]) == 20 and min(spent) > 0
    assert usage["total_acus"] == pytest.approx(sum(spent), rel=1e-12)


def test_a_budget_below_the_caps_or_a_task_without_a_cap_refuses_the_whole_batch(emu, run, dirs):
    f = batch_file(dirs, n=4, cap=5)
    r = run("delegate_batch.py", f, "--yes", "--budget-acu", "19")
    assert r.rc == 2 and "add up to 20 ACUs, over --budget-acu 19" in r.err and emu.journal == []
    assert run("delegate_batch.py", f, "--budget-acu", "20", "--json").rc == 0
    doc = json.loads((dirs["work"] / "batch.json").read_text())
    del doc["defaults"]["max_acu_limit"]
    (dirs["work"] / "batch.json").write_text(json.dumps(doc))
    r = run("delegate_batch.py", "batch.json", "--yes", "--budget-acu", "100")
    assert r.rc == 2 and "needs a max_acu_limit on every task" in r.err and writes(emu) == []


@pytest.mark.parametrize("doc,words", [
    ({"batch": "x", "tasks": [{"title": "a", "prompt": "p", "create_as_user_id": "u"}]}, "task 1"),
    ({"batch": "x", "tasks": [{"title": "a", "prompt": "p", "max_acu_limit": 0}]}, "task 1"),
    ({"batch": "x", "tasks": [{"title": "A  b", "prompt": "p"}, {"title": "a B", "prompt": "q"}]}, "same title"),
    ({"batch": "-rf", "tasks": [{"title": "a", "prompt": "p"}]}, "`batch`"),
    ({"batch": "x", "tasks": []}, "`tasks`"),
    ({"batch": "x", "tasks": [{"title": "a"}]}, "task 1"),
    ({"batch": "x", "defaults": {"prompt": "p"}, "tasks": [{"title": "a", "prompt": "p"}]}, "`defaults`"),
    ({"batch": "x", "taks": [], "tasks": [{"title": "a", "prompt": "p"}]}, "unknown key"),
])
def test_a_bad_task_refuses_the_whole_batch_before_anything_is_sent(emu, run, dirs, doc, words):
    (dirs["work"] / "b.json").write_text(json.dumps(doc))
    r = run("delegate_batch.py", "b.json", "--yes")
    assert r.rc == 2 and words in r.err, r.err
    assert emu.journal == []


def test_yaml_files_without_aliases_or_duplicate_keys(emu, run, dirs):
    (dirs["work"] / "b.yaml").write_text("batch: y\ntasks:\n  - title: one\n    prompt: do one\n")
    assert run("delegate_batch.py", "b.yaml", "--json").rc == 0
    emu.clear_journal()
    (dirs["work"] / "bomb.yaml").write_text("a: &a [x, x]\nb: &b [*a, *a]\nbatch: y\ntasks: [*b]\n")
    r = run("delegate_batch.py", "bomb.yaml")
    assert r.rc == 2 and "aliases" in r.err
    (dirs["work"] / "dup.yaml").write_text("batch: y\nbatch: z\ntasks: []\n")
    r = run("delegate_batch.py", "dup.yaml")
    assert r.rc == 2 and "appears twice" in r.err and emu.journal == []


def test_a_batch_killed_between_two_creates_resumes_without_a_duplicate(emu, dirs):
    f = batch_file(dirs, n=6)
    env = base_env(dirs, emu)
    # Every list answers after 1 s: after its first create the batch sits in that create's convergence
    # look, before the second create, long enough to be killed there.
    emu.set_fault("GET", R_SESSIONS, "delay", seconds=1, times=None)
    proc = subprocess.Popen([PYTHON, str(SCRIPTS / "delegate_batch.py"), f, "--yes", "--max-active", "4", "--json"],
                            cwd=dirs["work"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while not any(e.status for e in emu.requests("POST", R_SESSIONS)) and time.monotonic() < deadline:
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)
    emu.clear_faults()
    assert len(emu.sessions_in(emu.org_id)) == 1 and len(emu.requests("POST", R_SESSIONS)) == 1
    r = subprocess.run([PYTHON, str(SCRIPTS / "delegate_batch.py"), f, "--yes", "--max-active", "4", "--json"],
                       cwd=dirs["work"], env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    titles = [s["title"] for s in emu.sessions_in(emu.org_id)]
    assert len(titles) == len(set(titles)) == 4


@pytest.mark.parametrize("fault", [{"kind": "status_after_processing", "status": 429},
                                   {"kind": "drop_after_processing"}, {"kind": "status", "status": 500}])
def test_faults_on_create_never_make_a_duplicate(emu, run, dirs, fault):
    f = batch_file(dirs, n=3)
    kind = fault.pop("kind")
    emu.set_fault("POST", R_SESSIONS, kind, **fault)
    first = run("delegate_batch.py", f, "--yes", "--max-active", "3", "--json")
    second = run("delegate_batch.py", f, "--yes", "--max-active", "3", "--json")
    assert second.rc == 0, (first.err, second.err)
    from devin_plugin.states import is_active
    titles = [s["title"] for s in emu.sessions_in(emu.org_id) if is_active(s)]
    assert sorted(titles) == sorted(set(titles)) and len(titles) == 3


def test_the_users_default_cap_counts_in_the_budget_and_reaches_every_create(emu, run, dirs):
    (dirs["config"] / "devin-plugin").mkdir(parents=True, exist_ok=True)
    (dirs["config"] / "devin-plugin" / "policy.yaml").write_text("create_defaults: {max_acu_limit: 3}\n")
    doc = {"batch": "capped", "tasks": [{"title": f"t{i}", "prompt": f"p{i}"} for i in range(4)]}
    (dirs["work"] / "b.json").write_text(json.dumps(doc))
    r = run("delegate_batch.py", "b.json", "--budget-acu", "11")
    assert r.rc == 2 and "add up to 12 ACUs" in r.err and emu.journal == []
    r = run("delegate_batch.py", "b.json", "--budget-acu", "12", "--yes", "--max-active", "4", "--json")
    assert r.rc == 0, r.err
    assert [p.json["max_acu_limit"] for p in emu.requests("POST", R_SESSIONS)] == [3, 3, 3, 3]
    u = run("usage.py", "--tag", "batch-capped", "--json")
    assert u.rc == 0 and json.loads(u.out)["total_acus"] == sum(
        s["acus_consumed"] for s in emu.sessions_in(emu.org_id))
