#!/usr/bin/env python3
"""Walk a whole Devin session life cycle through the real scripts, against the local emulator.

No token and no network needed: the emulator runs on 127.0.0.1 with a clock 60x faster than
real time, and the scripts talk to it over HTTP exactly as they would talk to api.devin.ai.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "lib"))

from devin_emulator import Emulator, RealClock  # noqa: E402

BOLD, DIM, RESET = ("\x1b[1m", "\x1b[2m", "\x1b[0m") if sys.stdout.isatty() else ("", "", "")
TASK = """Fix the flaky test tests/test_login.py::test_session_expiry in acme/web.
It fails about 1 run in 20 on CI with a timezone-dependent assertion.
Acceptance: the test passes 200 runs in a row locally; open a PR against main."""


def main() -> int:
    with Emulator(clock=RealClock(speed=60.0)) as emu, tempfile.TemporaryDirectory() as tmp:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": tmp, "LANG": "C.UTF-8",
            "XDG_STATE_HOME": f"{tmp}/state", "XDG_CONFIG_HOME": f"{tmp}/config",
            "DEVIN_API_BASE": emu.url, "DEVIN_SERVICE_USER_TOKEN": emu.token, "DEVIN_ORG_ID": emu.org_id,
        }
        emu.script_replies(["Done: I also added a regression test and updated the PR."])
        print(f"{BOLD}Devin plugin demo{RESET}: a local Devin API emulator is serving {emu.url} "
              f"(org {emu.org_id}).\nEvery command below is a real script making real HTTP calls to it.\n")

        def step(title, script, *args, stdin=None, show=True):
            print(f"{BOLD}== {title}{RESET}")
            shown = " ".join(shlex.quote(a) for a in args)
            heredoc = " <<'EOF'\n" + stdin + "\nEOF" if stdin else ""
            print(f"{DIM}$ python3 scripts/{script} {shown}{heredoc}{RESET}")
            proc = subprocess.run([sys.executable, str(ROOT / "scripts" / script), *args], input=stdin,
                                  capture_output=True, text=True, env=env, timeout=120)
            if show:
                sys.stdout.write(proc.stdout)
            if proc.stderr.strip():
                sys.stdout.write("".join(f"{DIM}  (stderr) {line}{RESET}\n" for line in proc.stderr.splitlines()))
            print(f"{DIM}  exit status {proc.returncode}{RESET}\n")
            if proc.returncode != 0:
                raise SystemExit(f"demo step failed: {title}")
            return proc

        created = step("Delegate a task (the title is the dedup key)", "create_session.py", "--json",
                       "--prompt-file", "-", "--title", "Fix flaky test_session_expiry", "--repo", "acme/web",
                       "--max-acu", "10", "--tag", "demo", stdin=TASK, show=False)
        session = json.loads(created.stdout)
        sid = session["session_id"]
        print(f"  created {sid} (is_new_session: {session['is_new_session']}, status: {session['status']})\n")
        again = step("Ask again with the same title: the active session is returned, nothing is created",
                     "create_session.py", "--json", "--prompt-file", "-", "--title", "Fix flaky test_session_expiry",
                     stdin=TASK, show=False)
        dup = json.loads(again.stdout)
        print(f"  answered with {dup['session_id']} (is_new_session: {dup['is_new_session']})\n")
        step("Look at it", "get_session.py", sid)
        step("Wait until Devin needs someone or is done (progress on stderr)", "wait_session.py", sid,
             "--interval", "0.2", "--timeout", "60")
        step("Read its messages (untrusted data, fenced)", "list_messages.py", sid)
        step("Follow up", "send_message.py", sid, "--message-file", "-",
             stdin="Please also add a regression test for the DST boundary.")
        step("Wait for the reply", "wait_session.py", sid, "--interval", "0.2", "--timeout", "60")
        step("Only the latest message", "list_messages.py", sid, "--limit", "1")
        step("List the org's sessions", "list_sessions.py", "--limit", "5")
        step("Tag it", "update_tags.py", sid, "--add", "flaky-tests", "--remove", "demo")
        step("Archive it", "archive_session.py", sid)
        step("Terminate it (irreversible: a slash command asks the user first)", "terminate_session.py", sid)
        step("Terminating again changes nothing", "terminate_session.py", sid)
        _refusal(env)
        audit = Path(tmp, "state", "devin-plugin", "audit.jsonl").read_text().splitlines()
        print(f"{BOLD}== Local audit log{RESET} ({len(audit)} mutating calls; text as length + sha256 only)")
        for line in audit:
            entry = json.loads(line)
            print(f"  {entry['time']} {entry['action']:<18} {entry['method']:<6} {entry['path']} -> "
                  f"{entry['http_status']} {entry['outcome']}")
        wire = [e for e in emu.journal if not e.path.startswith("/_emulator")]
        print(f"\nThe emulator received {len(wire)} requests; "
              f"{sum(1 for e in wire if e.method == 'POST' and e.route and e.route.endswith('/sessions'))} "
              "session create(s). Demo complete.")
    return 0


def _refusal(env):
    print(f"{BOLD}== A forbidden field is refused before anything is sent{RESET}")
    print(f"{DIM}$ python3 scripts/create_session.py --prompt x --field create_as_user_id=someone-else{RESET}")
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "create_session.py"), "--prompt", "x",
                           "--field", "create_as_user_id=someone-else"], capture_output=True, text=True, env=env)
    sys.stdout.write("".join(f"{DIM}  (stderr) {line}{RESET}\n" for line in proc.stderr.splitlines()))
    print(f"{DIM}  exit status {proc.returncode}{RESET}\n")
    if proc.returncode != 2:
        raise SystemExit("demo step failed: the forbidden field was not refused")


if __name__ == "__main__":
    sys.exit(main())
