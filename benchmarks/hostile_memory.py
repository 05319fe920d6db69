#!/usr/bin/env python3
"""Peak memory (max RSS) of the client facing hostile responses, one fresh process per case.

The emulator runs in this process; each case runs a child process that makes one call through the
guarded helper (devin_plugin.http.Client) and reports its own ru_maxrss, the error kind and the time.
A baseline case (a normal answer) and, for the bombs, a naive `requests` client reading the whole
body show what the caps save.

    python3 dev.py setup && .venv/bin/python benchmarks/hostile_memory.py [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "lib"))

R_SESSIONS = "/v3/organizations/{org_id}/sessions"
CASES = [
    ("baseline (normal 200)", None, {}),
    ("malformed JSON", "malformed_json", {}),
    ("NaN", "nan_json", {}),
    ("duplicate keys", "duplicate_keys", {}),
    ("HTML 502 page", "html", {"status": 502}),
    ("wrong content type", "wrong_content_type", {}),
    ("oversized 200 MiB, Content-Length", "oversized", {"bytes": 200 * 2**20}),
    ("oversized 200 MiB, chunked", "oversized", {"bytes": 200 * 2**20, "chunked": True}),
    ("oversized 200 MiB, close-delimited", "oversized", {"bytes": 200 * 2**20, "close_delimited": True}),
    ("gzip bomb 1 GiB", "gzip_bomb", {"inflated_bytes": 2**30}),
    ("gzip bomb 1 GiB on 500", "gzip_bomb", {"inflated_bytes": 2**30, "status": 500}),
    ("slow drip (1 byte / 50 ms)", "drip", {"interval": 0.05, "bytes": 10**6}),
    ("unknown status 599", "status", {"status": 599}),
    ("redirect 307", "redirect", {"status": 307, "location": "http://127.0.0.1:9/x"}),
]
NAIVE = {"gzip bomb 1 GiB", "oversized 200 MiB, chunked"}

CHILD = r"""
import json, resource, sys, time
sys.path.insert(0, sys.argv[1])
mode, base, token, org = sys.argv[2:6]
start = time.monotonic()
kind = "ok"
if mode == "guarded":
    from devin_plugin import config
    from devin_plugin.errors import DevinError
    from devin_plugin.http import Client
    c = Client(config.load({"DEVIN_API_BASE": base, "DEVIN_SERVICE_USER_TOKEN": token, "DEVIN_ORG_ID": org,
                            "XDG_STATE_HOME": "/nonexistent"}), deadline_s=3.0, sleep=lambda s: None)
    try:
        c.call("GET", "/organizations/{org_id}/sessions")
    except DevinError as e:
        kind = e.kind
else:
    import requests
    r = requests.get(f"{base}/v3/organizations/{org}/sessions", headers={"Authorization": "Bearer " + token},
                     timeout=30)
    kind = f"naive read {len(r.content)} bytes"
print(json.dumps({"kind": kind, "seconds": round(time.monotonic() - start, 2),
                  "max_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}))
"""


def run_case(emu, kind, params, mode="guarded") -> dict:
    emu.clear_faults()
    if kind:
        emu.set_fault("GET", R_SESSIONS, kind, times=None, **params)
    proc = subprocess.run([sys.executable, "-c", CHILD, str(ROOT / "lib"), mode, emu.url, emu.token, emu.org_id],
                          capture_output=True, text=True, timeout=300,
                          env=dict(os.environ, PYTHONDONTWRITEBYTECODE="1"))
    if proc.returncode != 0:
        return {"kind": "child failed: " + proc.stderr.strip().splitlines()[-1][:200], "seconds": None,
                "max_rss_mib": None}
    return json.loads(proc.stdout)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--json", action="store_true")
    a = p.parse_args(argv)
    from devin_emulator import Emulator
    rows = []
    with Emulator() as emu:
        emu.seed_sessions(emu.org_id, 5)
        for name, kind, params in CASES:
            row = {"case": name, **run_case(emu, kind, params)}
            if name in NAIVE:
                row["naive"] = run_case(emu, kind, params, mode="naive")
            rows.append(row)
    if a.json:
        print(json.dumps(rows, indent=1))
        return 0
    print("| hostile response | outcome | time (s) | peak RSS (MiB) | naive requests client |")
    print("|---|---|---|---|---|")
    for r in rows:
        naive = r.get("naive")
        naive_txt = f"{naive['max_rss_mib']} MiB, {naive['seconds']} s" if naive else ""
        print(f"| {r['case']} | {r['kind']} | {r['seconds']} | {r['max_rss_mib']} | {naive_txt} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
