#!/usr/bin/env python3
"""Mutation testing (mutmut) of the payload policy, the guarded HTTP helper and the dedup logic.

    python3 dev.py mutmut [--max-children N] [--keep] [--only GLOB ...]

mutmut 3 copies the source into mutants/ and runs the tests there; it needs the code under src/
(or the top level) and records which test reaches which function in process. So this tool builds a
scratch tree (src/devin_plugin, src/devin_emulator, policy/, scripts/, tools/, the in-process tests
with tests/conftest.py and the helper modules they import), writes mutmut's configuration there,
runs `mutmut run` over

  lib/devin_plugin/policy.py       every function
  lib/devin_plugin/http.py         every function
  lib/devin_plugin/dedup.py        find, _read, peers, same_task, converge, _sweep, made_since,
                                   reconcile_create, earliest_if_young, normal_title, with_tags,
                                   without_tags (the dedup logic)
  lib/devin_plugin/sessions.py     create_session (which runs it)

and prints the score (killed / all mutants of those functions; "no tests" counts as survived) and
every surviving mutant with its diff. The test selection is in-process only (subprocess-based
script tests cannot see mutants): the TESTS files (the library tests of tests/core that reach these
modules and the in-process files of tests/system, tests/scripts and tests/contract), and of
AUDIT_ONLY only the audit-finding tests (`-m audit`, picked by node id: the rest of those files runs
the scripts as processes). Hypothesis runs DEVIN_PROPERTY_EXAMPLES=50 examples here.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MUTATED = ["src/devin_plugin/policy.py", "src/devin_plugin/http.py", "src/devin_plugin/dedup.py",
           "src/devin_plugin/sessions.py"]
SELECTED = ["devin_plugin.policy.*", "devin_plugin.http.*", "devin_plugin.sessions.x_create_session__mutmut_*"] + [
    f"devin_plugin.dedup.x_{name}__mutmut_*" for name in
    ("find", "_read", "peers", "same_task", "converge", "_sweep", "made_since", "reconcile_create",
     "earliest_if_young", "normal_title", "with_tags", "without_tags")]
# In-process test files, run whole (tests/core/test_architecture.py and test_spec_diff.py are left out:
# they read lib/ and run tools/spec_diff.py, which the scratch tree does not have).
TESTS = ["tests/core/test_policy.py", "tests/core/test_policy_token.py", "tests/core/test_policy_defaults.py",
         "tests/core/test_http_guard.py",
         "tests/core/test_hostile_responses.py",
         "tests/core/test_dedup.py", "tests/core/test_dedup_edges.py", "tests/core/test_dedup_internals.py",
         "tests/core/test_helper_edges.py", "tests/core/test_helper_internals.py",
         "tests/core/test_ids.py", "tests/core/test_config.py", "tests/core/test_errors.py",
         "tests/core/test_output.py", "tests/core/test_redact.py", "tests/core/test_states.py",
         "tests/core/test_audit_log.py", "tests/core/test_transport_seam.py", "tests/core/test_download.py",
         "tests/core/test_field_errors.py", "tests/core/test_request_building.py", "tests/core/test_create_paths.py",
         "tests/system/test_properties.py",
         "tests/system/test_untrusted_data.py", "tests/scripts/test_dry_run_is_the_request.py",
         "tests/contract/test_official_api.py"]
# Files of which only the audit-finding tests run (in process through tools/chaos.py's run_inprocess); the
# other tests there start the scripts as processes. They are selected by node id (see audit_node_ids).
AUDIT_ONLY = ["tests/scripts/test_sessions.py", "tests/scripts/test_resources.py"]
# Tests that start a real script process: they run the unmutated copy, so they are left out here.
DESELECT = ["test_forbidden_field_through_real_processes_sends_nothing",
            "test_token_absent_from_files_and_outputs_as_a_process",
            "test_missing_dependencies_give_one_clear_line",
            # and, to keep the run under 20 minutes on 2 cores, the slowest (>= 1 s: real backoff sleeps
            # or a full deadline); each still runs in `dev.py test`
            "test_dripping_body_is_cut_by_the_deadline", "test_scripts_map_hostile_answers_to_contract_exit_codes",
            "test_C5_errors_never_echo_the_token", "test_H9_transport_failures_are_typed_and_never_chain_into_null_ids",
            "test_lying_content_length", "test_drip_on_an_error_status_body_is_bounded"]

PYPROJECT = """\
[tool.mutmut]
source_paths = ["src"]
only_mutate = {only}
also_copy = ["policy", "scripts", "tools", "schemas"]
pytest_add_cli_args_test_selection = {tests}
pytest_add_cli_args = ["-p", "no:xdist", "-p", "no:cacheprovider", "-k", "{deselect}"]
timeout_multiplier = 5.0
timeout_constant = 5.0

