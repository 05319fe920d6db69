"""The PR loop's MCP tools (inbox, pickup_pr) through the official SDK client over stdio, against the
emulator and real git: pickup_pr works only in the repository the server runs in."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from git_world import git, make_world
from test_mcp_server import calls, env, err, ok  # noqa: F401  (env: the fixture)



@pytest.fixture
def world(tmp_path, dirs, emu):
    return make_world(tmp_path, dirs, emu)


def test_inbox_and_pickup_through_mcp(world, emu, dirs):
    env, work, _bare, _seed = world
    env = dict(env, DEVIN_PLUGIN_WORKDIR=str(work))
    su = emu.tokens[emu.token].service_user_id
    sid = emu.create_session_direct(emu.org_id, title="pr", prompt="p", status="running", status_detail="finished",
                                    service_user_id=su, pull_requests=[
                                        {"pr_url": "https://github.com/acme/app/pull/7", "pr_state": "open"}]
                                    )["session_id"]
    head_before = git(work, "rev-parse", "HEAD", env=env)
    box, picked, hostile = calls(env, ("inbox", {}), ("pickup_pr", {"session": sid}),
                                 ("pickup_pr", {"session": sid, "pr": "https://evil.example/a/b/pull/1"}),
                                 cwd=work)
    items = ok(box)["items"]
    assert [(i["session_id"], i["reason"]) for i in items] == [(sid, "review_pr")]
    doc = ok(picked)
    assert doc["branch"] == "devin/pr-7" and Path(doc["worktree"]).is_dir()
    assert Path(doc["worktree"]).parent == work.parent and git(work, "rev-parse", "HEAD", env=env) == head_before
    assert "refused before any git command" in err(hostile, "invalid_input")["message"]
    assert json.dumps(doc).count("src/a.py") == 1


def test_batch_plan_and_run_through_mcp(emu, env):
    doc = {"batch": "mcp", "defaults": {"max_acu_limit": 2},
           "tasks": [{"title": f"task {i}", "prompt": f"do {i}"} for i in range(4)]}
    plan, refused, started, over = calls(env, ("batch_plan", {"batch": doc, "max_active": 2}),
                                         ("batch_run", {"batch": doc, "max_active": 2}),
                                         ("batch_run", {"batch": doc, "max_active": 2, "confirm": True}),
                                         ("batch_plan", {"batch": doc, "budget_acu": 7}))
    assert [i["state"] for i in ok(plan)["items"]] == ["new"] * 4 and ok(plan)["sent"] is False
    assert refused.is_error
    got = ok(started)
    assert [i["state"] for i in got["items"]] == ["started", "started", "waiting", "waiting"]
    assert len(emu.requests("POST", "/v3/organizations/{org_id}/sessions")) == 2
    assert "over --budget-acu 7" in err(over, "invalid_input")["message"]
