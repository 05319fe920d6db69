#!/usr/bin/env python3
"""Benchmark: cold start of the scripts against baselines measured in the same run.

Each command runs as a fresh process against the local emulator, interleaved round by round so
machine noise hits every command alike. Prints medians and ratios; this is a benchmark, not a test.

Usage: python3 dev.py bench   (or .venv/bin/python benchmarks/benchmark.py [--rounds N])
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "lib"))

from devin_emulator import Emulator, ManualClock  # noqa: E402

PY = sys.executable


def timed(cmd, env, stdin=None) -> float:
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=env, input=stdin, capture_output=True)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"benchmark command failed ({proc.returncode}): {cmd[:3]}...\n"
                         f"{proc.stderr.decode(errors='replace')[-400:]}")
    return elapsed


@contextlib.contextmanager
def emulated_session():
    """An emulator with one session, and the environment a script needs to read it: (env, sid)."""
    with Emulator(clock=ManualClock(time.time())) as emu, tempfile.TemporaryDirectory() as tmp:
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": tmp, "LANG": "C.UTF-8",
               "XDG_STATE_HOME": f"{tmp}/state", "XDG_CONFIG_HOME": f"{tmp}/config",
               "DEVIN_API_BASE": emu.url, "DEVIN_SERVICE_USER_TOKEN": emu.token, "DEVIN_ORG_ID": emu.org_id}
        sid = emu.create_session_direct(emu.org_id, prompt="benchmark", title="benchmark")["session_id"]
        env["BENCH_URL"] = f"{emu.url}/v3/organizations/{emu.org_id}/sessions/{sid}"
        yield env, sid


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rounds", type=int, default=21)
    args = ap.parse_args()
    with emulated_session() as (env, sid):
        floor = ("import os, json, requests; r = requests.get(os.environ['BENCH_URL'], headers={'Authorization': "
                 "'Bearer ' + os.environ['DEVIN_SERVICE_USER_TOKEN']}, timeout=10); print(json.dumps(r.json()))")
        commands = {
            "python -c pass (interpreter start)": [PY, "-c", "pass"],
            "bare requests GET (the floor)": [PY, "-c", floor],
            "get_session.py --json": [PY, str(ROOT / "scripts" / "get_session.py"), sid, "--json"],
            "get_session.py (text)": [PY, str(ROOT / "scripts" / "get_session.py"), sid],
            "create_session.py --dry-run --json": [PY, str(ROOT / "scripts" / "create_session.py"), "--dry-run",
                                                   "--json", "--prompt", "x"],
        }
        if shutil.which("curl") and shutil.which("jq"):
            commands["curl | jq"] = ["sh", "-c", 'curl -s -H "Authorization: Bearer $DEVIN_SERVICE_USER_TOKEN" '
                                                 '"$BENCH_URL" | jq .']
        hook = ROOT / "hooks" / "guard_bash.py"
        hook_input = None
        if hook.exists():
            commands["guard hook, unrelated command"] = [PY, "-I", "-S", str(hook)]  # as claude-hooks.json runs it
            hook_input = json.dumps({"hook_event_name": "PreToolUse", "tool_name": "Bash",
                                     "tool_input": {"command": "git status"}}).encode()
        samples = {name: [] for name in commands}
        for name, cmd in commands.items():  # warm the page cache and bytecode once
            timed(cmd, env, hook_input if "hook" in name else None)
        for _ in range(args.rounds):
            for name, cmd in commands.items():
                samples[name].append(timed(cmd, env, hook_input if "hook" in name else None))
        med = {name: statistics.median(v) * 1000 for name, v in samples.items()}
        print(f"Cold process per call, median of {args.rounds} interleaved rounds, against the emulator on loopback"
              f" ({sys.version.split()[0]}, {os.cpu_count()} cores):\n")
        floor_ms = med["bare requests GET (the floor)"]
        for name, ms in med.items():
            print(f"  {name:<38} {ms:8.1f} ms   {ms / floor_ms:5.2f}x floor")
        ratio = med["get_session.py --json"] / floor_ms
        print(f"\nget_session.py --json / bare requests floor: {ratio:.2f}x (target <= 1.15): "
              + ("MET" if ratio <= 1.15 else "MISSED"))
        if "curl | jq" in med:
            print(f"get_session.py --json / curl | jq: {med['get_session.py --json'] / med['curl | jq']:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