[tool.pytest.ini_options]
testpaths = ["tests"]
addopts = "-q"
timeout = 120
markers = ["slow: slow", "claude: claude", "audit(*findings): audit finding", "mutation: mutant-killing"]
"""


def audit_node_ids() -> list[str]:
    """The audit-finding tests of AUDIT_ONLY, one node id per test function (the parametrized ids hold
    slashes, newlines and brackets; a function's parameters are all audit or none)."""
    proc = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-o", "addopts=",
                           "-p", "no:cacheprovider", "-m", "audit", *AUDIT_ONLY],
                          cwd=ROOT, capture_output=True, text=True)
    ids = list(dict.fromkeys(line.split("[", 1)[0] for line in proc.stdout.splitlines() if "::" in line))
    if proc.returncode != 0 or not ids:
        raise SystemExit(f"mutation: collecting the audit tests of {', '.join(AUDIT_ONLY)} failed "
                         f"(pytest exit {proc.returncode}):\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}")
    return ids


_IMPORT = re.compile(r"^\s*(?:from\s+(\w+)\s+import|import\s+(\w+))", re.M)


def _helpers(test_file: Path) -> list[Path]:
    """The test helper modules (tests/*.py, tests/*/*.py that are not test files) test_file imports."""
    tests = ROOT / "tests"
    out = []
    for m in _IMPORT.finditer(test_file.read_text()):
        name = m.group(1) or m.group(2)
        out += [p for p in [tests / f"{name}.py", *tests.glob(f"*/{name}.py")]
                if p.is_file() and not p.name.startswith("test_") and p != test_file]
    return out


