#!/usr/bin/env python3
"""Dedup at org scale: does a create find an active same-title session far back, and at what cost?

    .venv/bin/python benchmarks/dedup_scale.py [--sizes 1000,10000,100000]

For each size N the emulator holds N active sessions created in the dedup window (the last 7 days,
evenly spread, newest last), all but one from the same service user through the API; the oldest one,
an hour inside the window's far end, has the title the create asks for. It is, in turn:

- `plugin`: made by this plugin (it carries the title and prompt tags);
- `web app`: started by a person in the web app (origin `webapp`, no tags);
- `untagged API`: made through the API without the tags (another client, or a version of this
  plugin before the tags).

`create_session.py` then runs in process against the emulator over loopback with the original's
title and prompt. Printed per row: the requests the create sent before answering (from the
emulator's journal), its wall time, and whether it returned the existing session (found) or made a
second one (missed).
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

TITLE = "Fix the flaky checkout test"
PROMPT = "the original task"
WINDOW_S = 7 * 86400
KINDS = ("plugin", "web app", "untagged API")


def one(n: int, kind: str) -> dict:
    emu = Emulator()
    emu.start()
    try:
        now = time.time()
        start = now - WINDOW_S + 3600  # an hour inside the window's far end
        extra: dict = {"origin": "webapp"} if kind == "web app" else {}
        if kind == "plugin":
            extra["tags"] = dedup.with_tags({"title": TITLE, "prompt": PROMPT})["tags"]
        emu.create_session_direct(emu.org_id, prompt=PROMPT, title=TITLE, created_at=int(start),
                                  updated_at=int(start), status="running", status_detail="working", **extra)
        bot = emu.tokens[emu.token].service_user_id
        spacing = (now - 60 - start) / max(1, n - 1)
        emu.seed_sessions(emu.org_id, n - 1, title_prefix="bot run", created_at_start=start + spacing,
                          spacing_s=spacing, service_user_id=bot)
        emu.clear_journal()
        with tempfile.TemporaryDirectory() as home:
            env = script_env(emu, Path(home), settle="0")
            (Path(home) / "work").mkdir()
            t0 = time.perf_counter()
            r = run_inprocess("create_session.py", "--title", TITLE, "--prompt", PROMPT, "--json",
                              env=env, cwd=Path(home) / "work")
            wall = time.perf_counter() - t0
        doc = json.loads(r.out) if r.out.strip() else {}
        requests = [e for e in emu.journal if not e.path.startswith("/_emulator")]
        return {"sessions": n, "kind": kind, "requests": len(requests), "wall_s": round(wall, 2), "rc": r.rc,
                "found": doc.get("is_new_session") is False}
    finally:
        emu.stop()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", default="1000,10000,100000")
    p.add_argument("--kinds", default=",".join(KINDS), help="which originals: " + ", ".join(KINDS))
    a = p.parse_args(argv)
    rows = [one(int(n), kind) for kind in a.kinds.split(",") for n in a.sizes.split(",")]
    print("| the original was made by | sessions in the window | requests | wall time | duplicate found |")
    print("|---|---:|---:|---:|---|")
    for r in rows:
        found = "yes" if r["found"] else "no (a second session)"
        print(f"| {r['kind']} | {r['sessions']:,} | {r['requests']} | {r['wall_s']} s | {found} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
