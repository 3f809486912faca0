"""The playground's clock (PRODUCT.md §7.1): it runs with real time, so messages
and the Outbox's pacing move on by themselves, and it jumps forward when the page
asks (an hour, a day, the next Monday 09:00). The assembly (bot/runner.py) steps
it through the jump so the scheduler runs, in order, everything that falls due."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo


class PlaygroundClock:
    """`now()` = the start + real time elapsed + every jump so far (tz-aware UTC)."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("PlaygroundClock needs a timezone-aware start")
        self._start = start.astimezone(UTC)
        self._t0 = time.monotonic()
        self._jumped = timedelta()
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._start + timedelta(seconds=time.monotonic() - self._t0) + self._jumped

    def jump(self, delta: timedelta) -> datetime:
        if delta < timedelta():
            raise ValueError("the playground's clock only moves forward")
        with self._lock:
            self._jumped += delta
        return self.now()


def target_of(step: str, now: datetime, tz: str) -> datetime:
    """Where a clock step lands: +1 hour, +1 day, or the next Monday 09:00 in `tz`."""
    if step == "hour":
        return now + timedelta(hours=1)
    if step == "day":
        return now + timedelta(days=1)
    if step == "monday":
        local = now.astimezone(ZoneInfo(tz))
        days = (7 - local.weekday()) % 7 or 7
        monday = (local + timedelta(days=days)).replace(hour=9, minute=0, second=0, microsecond=0)
        if local.weekday() == 0 and local.hour < 9:
            monday = local.replace(hour=9, minute=0, second=0, microsecond=0)
        return monday.astimezone(UTC) + timedelta(seconds=1)
    raise ValueError(f"unknown clock step {step!r}")
