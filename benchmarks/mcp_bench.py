#!/usr/bin/env python3
"""Benchmark: a warm get_session through the resident MCP server against `curl | jq` and the cold script.

One run, one emulator on loopback, rounds interleaved so machine noise hits every way alike:
  - MCP warm:  one tools/call get_session to an already running scripts/mcp_server.py, over stdio,
               through the official SDK client (JSON-RPC framing, the policy-free read path, the
               guarded Client, output.clean and the untrusted fence included);
  - curl | jq: `sh -c 'curl -s -H "Authorization: Bearer $TOKEN" URL | jq .'` (no checks at all);
  - cold:      `python scripts/get_session.py SESSION --json` as a new process.
Also the server's cold start (spawn, initialize, first call), a few times. Goal: MCP warm <= curl | jq.

Usage: .venv/bin/python benchmarks/mcp_bench.py [--rounds N]   (needs the MCP extra: python3 dev.py setup)
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "lib"))

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchmark import emulated_session, timed  # noqa: E402

PY = sys.executable


async def bench(rounds: int, cold_starts: int, env: dict, sid: str) -> dict:
    from mcp import Client
    from mcp.client.stdio import StdioServerParameters, stdio_client

    params = StdioServerParameters(command=PY, args=[str(ROOT / "scripts" / "mcp_server.py")], env=env,
                                   cwd=str(ROOT))
    samples: dict[str, list[float]] = {"MCP get_session, warm": [], "curl | jq": [],
                                       "get_session.py --json (cold process)": [],
                                       "MCP server cold start + first call": []}
    curl = ["sh", "-c", 'curl -s -H "Authorization: Bearer $DEVIN_SERVICE_USER_TOKEN" "$BENCH_URL" | jq .']
    script = [PY, str(ROOT / "scripts" / "get_session.py"), sid, "--json"]
    have_curl = bool(shutil.which("curl") and shutil.which("jq"))
    with open(os.devnull, "w") as devnull:
        for _ in range(cold_starts):
            start = time.perf_counter()
            async with Client(stdio_client(params, errlog=devnull)) as client:
                res = await client.call_tool("get_session", {"session": sid})
                samples["MCP server cold start + first call"].append(time.perf_counter() - start)
                assert not res.is_error, res.content[0].text
        async with Client(stdio_client(params, errlog=devnull)) as client:
            for _ in range(3):  # warm up both sides
                await client.call_tool("get_session", {"session": sid})
                timed(script, env)
                if have_curl:
                    timed(curl, env)
            for _ in range(rounds):
                start = time.perf_counter()
                res = await client.call_tool("get_session", {"session": sid})
                samples["MCP get_session, warm"].append(time.perf_counter() - start)
                assert not res.is_error and res.structured_content["session_id"] == sid
                if have_curl:
                    samples["curl | jq"].append(timed(curl, env))
                samples["get_session.py --json (cold process)"].append(timed(script, env))
    return {k: v for k, v in samples.items() if v}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rounds", type=int, default=21)
    ap.add_argument("--cold-starts", type=int, default=5)
    args = ap.parse_args()
    import anyio
    with emulated_session() as (env, sid):
        samples = anyio.run(bench, args.rounds, args.cold_starts, env, sid)
    med = {k: statistics.median(v) * 1000 for k, v in samples.items()}
    print(f"get_session against the emulator on loopback, median of {args.rounds} interleaved rounds "
          f"({args.cold_starts} for the cold start; Python {sys.version.split()[0]}, {os.cpu_count()} cores):\n")
    for name, ms in med.items():
        print(f"  {name:<40} {ms:8.1f} ms")
    if "curl | jq" in med:
        warm, curl = med["MCP get_session, warm"], med["curl | jq"]
        print(f"\nMCP warm / curl | jq: {warm / curl:.2f}x (goal <= 1.00): " + ("MET" if warm <= curl else "MISSED"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
