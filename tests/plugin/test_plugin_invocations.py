"""Every script call a command or the skill tells the model (or a `!` line) to make names an
existing script and only options that script's --help lists.

Options named in the prose of a file are checked too, against the union of the scripts' options.
"""

from __future__ import annotations

import functools
import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/, for plugin_helpers
import plugin_helpers as ph  # noqa: E402

MD_FILES = ph.markdown_files()
MD_IDS = [str(p.relative_to(ph.REPO)) for p in MD_FILES]


@functools.cache
def help_options(script: str) -> frozenset[str]:
    path = ph.SCRIPTS_DIR / script
    assert path.is_file(), f"scripts/{script} does not exist"
    found: set[str] = set()
    for verb in (None, *ph.VERB_SCRIPTS.get(script, ())):
        proc = ph.script_help(script, verb)
        assert proc.returncode == 0, f"{script} {verb or ''} --help failed ({proc.returncode}): {proc.stderr[-500:]}"
        found |= set(re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]*)", proc.stdout))
    return frozenset(found)


def all_options() -> frozenset[str]:
    """Options of every contract script (a missing script is reported by the test above)."""
    out: set[str] = set()
    for name in ph.CONTRACT_SCRIPTS:
        if (ph.SCRIPTS_DIR / f"{name}.py").is_file():
            out |= help_options(f"{name}.py")
    return frozenset(out)


@pytest.mark.parametrize("path", MD_FILES, ids=MD_IDS)
def test_documented_invocations_use_real_scripts_and_options(path):
    _, body = ph.read_md(path)
    calls = ph.documented_invocations(body)
    assert calls, f"{path.name} tells of no script call"
    for script, options in calls:
        unknown = sorted(set(options) - help_options(script))
        assert unknown == [], f"{path.name}: {script} has no option(s) {unknown}"


@pytest.mark.parametrize("path", MD_FILES, ids=MD_IDS)
def test_options_named_in_prose_exist(path):
    _, body = ph.read_md(path)
    scripts = {s for s, _ in ph.documented_invocations(body)}
    # Prose may point at another command's option (e.g. `--playbook-id` of /devin:delegate).
    known = help_options(next(iter(scripts))) | all_options() if len(scripts) == 1 else all_options()
    named = set(re.findall(r"`(--[a-z][a-z0-9-]*)", body))
    assert sorted(named - known) == [], f"{path.name} names options no script has"
