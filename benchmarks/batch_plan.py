#!/usr/bin/env python3
"""Planning a 1,000-task batch: how long, and how many requests (no write is sent).

    .venv/bin/python benchmarks/batch_plan.py [--tasks 1000] [--org-sessions 10000]

The emulator holds --org-sessions other sessions in the window, and a third of the batch was already
started by an earlier run (those sessions carry the batch tag). `delegate_batch.py FILE --json` runs in
process against the emulator over loopback.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "lib"), str(ROOT / "tools")]

from chaos import run_inprocess, script_env  # noqa: E402
from devin_emulator import Emulator  # noqa: E402
from devin_plugin import dedup  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tasks", type=int, default=1000)
    p.add_argument("--org-sessions", type=int, default=10000)
    a = p.parse_args(argv)
    tasks = [{"title": f"Migrate service {i} to the new logger", "prompt": f"Migrate service {i} in acme/mono"}
             for i in range(a.tasks)]
    with Emulator() as emu, tempfile.TemporaryDirectory() as home:
        emu.seed_sessions(emu.org_id, a.org_sessions, title_prefix="bot run", spacing_s=30)
        for t in tasks[: a.tasks // 3]:
            tags = dedup.with_tags({"title": t["title"], "prompt": t["prompt"]})["tags"] + ["batch-loggers"]
            emu.create_session_direct(emu.org_id, title=t["title"], prompt=t["prompt"], tags=tags,
                                      status="running", status_detail="finished")
        work = Path(home) / "work"
        work.mkdir()
        (work / "batch.json").write_text(json.dumps({"batch": "loggers", "defaults": {"max_acu_limit": 5},
                                                     "tasks": tasks}))
        env = script_env(emu, Path(home), settle="0")
        emu.clear_journal()
        t0 = time.perf_counter()
        r = run_inprocess("delegate_batch.py", "batch.json", "--json", env=env, cwd=work)
        wall = time.perf_counter() - t0
        doc = json.loads(r.out)
        sent = [e for e in emu.journal if not e.path.startswith("/_emulator")]
        writes = [e for e in sent if e.method != "GET"]
    print(f"planning {a.tasks:,} tasks ({a.org_sessions:,} other sessions in the org): {len(sent)} requests, "
          f"{len(writes)} writes, {wall:.2f} s; states {doc['counts']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
