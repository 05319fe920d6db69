"""``python -m devin_emulator [--port 0] [--seed-sessions N] [--speed S]``

Starts the emulator on loopback with a real-time clock, prints one JSON line
``{"url": ..., "org_id": ..., "token": ...}`` and serves until interrupted (Ctrl-C / SIGTERM).
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading

from .clock import RealClock
from .server import Emulator


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m devin_emulator", description=__doc__.splitlines()[0])
    ap.add_argument("--host", default="127.0.0.1", help="loopback address to bind (default 127.0.0.1)")
    ap.add_argument("--port", type=int, default=0, help="port (default 0: ephemeral)")
    ap.add_argument("--seed-sessions", type=int, default=0, metavar="N",
                    help="pre-create N sessions in the default org")
    ap.add_argument("--speed", type=float, default=1.0, help="clock speed multiplier (default 1.0)")
    ap.add_argument("--seed", type=int, default=None, help="seed for ids and fault randomness")
    args = ap.parse_args(argv)
    if args.speed <= 0:
        ap.error("--speed must be positive")
    emu = Emulator(RealClock(args.speed), seed=args.seed, host=args.host, port=args.port)
    if args.seed_sessions:
        emu.seed_sessions(emu.org_id, args.seed_sessions)
    url = emu.start()
    print(json.dumps({"url": url, "org_id": emu.org_id, "token": emu.token}), flush=True)
    done = threading.Event()

    def _stop(*_):
        done.set()

    signal.signal(signal.SIGTERM, _stop)
    try:
        signal.signal(signal.SIGINT, _stop)
        while not done.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        emu.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
