"""Time as a dependency, so tests move it by hand instead of sleeping."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def local_date(when: datetime, tz: ZoneInfo | str) -> date:
    """The calendar day it is at `when` in `tz`: what "today" means to the team."""
    return when.astimezone(ZoneInfo(tz) if isinstance(tz, str) else tz).date()


def time_zone(name: str) -> ZoneInfo | None:
    """The IANA time zone called `name` (e.g. Europe/Paris), or None when there is none:
    one check for settings, policy files, typed commands and Slack profiles alike."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


class Clock(Protocol):
    def now(self) -> datetime:
        """Return the current time, timezone-aware UTC."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class ManualClock:
    """A clock that only moves when told to (tests, benches, `csbot demo`)."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("ManualClock needs a timezone-aware start")
        self._now = start.astimezone(UTC)

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta | None = None, **kwargs: float) -> datetime:
        self._now += delta if delta is not None else timedelta(**kwargs)
        return self._now

    def set(self, when: datetime) -> None:
        self._now = when.astimezone(UTC)