def build_tree(work: Path) -> list[str]:
    """Build the scratch tree in work (which may exist, empty); return the pytest test selection."""
    (work / "src").mkdir(parents=True, exist_ok=True)
    for pkg in ("devin_plugin", "devin_emulator"):
        shutil.copytree(ROOT / "lib" / pkg, work / "src" / pkg,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for d in ("policy", "scripts", "schemas"):
        shutil.copytree(ROOT / d, work / d, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    (work / "tools").mkdir()
    shutil.copy2(ROOT / "tools" / "chaos.py", work / "tools" / "chaos.py")
    todo = [ROOT / name for name in ["tests/conftest.py", *TESTS, *AUDIT_ONLY]]
    copied: set[Path] = set()
    while todo:
        src = todo.pop()
        if src in copied:
            continue
        copied.add(src)
        dest = work / src.relative_to(ROOT)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, dest)
        todo += _helpers(src)
    selection = TESTS + audit_node_ids()
    deselect = " and ".join(f"not {t}" for t in DESELECT)
    (work / "pyproject.toml").write_text(PYPROJECT.format(only=json.dumps(MUTATED), tests=json.dumps(selection),
                                                          deselect=deselect))
    return selection


# Why a surviving mutant is equivalent or acceptable, decided from its diff (first match wins). Anything
# not matched is reported as a test gap: the classification errs on that side.
CATEGORIES = [
    ("equivalent: HTTP header names are case-insensitive (requests' CaseInsensitiveDict)",
     r'(get\("(content-type|CONTENT-TYPE|content-length|CONTENT-LENGTH|retry-after|RETRY-AFTER|RETRY-AFTER-MS'
     r'|location|LOCATION)"|headers\["(authorization|AUTHORIZATION)"\]'
     r'|"(content-type|CONTENT-TYPE)": "application/json"'
     r'|\{"(user-agent|USER-AGENT)": |, "(accept|ACCEPT)": |"(authorization|AUTHORIZATION)" in bare\.headers)'),
    ("equivalent: cannot differ (the file host's request is built from scratch, so it never holds a Cookie; "
     "requests upper-cases the method; a missing Location is refused either way; ids and file names never "
     "hold '/' or need 'X' quoted; every exception has args; empty `errors` give no text; a missing content "
     "type is not JSON either way; the policy refuses unknown fields before the schema runs and the root "
     "has no pattern, length or count rule, so such an error is always under a known field; every shipped "
     "endpoint lists `required`; ensure_ascii and allow_nan already default or are falsy as given)",
     r'("(XXCookieXX|cookie|COOKIE)" in bare\.headers|requests\.Request\("get", target'
     r'|get\("Location"\) or "XXXX"\)|encoded\[name\] = quote\(value, (safe="XXXX")?\)'
     r'|getattr\(cur, "args", (None)?\)|if \(data\.get\("errors"\)\) or True'
     r'|\(raw\.headers\.get\("Content-Type"\) or "XXXX"\)\.split'
     r'|reason = fields\.get\(path\[0\], (None)?\)\.get'
     r'|reason = .* if \(path and isinstance\(path\[0\], str\)\) or True'
     r'|reason = .* if path or isinstance\(path\[0\], str\)|"required": list\(spec\.get\("required", (None)?\)\)'
     r'|json\.dumps\(value, \)|json\.dumps\(req\.body, ensure_ascii=False, allow_nan=None\))'),
    ("equivalent: a value that is never read (overwritten before use, or any value above 1 means the same; "
     "the first page always sets has_next; `seen` is only counted; a falsy `found` or `shrink` is all that "
     "is tested; a missing session id fails the id check with any default; the Response default is never "
     "used; the dedup window asks for PAGE_MAX either way)",
     r'(^\s*attempts = (None|2|3)\b|session\.get\("session_id", (None|"XXXX")?\)|^\s*has_next = (None|True)$'
     r'|shrink=None, stop_on_repeat=True|seen\.append\(None\)|^\s*found = ""$'
     r'|def __init__\(self, status: int, data: Any, attempts: int = 2'
     r'|window_request\(client, created_after, \), max_items=max_checked)'),
    ("acceptable: the state directory's writability is probed again on a later mutating call of the same "
     "client (one more stat and mkdir; the same answer unless the directory changes during the call)",
     r'^\s*self\._audit_ready = (None|False)$'),
    ("equivalent: redundant defence in depth (requests go through the adapter with explicit auth and no "
     "proxies, so trust_env is never consulted; unknown fields are refused before the schema runs; the "
     "validator class is chosen explicitly, so $schema and the type keyword are not needed)",
     r'(trust_env = |"(XXadditionalPropertiesXX|additionalproperties|ADDITIONALPROPERTIES)": False'
     r'|"additionalProperties": True|"(XX\$schemaXX|\$SCHEMA)"|json-schema\.org|JSON-SCHEMA\.ORG'
     r'|"(XXtypeXX|TYPE)": "object"|stream=(None|False)|\(prepared, verify)'),
    ("acceptable: TLS and proxy arguments cannot be exercised over the loopback emulator's plain http",
     r'(verify=(None|False)|proxies=None|proxies=\{\}, timeout=|'
     r'\(prepared, stream=True, verify=True, proxies=\{\}, cert=None,$|'
     r'verify=True, cert=None|, proxies=\{\}, cert=None,\s*$)'),
    ("equivalent: same result (libyaml loader fallback, a copy of data that is never mutated, the UTF-8 codec "
     "name, JSON escaping the server decodes identically, defaults never reached)",
     r'(CSafeLoader|CSAFELOADER|csafeloader|SafeLoader\)|getattr\(None, "CSafeLoader"|copy\.copy|"UTF-8"|'
     r'json\.dumps\(req\.body, ensure_ascii=(None|True)|json\.dumps\(req\.body, allow_nan|mtime = |'
     r'self\._adapter = ""|last_error: DevinError \| None = ""|action: str = "XXXX"|float\("INF"\)|'
     r'client\.call\("(delete|get)"|client\.build\("post"|days=None, since|days=1, since)'),
    ("equivalent: unused in this path (GET calls write no audit line, so their action name is never read; "
     "a POST's safe_to_repeat defaults to False; urllib3 2 always has read1, so the read() fallback and its "
     "arguments never run, and read1's chunk size does not change the bytes read; the lock key only has to "
     "be the same for the same title on one machine)",
     r'(client\.call\("GET", SESSIONS, params=query, (action=(None|"XXdedupXX"|"DEDUP"))?\)|'
     r'max_items=max_checked, (action=(None|"XXdedupXX"|"DEDUP"))?\)|action="create_session", (safe_to_repeat=None)?\)|'
     r'else raw\.raw\.read\((None|65537|decode_content=True|65536, (decode_content=(None|False))?)|'
     r'reader\((None|65537|decode_content=True)|if \(reader\) or True|getattr\(raw\.raw, "read1", \)|'
     r'title_lock\(client\.settings\.state_dir, (None, title|client\.settings\.org_id, None)'
     r'|peers\.setdefault\(None, mine\))'),
    ("equivalent: sessions never tie on (created_at, session_id), so < and <= pick the same; the earliest "
     "of a set that only gains later sessions is the same session; a key that is never looked up; a target "
     "without a host is refused either way (by the check, or with the same error when requests prepares it)",
     r'(_order\(s\) <= _order\((mine|found)\)|same\.setdefault\(None, mine\)'
     r'|if sid != found\["session_id"\] or _order\(s\) < _order\(found\)|parts\.hostname or "XXXX"\))'),
    ("acceptable: cosmetic request header value (User-Agent, Accept)",
     r'("XXUser-AgentXX"|"XXAcceptXX"|devin-plugin/0\.1XX|DEVIN-PLUGIN|'
     r'"Accept": "(XXapplication/jsonXX|APPLICATION/JSON)")'),
    ("acceptable: a limit or boundary moved by one where no caller or server value lands (text cut lengths, "
     "default timeouts, float time comparisons)",
     r'(len\(text\) (<|<=) (80|81)|len\(key\) (<|<=) (60|61)|text\[:81\]|\[:41\]|len\(text\) < limit|'
     r'deadline_s: float = 61|connect_timeout: float = 6|read_timeout: float = 31|> self\.remaining\(\) - 0\.05|'
     r'>= MAX_RETRY_AFTER_S|settle_s > client\.remaining\(\) - 5|client\.remaining\(\) - 6|'
     r'>= settle_s \+ 60|_short\(ctype, 61\)|settle_s: float = 3\.0|max_checked: int = DEDUP_MIN_CHECKED)'),
]
_STRING = re.compile(r'(?:[rbfRBF]{0,2})(?:"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\')')
_MESSAGE_CONTEXT = re.compile(r'(raise |Error\(|note\(|Outcome\(|Input\(|Limited\(|Found\(|return f"|'
                              r'^\s*f?"|messages|where = |path = |extra = |hint|detail)')


def _wording_only(minus: str, plus: str) -> bool:
    """True if the mutation only changed (or dropped) the text of a message."""
    a, b = _STRING.sub("S", minus), _STRING.sub("S", plus)
    if not _MESSAGE_CONTEXT.search(minus):
        return False
    return a == b or b.replace("None", "S") == a or b.replace("(None)", "(S)") == a


def categorize(diff: str) -> str:
    minus = [ln[1:] for ln in diff.splitlines() if ln.startswith("-") and not ln.startswith("---")]
    plus = [ln[1:] for ln in diff.splitlines() if ln.startswith("+") and not ln.startswith("+++")]
    changed = "\n".join(plus)
    for label, pattern in CATEGORIES:
        if re.search(pattern, changed, re.M):
            return label
    if (minus and plus and len(minus) == len(plus)
            and all(_wording_only(m, p) for m, p in zip(minus, plus, strict=True))):
        return "acceptable: wording of a message, note or hint (no decision depends on it)"
    return "test gap: a behaviour the in-process tests do not pin yet (see the plan)"


def parse_results(text: str) -> dict[str, str]:
    out = {}
    for line in text.splitlines():
        m = re.match(r"\s*(devin_plugin\.\S+__mutmut_\d+):\s*(.+?)\s*$", line)
        if m:
            out[m.group(1)] = m.group(2)
    return out


def selected(name: str, globs: list[str] | None = None) -> bool:
    import fnmatch
    return any(fnmatch.fnmatch(name, g) for g in (globs or SELECTED))


def markdown(report: dict) -> str:
    """The survivors of a report, grouped by reason, one line each (for docs/security-figures.md)."""
    groups: dict[str, list[str]] = {}
    for name, info in sorted(report["survivors"].items()):
        changed = [line[1:].strip() for line in info["diff"].splitlines()
                   if line.startswith("+") and not line.startswith("+++")]
        text = " / ".join(changed)[:160].replace("|", "\\|").replace("`", "'")
        groups.setdefault(categorize(info["diff"]), []).append(  # today's classifier, not the run's
            f"- `{name.replace('devin_plugin.', '')}` ({info['status']}): `{text}`")
    out = []
    for label in sorted(groups, key=lambda k: (k.startswith("test gap"), -len(groups[k]))):
        out.append(f"**{label}** ({len(groups[label])})\n")
        out.extend(groups[label])
        out.append("")
    return "\n".join(out)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--markdown", metavar="REPORT", help="print the survivors of REPORT as Markdown and stop")
    p.add_argument("--max-children", type=int, default=os.cpu_count() or 2)
    p.add_argument("--keep", action="store_true", help="keep the scratch tree (its path is printed)")
    p.add_argument("--only", action="append", help="mutant name globs instead of the default selection")
    p.add_argument("--report", default=os.path.join(tempfile.gettempdir(), "devin-mutation-report.json"),
                   help="where to write the JSON report (default: devin-mutation-report.json in the temp dir)")
    a = p.parse_args(argv)
    if a.markdown:
        print(markdown(json.loads(Path(a.markdown).read_text())))
        return 0
    globs = a.only or SELECTED
    work = Path(tempfile.mkdtemp(prefix="devin-mutmut-"))
    start = time.monotonic()
    try:
        build_tree(work)
        env = dict(os.environ, DEVIN_PROPERTY_EXAMPLES=os.environ.get("DEVIN_PROPERTY_EXAMPLES", "50"),
                   PYTHONDONTWRITEBYTECODE="1")
        env.pop("PYTHONPATH", None)
        print(f"mutation: scratch tree {work}; running mutmut over {', '.join(globs)}", flush=True)
        rc = subprocess.call([sys.executable, "-m", "mutmut", "run", "--max-children", str(a.max_children),
                              *globs], cwd=work, env=env)
        elapsed = time.monotonic() - start
        res = subprocess.run([sys.executable, "-m", "mutmut", "results", "--all", "true"], cwd=work, env=env,
                             capture_output=True, text=True)
        # `mutmut results --all` lists every mutant of the tree (those not run as "not checked"): keep the
        # ones asked for, so that --only reports (and `mutmut show`s) its own mutants only.
        results = {k: v for k, v in parse_results(res.stdout).items() if selected(k, globs)}
        counts = Counter(results.values())
        killed = counts.get("killed", 0) + counts.get("timeout", 0) + counts.get("caught by type check", 0)
        total = len(results)
        survivors = sorted(k for k, v in results.items() if v not in ("killed", "timeout", "caught by type check"))
        from concurrent.futures import ThreadPoolExecutor

        def show(name):
            return subprocess.run([sys.executable, "-m", "mutmut", "show", name], cwd=work, env=env,
                                  capture_output=True, text=True).stdout.strip()
        with ThreadPoolExecutor(max(1, a.max_children)) as pool:
            diffs = dict(zip(survivors, pool.map(show, survivors), strict=True))
        score = killed / total if total else 0.0
        report = {"mutants": total, "killed": killed, "by_status": dict(counts), "score": round(score, 4),
                  "seconds": round(elapsed, 1), "max_children": a.max_children, "mutmut_exit": rc,
                  "survivors": {k: {"status": results[k], "category": categorize(diffs[k]), "diff": diffs[k]}
                                for k in survivors}}
        Path(a.report).write_text(json.dumps(report, indent=1) + "\n")
        for name in survivors:
            print(f"\n--- {results[name]}: {name}\n{diffs[name]}")
        print(f"\nmutation: {killed}/{total} mutants killed ({score:.1%}) in {elapsed:.0f} s with "
              f"{a.max_children} workers; by status {dict(counts)}; report {a.report}")
        return 0 if total and score >= 0.90 else 1
    finally:
        if a.keep:
            print(f"mutation: scratch tree kept at {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
