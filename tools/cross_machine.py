#!/usr/bin/env python3
"""Cross-machine dedup: N "machines" create one title at the same moment; how well do they converge?

Each machine is its own process with its own XDG state directory (so no shared lock), running the
real scripts/create_session.py against one emulator on a real clock. The children import
everything first, then wait for a common start time and fire together. Per round it measures

  active     active sessions left with the title          (goal 1)
  misled     callers told a different id than the survivor (goal 0)
  created    sessions created along the way
  ended      sessions ended by the convergence step (DELETEs with action dedup_converge)

for the default settle delay and for 0 (one look only), R rounds each.

    python3 dev.py setup && .venv/bin/python tools/cross_machine.py --machines 10 --rounds 20
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = ROOT / "scripts"
if str(ROOT / "lib") not in sys.path:
    sys.path.insert(0, str(ROOT / "lib"))

DEFAULT_SETTLE = "2"  # scripts/create_session.py's default for DEVIN_DEDUP_SETTLE_SECONDS


def child(start_at: float, args: list[str]) -> int:
    """One machine: import everything, wait for the start time, then run create_session.py."""
    import importlib.util
    sys.path.insert(0, str(SCRIPTS))
    import _prelude  # noqa: F401
    import jsonschema  # noqa: F401  (warm imports)
    import yaml  # noqa: F401
    from devin_plugin import cli, config, http, locks, policy, sessions  # noqa: F401
    policy.load(config.config_dir())._validator("session_create", False)
    spec = importlib.util.spec_from_file_location("create_session_script", SCRIPTS / "create_session.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    delay = start_at - time.time()
    if delay > 0:
        time.sleep(delay)
    return cli.run(script.main, script.build, args)


def one_round(emu, title: str, machines: int, settle: str, workdir: Path, lead_s: float = 1.5) -> dict:
    from devin_plugin.states import is_active
    env_base = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8",
                "DEVIN_API_BASE": emu.url, "DEVIN_SERVICE_USER_TOKEN": emu.token, "DEVIN_ORG_ID": emu.org_id,
                "DEVIN_DEDUP_SETTLE_SECONDS": settle, "PYTHONDONTWRITEBYTECODE": "1"}
    before = {s["session_id"] for s in emu.sessions_in(emu.org_id)}
    start_at = time.time() + lead_s
    procs = []
    for i in range(machines):
        home = workdir / f"machine-{i}"
        env = dict(env_base, HOME=str(home), XDG_STATE_HOME=str(home / "state"),
                   XDG_CONFIG_HOME=str(home / "config"), XDG_DATA_HOME=str(home / "data"))
        procs.append(subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--child", repr(start_at), "--", "--json",
             "--prompt", f"Cross-machine task for {title}", "--title", title],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env))
    answers, codes, paths = [], [], []
    for p in procs:
        out, err = p.communicate(timeout=180)
        codes.append(p.returncode)
        try:
            doc = json.loads(out)
        except ValueError:
            doc = {}
        answers.append(doc.get("session_id"))
        paths.append("created" if doc.get("is_new_session") else
                     "converged" if doc.get("duplicate_ended") else "found" if doc else "failed")
    mine = [s for s in emu.sessions_in(emu.org_id) if s["session_id"] not in before and s.get("title") == title]
    active = [s for s in mine if is_active(s)]
    survivor = active[0]["session_id"] if len(active) == 1 else None
    ended = len(emu.requests("DELETE", "/v3/organizations/{org_id}/sessions/{devin_id}"))
    misled_paths = Counter(path for a, path in zip(answers, paths, strict=True) if a != survivor)
    return {"misled_paths": misled_paths, "active": len(active), "created": len(mine), "exit_codes": Counter(codes),
            "misled": sum(1 for a in answers if a is None or a != survivor) if survivor
            else sum(1 for a in answers if a not in {s["session_id"] for s in active}),
            "answers": len({a for a in answers if a}), "deletes_total": ended}


def measure(machines: int = 10, rounds: int = 10, settles=(DEFAULT_SETTLE, "0"), speed: float = 1.0) -> dict:
    from devin_emulator import Emulator, RealClock
    results = {}
    for settle in settles:
        with Emulator(clock=RealClock(speed=speed)) as emu, tempfile.TemporaryDirectory() as tmp:
            rows = []
            started = time.monotonic()
            deletes_before = 0
            for r in range(rounds):
                row = one_round(emu, f"cross-machine title {settle} {r}", machines, settle, Path(tmp) / str(r))
                row["ended"] = row.pop("deletes_total") - deletes_before
                deletes_before += row["ended"]
                rows.append(row)
            results[settle] = {
                "rounds": rounds, "machines": machines,
                "rounds_with_one_active": sum(1 for x in rows if x["active"] == 1),
                "max_active": max(x["active"] for x in rows),
                "mean_active": round(sum(x["active"] for x in rows) / rounds, 2),
                "misled_callers": sum(x["misled"] for x in rows),
                "rounds_with_misled": sum(1 for x in rows if x["misled"]),
                "created": sum(x["created"] for x in rows), "ended": sum(x["ended"] for x in rows),
                "exit_codes": dict(sum((x["exit_codes"] for x in rows), Counter())),
                "misled_by_path": dict(sum((x["misled_paths"] for x in rows), Counter())),
                "seconds": round(time.monotonic() - started, 1),
                "internal_errors": len(emu.internal_errors),
            }
    return results


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--child"]:
        return child(float(argv[1]), argv[3:])
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--machines", type=int, default=10)
    p.add_argument("--rounds", type=int, default=20)
    p.add_argument("--settle", action="append", help=f"settle delays to try (default {DEFAULT_SETTLE} and 0)")
    p.add_argument("--json", action="store_true")
    a = p.parse_args(argv)
    res = measure(a.machines, a.rounds, tuple(a.settle or (DEFAULT_SETTLE, "0")))
    if a.json:
        print(json.dumps(res, indent=1))
    else:
        for settle, r in res.items():
            print(f"settle {settle} s: {r['machines']} machines x {r['rounds']} rounds: one active session in "
                  f"{r['rounds_with_one_active']}/{r['rounds']} rounds (max {r['max_active']}, mean "
                  f"{r['mean_active']}); callers told a non-surviving id: {r['misled_callers']} "
                  f"(in {r['rounds_with_misled']} rounds; by path {r['misled_by_path']}); "
                  f"sessions created {r['created']}, ended {r['ended']}; "
                  f"exit codes {r['exit_codes']}; {r['seconds']} s")
    ok = all(r["max_active"] == 1 and r["misled_callers"] == 0 for r in res.values()
             if r is res.get(DEFAULT_SETTLE))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
