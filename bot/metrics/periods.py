"""Calendar periods for the §6.1 figures: ISO weeks (Monday first), months and
quarters of local days in a time zone, and the UTC instants that bound them,
so a timestamp is placed by the zone the reader asked for."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.clock import local_date

KINDS = ("week", "month", "quarter")


@dataclass(frozen=True)
class Period:
    kind: str  # "week" | "month" | "quarter"
    start: date  # first local day (inclusive)
    end: date  # last local day (inclusive); for "to date" periods: the as-of day
    tz: str

    def label(self) -> str:
        """ "2026-W48 (Nov 23 – Nov 29)", "November 2026", "2026 Q4"."""
        if self.kind == "week":
            year, week, _ = self.start.isocalendar()
            return f"{year}-W{week:02d} ({self.start:%b} {self.start.day} – {self.end:%b} {self.end.day})"
        if self.kind == "month":
            return f"{self.start:%B %Y}"
        return f"{self.start.year} Q{(self.start.month - 1) // 3 + 1}"

    def full_end(self) -> date:
        """The period's last day, even when this one stops at an as-of day."""
        return period_containing(self.kind, self.start, self.tz).end

    def to_date(self, as_of: date) -> Period:
        """This period up to `as_of` (the period to date), or whole if it is over."""
        return replace(self, end=min(self.full_end(), as_of))

    def utc_bounds(self) -> tuple[datetime, datetime]:
        """[start, stop) in UTC: local midnight of `start` to local midnight after `end`."""
        return day_start_utc(self.start, self.tz), day_start_utc(self.end + timedelta(days=1), self.tz)


def day_start_utc(day: date, tz: str) -> datetime:
    """The UTC instant at which local `day` begins in `tz` (DST-correct)."""
    return datetime.combine(day, time(0), tzinfo=ZoneInfo(tz)).astimezone(UTC)


def _month_end(year: int, month: int) -> date:
    nxt = date(year + (month == 12), month % 12 + 1, 1)
    return nxt - timedelta(days=1)


def period_containing(kind: str, day: date, tz: str) -> Period:
    """The whole week, month or quarter that `day` falls in."""
    if kind == "week":
        start = day - timedelta(days=day.weekday())
        return Period(kind, start, start + timedelta(days=6), tz)
    if kind == "month":
        return Period(kind, day.replace(day=1), _month_end(day.year, day.month), tz)
    if kind == "quarter":
        first = (day.month - 1) // 3 * 3 + 1
        return Period(kind, date(day.year, first, 1), _month_end(day.year, first + 2), tz)
    raise ValueError(f"unknown period {kind!r} (one of {', '.join(KINDS)})")


def previous_period(p: Period) -> Period:
    """The whole period before `p`."""
    return period_containing(p.kind, p.start - timedelta(days=1), p.tz)


def last_complete_week(now_utc: datetime, tz: str) -> Period:
    """The last Monday–Sunday week that is over in `tz` (the digest's week)."""
    today = local_date(now_utc, tz)
    return previous_period(period_containing("week", today, tz))
