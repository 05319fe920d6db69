"""Clocks for the emulator: a manual one for tests and a real-time one for demos."""

from __future__ import annotations

import threading
import time

DEFAULT_EPOCH = 1_790_000_000.0


class ManualClock:
    """A clock that only moves when told to (``advance``/``set``)."""

    def __init__(self, start: float = DEFAULT_EPOCH) -> None:
        self._now = float(start)
        self._lock = threading.Lock()

    def now(self) -> float:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> float:
        if seconds < 0:
            raise ValueError("cannot move a clock backwards")
        with self._lock:
            self._now += float(seconds)
            return self._now

    def set(self, when: float) -> float:
        with self._lock:
            if when < self._now:
                raise ValueError("cannot move a clock backwards")
            self._now = float(when)
            return self._now

    def __repr__(self) -> str:  # pragma: no cover - cosmetic
        return f"ManualClock(now={self.now()!r})"


class RealClock:
    """Wall-clock start, then real monotonic time multiplied by ``speed``.

    ``advance`` adds an offset (handy through the control API)."""

    def __init__(self, speed: float = 1.0, start: float | None = None) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.speed = float(speed)
        self._start = time.time() if start is None else float(start)
        self._mono0 = time.monotonic()
        self._offset = 0.0
        self._lock = threading.Lock()

    def now(self) -> float:
        with self._lock:
            return self._start + (time.monotonic() - self._mono0) * self.speed + self._offset

    def advance(self, seconds: float) -> float:
        if seconds < 0:
            raise ValueError("cannot move a clock backwards")
        with self._lock:
            self._offset += float(seconds)
        return self.now()

    def __repr__(self) -> str:  # pragma: no cover - cosmetic
        return f"RealClock(speed={self.speed!r})"
