"""A short seeded chaos run for CI (tools/chaos.py; the long run is a separate command):
the session life cycle with random faults on every emulator route, invariants checked after every step."""

from __future__ import annotations

import sys

from conftest import ROOT

sys.path.insert(0, str(ROOT / "tools"))
import chaos  # noqa: E402


def test_short_seeded_chaos_run_keeps_every_invariant():
    summary = chaos.chaos(seed=3, seconds=6, probability=0.3)
    assert summary["violations"] == [], summary["violations"][:5]
    assert summary["emulator_internal_errors"] == 0
    assert summary["steps"] >= 20 and summary["faults_injected"] >= 5, summary
    assert set(summary["exit_codes"]) <= chaos.CONTRACT_EXIT_CODES


def test_the_invariant_checker_catches_planted_violations(tmp_path):
    """The checker is not vacuous: a duplicate active title, a token in a file and an unaudited write
    are each reported."""
    c = chaos.Chaos(seed=1, probability=0.0, mode="inprocess", workdir=tmp_path)
    try:
        for _ in range(2):
            c.emu.create_session_direct(c.emu.org_id, prompt="p", title="same", status="running",
                                        status_detail="working")
        state = tmp_path / "state" / "devin-plugin"
        state.mkdir(parents=True, exist_ok=True)
        (state / "leak.txt").write_text("oops " + c.emu.token)
        c.step("list", "list_sessions.py", "--json")
        import requests

        def unaudited_write(name, *args, **kw):  # a write that bypasses the client, so no audit line
            sid = c.emu.sessions_in(c.emu.org_id)[0]["session_id"]
            requests.post(f"{c.emu.url}/v3/organizations/{c.emu.org_id}/sessions/{sid}/archive",
                          headers={"Authorization": "Bearer " + c.emu.token}, timeout=10)
            return chaos.Result(0, "", "")
        c.runner = unaudited_write
        c.step("archive", "archive_session.py")
    finally:
        c.close()
    kinds = {v.split()[0] for v in c.violations}
    assert {"I1", "I3", "I5"} <= kinds, c.violations
