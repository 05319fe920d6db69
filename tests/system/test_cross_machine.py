"""Cross-machine dedup, small CI version of tools/cross_machine.py: separate processes with separate
state directories (no shared lock) create one title at the same moment; with the default settle delay
one session survives and every caller is told its id."""

from __future__ import annotations

import sys

import pytest

from conftest import ROOT

sys.path.insert(0, str(ROOT / "tools"))
import cross_machine  # noqa: E402


@pytest.mark.slow
def test_simultaneous_creates_on_separate_machines_converge():
    res = cross_machine.measure(machines=5, rounds=2, settles=(cross_machine.DEFAULT_SETTLE,))
    r = res[cross_machine.DEFAULT_SETTLE]
    assert r["max_active"] == 1 and r["rounds_with_one_active"] == 2, r
    assert r["misled_callers"] == 0, r
    assert r["exit_codes"] == {0: 10} and r["internal_errors"] == 0, r
    assert r["created"] - r["ended"] == 2, r
