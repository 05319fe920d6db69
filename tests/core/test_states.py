"""Session states: the status class each status and status detail falls into."""

from __future__ import annotations

import pytest

from devin_plugin import sessions


@pytest.mark.parametrize("status,detail,cls", [
    ("new", None, "starting"), ("claimed", None, "starting"), ("resuming", None, "starting"),
    ("running", None, "working"), ("running", "working", "working"),
    ("running", "waiting_for_user", "needs_user"), ("running", "waiting_for_approval", "needs_user"),
    ("running", "finished", "done_for_now"), ("suspended", "inactivity", "asleep"),
    ("exit", None, "ended"), ("error", None, "ended"), ("weird", None, "unknown")])
def test_status_classes(status, detail, cls):
    assert sessions.status_class({"status": status, "status_detail": detail}) == cls
