#!/usr/bin/env python3
"""Chaos run: the demo's session life cycle, repeated with random faults on every emulator route.

Each cycle runs the real scripts (create, duplicate create, get, message, wait, list, tags,
archive, terminate, plus a refused forbidden-field attempt) against a local emulator whose every
route fails at random (status codes, lost answers, malformed/NaN/duplicate-key JSON, HTML pages,
wrong content types, redirects, oversized and compressed-bomb bodies, short delays and drips).
After every step it checks the invariants:

  I1 never two active sessions with one title;
  I2 no forbidden field on the wire (the emulator's journal, every JSON key, any spelling);
  I3 no token byte in any output or file (stdout, stderr, audit log, every file in the state dir);
  I4 no exit code outside the contract {0, 2, 3, 4, 5, 6, 7, 8};
  I5 one audit line per mutating call: audit.record() runs once per Client.send() of a
     non-GET request (retries of that call are one line; `attempts` counts them on success),
     so for each (method, route) the step's new audit lines A and the mutating requests W the
     emulator received satisfy A <= W <= 3*A (3 = the helper's max attempts), and W = 0 when A = 0;
  I6 a refused forbidden field exits 2 and the emulator receives nothing during that step.

Seeded (the emulator's fault dice and the step choices) and bounded in time. Prints a summary.

    python3 dev.py setup && .venv/bin/python tools/chaos.py --seed 1 --seconds 300
    .venv/bin/python tools/chaos.py --mode subprocess --cycles 20     # as an agent runs them

`--mode inprocess` (default) runs each script in this process (same code path from argv to exit
status, about 20x faster); `--mode subprocess` runs each as its own process.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
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

CONTRACT_EXIT_CODES = frozenset({0, 2, 3, 4, 5, 6, 7, 8, 9})  # 9: a wait that timed out while Devin works
MAX_ATTEMPTS = 3
FAULT_STATUSES = (400, 401, 403, 404, 409, 418, 422, 429, 500, 502, 503, 504, 599)


# -- running a script --------------------------------------------------------------------------

class Result:
    def __init__(self, rc: int, out: str, err: str):
        self.rc, self.out, self.err = rc, out, err

    @property
    def json(self):
        return json.loads(self.out)

    @property
    def all(self) -> str:
        return self.out + self.err


_SCRIPT_MODULES: dict = {}


def load_script(name: str):
    """scripts/NAME as a module (its build() and main()), imported once."""
    if name not in _SCRIPT_MODULES:
        import importlib.util
        if "_prelude" not in sys.modules:
            sys.path.insert(0, str(SCRIPTS))
            import _prelude  # noqa: F401  (takes the scripts folder off sys.path again)
        spec = importlib.util.spec_from_file_location("devin_script_" + name.removesuffix(".py"), SCRIPTS / name)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        _SCRIPT_MODULES[name] = module
    return _SCRIPT_MODULES[name]


def run_inprocess(name: str, *args, env: dict, input: str | bytes | None = None, cwd=None, transport=None) -> Result:
    """Run scripts/NAME in this process: the same entry (cli.run) as a process, with argv, the
    environment, the streams and the working directory handed in rather than swapped in globally."""
    from devin_plugin import cli
    module = load_script(name)
    data = input.encode("utf-8") if isinstance(input, str) else (input or b"")
    out, err = io.StringIO(), io.StringIO()
    rc = cli.run(module.main, module.build, [str(a) for a in args], env=dict(env), stdin=io.BytesIO(data),
                 stdout=out, stderr=err, cwd=str(cwd) if cwd is not None else None, transport=transport)
    return Result(rc, out.getvalue(), err.getvalue())


def run_subprocess(name: str, *args, env: dict, input: str | bytes | None = None, cwd=None) -> Result:
    data = input.encode("utf-8") if isinstance(input, str) else input
    proc = subprocess.run([sys.executable, str(SCRIPTS / name), *map(str, args)], input=data,
                          capture_output=True, env=env, cwd=cwd, timeout=180)
    return Result(proc.returncode, proc.stdout.decode("utf-8", "replace"), proc.stderr.decode("utf-8", "replace"))


def script_env(emu, home: Path, settle: str = "0.05") -> dict:
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8", "HOME": str(home),
        "XDG_STATE_HOME": str(home / "state"), "XDG_CONFIG_HOME": str(home / "config"),
        "XDG_DATA_HOME": str(home / "data"), "PYTHONDONTWRITEBYTECODE": "1",
        "DEVIN_API_BASE": emu.url, "DEVIN_SERVICE_USER_TOKEN": emu.token, "DEVIN_ORG_ID": emu.org_id,
        "DEVIN_DEDUP_SETTLE_SECONDS": settle,
    }


# -- forbidden spellings -----------------------------------------------------------------------

def forbidden_spelling(rng: random.Random, name: str) -> str:
    """One random look-alike of a forbidden field name (case, separators, full width, zero width)."""
    out = []
    for ch in name:
        r = rng.random()
        if ch == "_":
            out.append(rng.choice(["_", "-", " ", ".", "", "\u200b", "\uff3f", "__"]))
        elif r < 0.2:
            out.append(ch.upper())
        elif r < 0.3 and ch.isalpha():
            out.append(chr(ord(ch) - ord("a") + 0xFF41) if ch.islower() else ch)  # full-width
        elif r < 0.35:
            out.append(ch + "\u200d")
        else:
            out.append(ch)
    pad = rng.choice(["", " ", "\t", "\u00a0"])
    return pad + "".join(out) + pad


def wire_keys(obj):
    """Every key of every JSON object inside obj."""
    stack = [obj]
    while stack:
        cur = stack.pop()
        if isinstance(cur, dict):
            for k, v in cur.items():
                yield k
                stack.append(v)
        elif isinstance(cur, list):
            stack.extend(cur)


# -- the run -----------------------------------------------------------------------------------

class Chaos:
    def __init__(self, seed: int, probability: float, mode: str, workdir: Path, speed: float = 120.0):
        from devin_emulator import Emulator, RealClock
        self.rng = random.Random(seed)
        self.probability = probability
        self.runner = run_inprocess if mode == "inprocess" else run_subprocess
        self.emu = Emulator(clock=RealClock(speed=speed), seed=seed)
        self.emu.start()
        self.home = workdir
        for sub in ("state", "config", "data", "work"):
            (workdir / sub).mkdir(parents=True, exist_ok=True)
        self.env = script_env(self.emu, workdir)
        self.secret_parts = [self.emu.token, self.emu.token[len("cog_"):]]
        self.steps = 0
        self.violations: list[str] = []
        self.exit_codes: Counter = Counter()
        self.forbidden_tries = 0
        self.audit_seen = 0
        self._install_faults()

    def close(self) -> None:
        self.emu.stop()

    def _install_faults(self) -> None:
        """One fault of each kind on every route, each with its share of the probability."""
        kinds = [
            ("status", {"status": s}) for s in FAULT_STATUSES
        ] + [
            ("status", {"status": 429, "headers": {"Retry-After": "0.2"}}),
            ("drop_after_processing", {}), ("drop_before_processing", {}),
            ("malformed_json", {}), ("nan_json", {}), ("duplicate_keys", {}),
            ("html", {"status": 502}), ("html", {"status": 200}), ("wrong_content_type", {}),
            ("redirect", {"status": 307, "location": "http://127.0.0.1:9/elsewhere"}),
            ("oversized", {"bytes": 9 * 2**20}), ("gzip_bomb", {"inflated_bytes": 64 * 2**20}),
            ("delay", {"seconds": 0.2}), ("drip", {"interval": 0.02, "bytes": 20}),
        ]
        share = self.probability / len(kinds)
        for i, (kind, params) in enumerate(kinds):
            # a fault later in the list is reached only when the earlier ones did not fire
            p = min(1.0, share / max(1e-9, 1 - share * i))
            self.emu.set_fault("*", "*", kind, times=None, probability=p, **params)

    def faults_injected(self) -> int:
        return sum(f.applied for f in self.emu.faults)

    # -- invariants --------------------------------------------------------------------------
    def _audit(self) -> list[dict]:
        path = self.home / "state" / "devin-plugin" / "audit.jsonl"
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text().splitlines()]

    def step(self, label: str, script: str, *args, input=None, forbidden: bool = False) -> Result:
        from devin_plugin.fieldnames import is_forbidden
        from devin_plugin.sessions import is_active
        before = len(self.emu.journal)
        audit_before = len(self._audit())
        res = self.runner(script, *args, env=self.env, input=input, cwd=self.home / "work")
        self.steps += 1
        self.exit_codes[res.rc] += 1
        where = f"step {self.steps} ({label}: {script} {' '.join(map(str, args))[:80]})"
        wire = [e for e in self.emu.journal[before:] if not e.path.startswith("/_emulator")]
        # I4
        if res.rc not in CONTRACT_EXIT_CODES:
            self.violations.append(f"I4 {where}: exit {res.rc}: {res.err[-300:]}")
        if "internal error" in res.err:
            self.violations.append(f"I4 {where}: internal error: {res.err[-300:]}")
        # I3
        files = [p for p in (self.home / "state").rglob("*") if p.is_file()]
        blobs = [("stdout", res.out), ("stderr", res.err)] + [(str(p), p.read_bytes().decode("latin-1"))
                                                              for p in files]
        for what, text in blobs:
            if any(part in text for part in self.secret_parts):
                self.violations.append(f"I3 {where}: the token appears in {what}")
        # I2
        for e in wire:
            if e.json is not None and any(isinstance(k, str) and is_forbidden(k) for k in wire_keys(e.json)):
                self.violations.append(f"I2 {where}: forbidden field on the wire: {e.method} {e.path}")
        # I6
        if forbidden:
            self.forbidden_tries += 1
            if res.rc != 2 or wire:
                self.violations.append(f"I6 {where}: forbidden field: exit {res.rc}, {len(wire)} requests")
        # I1
        active = Counter(s.get("title") for s in self.emu.sessions_in(self.emu.org_id) if is_active(s))
        for title, n in active.items():
            if n > 1:
                self.violations.append(f"I1 {where}: {n} active sessions titled {title!r}")
        # I5
        new_lines = self._audit()[audit_before:]
        lines = Counter((a["method"], a["path"]) for a in new_lines)
        sent = Counter((e.method, e.route.split("/", 2)[2] if e.route else e.path)
                       for e in wire if e.method != "GET")
        sent = Counter({(m, "/" + r if not r.startswith("/") else r): n for (m, r), n in sent.items()})
        for key in set(lines) | set(sent):
            a, w = lines.get(key, 0), sent.get(key, 0)
            if not (a <= w <= MAX_ATTEMPTS * a):
                self.violations.append(f"I5 {where}: {key}: {a} audit line(s) for {w} mutating request(s)")
        return res

    # -- one life cycle ----------------------------------------------------------------------
    def cycle(self, n: int) -> None:
        from devin_plugin.fieldnames import FORBIDDEN_FIELDS
        rng = self.rng
        title = f"chaos task {n} {rng.randrange(10**6)}"
        prompt = f"Chaos cycle {n}: fix the flaky test number {rng.randrange(1000)}"
        extra = []
        if rng.random() < 0.5:
            extra += ["--tag", f"chaos-{n % 3}"]
        if rng.random() < 0.3:
            extra += ["--max-acu", str(rng.randint(1, 20))]
        res = self.step("create", "create_session.py", "--json", "--prompt-file", "-", "--title", title, *extra,
                        input=prompt)
        sid = res.json.get("session_id") if res.rc == 0 else None
        again = self.step("duplicate create", "create_session.py", "--json", "--prompt-file", "-", "--title",
                          title, input=prompt)
        if again.rc == 0:
            if sid and again.json.get("is_new_session"):
                # allowed only if the first one is no longer active (it may have been ended meanwhile)
                first = self.emu.get_session_direct(sid)
                from devin_plugin.sessions import is_active
                if is_active(first):
                    self.violations.append(f"I1 step {self.steps}: duplicate create made a second session")
            sid = sid or again.json.get("session_id")
        if rng.random() < 0.5:  # a forbidden field through a random channel
            name = forbidden_spelling(rng, rng.choice(FORBIDDEN_FIELDS))
            channel = rng.choice(["field", "payload", "message"])
            if channel == "field":
                self.step("forbidden --field", "create_session.py", "--prompt", "x", "--field", f"{name}=u-1",
                          forbidden=True)
            elif channel == "payload":
                path = self.home / "work" / "payload.json"
                path.write_text(json.dumps({"prompt": "x", name: [{"key": "K", "value": "v"}]}))
                self.step("forbidden --payload-file", "create_session.py", "--payload-file", str(path),
                          forbidden=True)
            elif sid:
                self.step("forbidden message --field", "send_message.py", sid, "--message", "hi",
                          "--field", f"{name}=u-1", forbidden=True)
        if not sid:
            return
        self.step("get", "get_session.py", sid, "--json")
        self.step("message", "send_message.py", sid, "--json", "--message-file", "-",
                  input=f"Follow-up {n}: also add a regression test.")
        self.step("wait", "wait_session.py", sid, "--json", "--timeout", "3", "--interval", "0.05")
        self.step("list", "list_sessions.py", "--json", "--limit", str(rng.randint(1, 30)))
        self.step("messages", "list_messages.py", sid, "--json", "--limit", "3")
        self.step("tags", "update_tags.py", sid, "--json", "--add", f"t{n}", "--remove", f"chaos-{n % 3}")
        if rng.random() < 0.7:
            self.step("archive", "archive_session.py", sid, "--json")
        self.step("terminate", "terminate_session.py", sid, "--json")

    def run(self, *, cycles: int | None, seconds: float) -> dict:
        start = time.monotonic()
        n = 0
        while (cycles is None or n < cycles) and time.monotonic() - start < seconds:
            self.cycle(n)
            n += 1
        elapsed = time.monotonic() - start
        return {"cycles": n, "steps": self.steps, "faults_injected": self.faults_injected(),
                "requests": len([e for e in self.emu.journal if not e.path.startswith("/_emulator")]),
                "forbidden_attempts": self.forbidden_tries, "exit_codes": dict(sorted(self.exit_codes.items())),
                "sessions_created": len(self.emu.sessions_in(self.emu.org_id)),
                "violations": self.violations, "seconds": round(elapsed, 1),
                "emulator_internal_errors": len(self.emu.internal_errors)}


def chaos(seed: int = 1, *, cycles: int | None = None, seconds: float = 60.0, probability: float = 0.25,
          mode: str = "inprocess") -> dict:
    with tempfile.TemporaryDirectory(prefix="devin-chaos-") as tmp:
        c = Chaos(seed, probability, mode, Path(tmp))
        try:
            return c.run(cycles=cycles, seconds=seconds)
        finally:
            c.close()


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--cycles", type=int, help="stop after this many life cycles")
    p.add_argument("--seconds", type=float, default=300.0, help="time bound (default 300)")
    p.add_argument("--probability", type=float, default=0.25, help="chance that a request meets a fault")
    p.add_argument("--mode", choices=("inprocess", "subprocess"), default="inprocess")
    p.add_argument("--json", action="store_true")
    a = p.parse_args(argv)
    summary = chaos(a.seed, cycles=a.cycles, seconds=a.seconds, probability=a.probability, mode=a.mode)
    if a.json:
        print(json.dumps(summary, indent=1))
    else:
        print(f"chaos: seed {a.seed}, mode {a.mode}, fault probability {a.probability}: {summary['cycles']} cycles, "
              f"{summary['steps']} steps, {summary['requests']} requests, {summary['faults_injected']} faults "
              f"injected, {summary['forbidden_attempts']} forbidden-field attempts, "
              f"{summary['sessions_created']} sessions created, exit codes {summary['exit_codes']}, "
              f"{summary['seconds']} s")
        print(f"chaos: {len(summary['violations'])} invariant violations")
        for v in summary["violations"][:50]:
            print("  " + v)
    return 1 if summary["violations"] or summary["emulator_internal_errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
