"""Property tests (pagination invariants) and static rules (standard library only)."""

from __future__ import annotations

import ast
import pathlib
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import emulator_fixtures  # noqa: F401
from emulator_fixtures import _LIB, Client

from devin_emulator import Emulator

TAGS = ["red", "green", "blue"]


@pytest.fixture(scope="module")
def seeded():
    with Emulator(seed=99) as e:
        for i, tag in enumerate(TAGS):
            e.seed_sessions(e.org_id, 40 + i * 7, tags=[tag], created_at_start=1_700_000_000 + i * 13,
                            spacing_s=(i % 2) * 30)  # spacing 0: many equal created_at -> id tie-break
        c = Client(e)
        yield e, c
        c.close()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(first=st.integers(1, 60), tags=st.lists(st.sampled_from(TAGS), unique=True, max_size=2))
def test_pages_partition_the_filtered_set(seeded, first, tags):
    emu, c = seeded
    expected = {s["session_id"] for s in emu.sessions_in(emu.org_id)
                if not tags or set(s["tags"]) & set(tags)}
    seen, after, order = [], None, []
    while True:
        params = [("first", str(first))] + [("tags", t) for t in tags] + ([("after", after)] if after else [])
        page = c.get("sessions", params=params).json()
        assert len(page["items"]) <= first
        assert page["total"] == len(expected)
        seen += [s["session_id"] for s in page["items"]]
        order += [(s["created_at"], s["session_id"]) for s in page["items"]]
        if not page["has_next_page"]:
            assert page["end_cursor"] is None
            break
        after = page["end_cursor"]
    assert len(seen) == len(set(seen))
    assert set(seen) == expected
    assert order == sorted(order, reverse=True)


def test_emulator_uses_standard_library_only():
    pkg = pathlib.Path(_LIB) / "devin_emulator"
    allowed = set(sys.stdlib_module_names)
    for path in pkg.glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:  # relative import inside the package
                    continue
                names = [node.module or ""]
            else:
                continue
            for n in names:
                top = n.split(".")[0]
                assert top in allowed or top == "__future__", f"{path.name} imports {n}"
                assert top != "devin_plugin"
