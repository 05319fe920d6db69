"""The audit log's state directory (what a line holds is checked with the calls that write it)."""

from __future__ import annotations

import stat


def test_state_files_are_private(tmp_path):
    from devin_plugin import audit
    d = tmp_path / "s" / "devin-plugin"
    audit.ensure_private_dir(d)
    assert stat.S_IMODE(d.stat().st_mode) == 0o700
