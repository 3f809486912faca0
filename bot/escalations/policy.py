"""The escalation policy (PRODUCT.md §5): how long an owner has to acknowledge,
on which calendar that time runs, and whom each missed deadline pages.

Pure: no database, no Slack. The policy is frozen into `Escalation.policy`
when an escalation opens (`EscalationPolicy.snapshot`), so editing the TOML file
later never changes the rules of an escalation already running; the engine
computes every due time from that snapshot (`next_due`).

TOML file (`CSBOT_ESCALATION_POLICY`), every key optional:

    [sla]                 # time to acknowledge, per severity
    sev1 = "15m"          # wall-clock minutes (m) or hours (h)
    sev2 = "1h"
    sev3 = "1bd"          # business days (bd) or business hours (bh): counted
                          # only inside business hours
    [business_hours]
    days = ["mon", "tue", "wed", "thu", "fri"]
    start = "09:00"
    end = "17:00"
    tz = "America/New_York"   # default: CSBOT_TZ
    holidays = ["2026-12-25"]

    [steps]               # what each missed deadline does, in order:
    order = ["owner", "next_level", "next_level"]
                          # owner = re-page the owner (thread + DM);
                          # next_level = page the next level up the chain
                          # (the owner's manager, then the CS execs)
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bot.clock import time_zone
from bot.errors import SettingsError

SEVERITIES = ("sev1", "sev2", "sev3")
STEP_KINDS = ("owner", "next_level")
DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
SETTING = "CSBOT_ESCALATION_POLICY"

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(m|min|h|bh|bd)\s*$", re.IGNORECASE)
_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


@dataclass(frozen=True)
class Sla:
    """Time to acknowledge: `minutes` of wall-clock time, or of business time."""

    minutes: int
    business: bool = False

    def describe(self) -> str:
        if self.business:
            return f"{_fmt_minutes(self.minutes)} of business hours"
        return _fmt_minutes(self.minutes)


@dataclass(frozen=True)
class BusinessHours:
    """A weekly calendar in one time zone: which days, from when to when."""

    tz: str = "UTC"
    days: tuple[int, ...] = (0, 1, 2, 3, 4)  # Monday = 0
    start: str = "09:00"
    end: str = "17:00"
    holidays: tuple[str, ...] = ()

    @property
    def day_minutes(self) -> int:
        return _minutes_of(self.end) - _minutes_of(self.start)

    def add(self, at: datetime, minutes: int) -> datetime:
        """`at` plus `minutes` counted only inside business hours (UTC in, UTC out)."""
        zone = ZoneInfo(self.tz)
        start_t, end_t = _parse_hhmm(self.start), _parse_hhmm(self.end)
        holidays = {date.fromisoformat(h) for h in self.holidays}
        remaining = timedelta(minutes=minutes)
        local = at.astimezone(zone)
        day = local.date()
        cursor: datetime = local
        for _ in range(3700):  # ten years of days: a calendar with no open day cannot loop forever
            if day.weekday() in self.days and day not in holidays:
                open_at = datetime.combine(day, start_t, tzinfo=zone)
                close_at = datetime.combine(day, end_t, tzinfo=zone)
                begin = max(cursor, open_at)
                if begin < close_at:
                    available = close_at - begin
                    if remaining <= available:
                        return (begin + remaining).astimezone(UTC)
                    remaining -= available
            day += timedelta(days=1)
            cursor = datetime.combine(day, time(0, 0), tzinfo=zone)
        raise ValueError("the business-hours calendar has no open time")


@dataclass(frozen=True)
class EscalationPolicy:
    sla: dict[str, Sla] = field(
        default_factory=lambda: {
            "sev1": Sla(15),
            "sev2": Sla(60),
            "sev3": Sla(8 * 60, business=True),
        }
    )
    hours: BusinessHours = field(default_factory=BusinessHours)
    steps: tuple[str, ...] = ("owner", "next_level", "next_level")

    def snapshot(self, severity: str) -> dict[str, Any]:
        """The policy for one escalation, as plain JSON, frozen into Escalation.policy."""
        sla = self.sla[severity]
        return {
            "severity": severity,
            "sla_minutes": sla.minutes,
            "business": sla.business,
            "hours": {
                "tz": self.hours.tz,
                "days": list(self.hours.days),
                "start": self.hours.start,
                "end": self.hours.end,
                "holidays": list(self.hours.holidays),
            },
            "steps": list(self.steps),
        }


def next_due(snapshot: dict[str, Any], after: datetime) -> datetime:
    """When the SLA that starts at `after` runs out, per a frozen snapshot."""
    minutes = int(snapshot["sla_minutes"])
    if not snapshot.get("business"):
        return after + timedelta(minutes=minutes)
    hours = snapshot["hours"]
    calendar = BusinessHours(
        tz=hours["tz"],
        days=tuple(hours["days"]),
        start=hours["start"],
        end=hours["end"],
        holidays=tuple(hours.get("holidays", ())),
    )
    return calendar.add(after, minutes)


def step_kind(snapshot: dict[str, Any], step: int) -> str | None:
    """What step number `step` does, or None when the policy has no more steps."""
    steps = snapshot.get("steps", [])
    return steps[step] if 0 <= step < len(steps) else None


def sla_text(snapshot: dict[str, Any]) -> str:
    return Sla(int(snapshot["sla_minutes"]), bool(snapshot.get("business"))).describe()


# --- loading and validation -----------------------------------------------------------


def default_policy(tz: str = "UTC") -> EscalationPolicy:
    return EscalationPolicy(hours=BusinessHours(tz=tz))


def load_policy(path: Path | None, tz: str = "UTC") -> EscalationPolicy:
    """The defaults, overridden by the TOML file at `path`.

    Raises SettingsError with one line naming the file and the bad key, so a
    typo stops start-up instead of silently paging nobody."""
    if path is None:
        return default_policy(tz)
    try:
        raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise SettingsError(f"{SETTING} is malformed: cannot read {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"{SETTING} is malformed: {path} is not valid TOML ({exc})") from None
    return parse_policy(raw, tz=tz, source=str(path))


def parse_policy(raw: dict[str, Any], *, tz: str = "UTC", source: str = "policy") -> EscalationPolicy:
    def bad(key: str, why: str) -> SettingsError:
        return SettingsError(f"{SETTING} is malformed: {source}: {key} {why}")

    base = default_policy(tz)
    _only(raw, {"sla", "business_hours", "steps"}, "", bad)

    hours_raw = _table(raw, "business_hours", bad)
    _only(hours_raw, {"days", "start", "end", "tz", "holidays"}, "business_hours.", bad)
    days = base.hours.days
    if "days" in hours_raw:
        value = hours_raw["days"]
        if not isinstance(value, list) or not value or not all(isinstance(d, str) for d in value):
            raise bad("business_hours.days", 'must be a list of day names such as ["mon", "tue"]')
        try:
            days = tuple(sorted({DAY_NAMES.index(d.strip().lower()[:3]) for d in value}))
        except ValueError:
            raise bad(
                "business_hours.days", f"has {value!r}: use mon, tue, wed, thu, fri, sat, sun"
            ) from None
    start, end = base.hours.start, base.hours.end
    for key in ("start", "end"):
        if key in hours_raw:
            value = hours_raw[key]
            if not isinstance(value, str) or not _HHMM.match(value.strip()):
                raise bad(f"business_hours.{key}", f'is {value!r}: use 24-hour HH:MM such as "09:00"')
    start = str(hours_raw.get("start", start)).strip()
    end = str(hours_raw.get("end", end)).strip()
    if _minutes_of(end) <= _minutes_of(start):
        raise bad("business_hours.end", f"({end}) must be after business_hours.start ({start})")
    zone = base.hours.tz
    if "tz" in hours_raw:
        value = hours_raw["tz"]
        if time_zone(str(value)) is None:
            raise bad("business_hours.tz", f"is {value!r}: use an IANA time zone such as Europe/Paris")
        zone = str(value)
    holidays: tuple[str, ...] = ()
    if "holidays" in hours_raw:
        value = hours_raw["holidays"]
        if not isinstance(value, list):
            raise bad("business_hours.holidays", 'must be a list of dates such as ["2026-12-25"]')
        parsed = []
        for item in value:
            try:
                parsed.append(
                    item.isoformat() if isinstance(item, date) else date.fromisoformat(str(item)).isoformat()
                )
            except ValueError:
                raise bad("business_hours.holidays", f"has {item!r}: use YYYY-MM-DD") from None
        holidays = tuple(parsed)
    hours = BusinessHours(tz=zone, days=days, start=start, end=end, holidays=holidays)

    # "1bd" is one business day of *this* calendar (8 h with the default 09:00-17:00).
    sla = dict(base.sla)
    sla["sev3"] = Sla(hours.day_minutes, business=True)
    sla_raw = _table(raw, "sla", bad)
    _only(sla_raw, set(SEVERITIES), "sla.", bad)
    for sev, value in sla_raw.items():
        sla[sev] = _parse_sla(value, f"sla.{sev}", bad, hours.day_minutes)

    steps = base.steps
    steps_raw = _table(raw, "steps", bad)
    _only(steps_raw, {"order"}, "steps.", bad)
    if "order" in steps_raw:
        value = steps_raw["order"]
        if not isinstance(value, list) or not value or not all(isinstance(s, str) for s in value):
            raise bad("steps.order", 'must be a non-empty list such as ["owner", "next_level"]')
        unknown = [s for s in value if s not in STEP_KINDS]
        if unknown:
            raise bad("steps.order", f"has {unknown[0]!r}: each step is owner or next_level")
        if len(value) > 10:
            raise bad("steps.order", "has more than 10 steps")
        steps = tuple(value)

    policy = EscalationPolicy(sla=sla, hours=hours, steps=steps)
    if any(s.business for s in sla.values()):
        try:
            hours.add(datetime(2026, 1, 1, tzinfo=UTC), 1)
        except ValueError:
            raise bad("business_hours", "leaves no business time at all (check days and holidays)") from None
    return policy


def _table(raw: dict[str, Any], key: str, bad: Any) -> dict[str, Any]:
    value = raw.get(key, {})
    if not isinstance(value, dict):
        raise bad(key, "must be a table ([" + key + "])")
    return value


def _only(table: dict[str, Any], allowed: set[str], prefix: str, bad: Any) -> None:
    for key in table:
        if key not in allowed:
            raise bad(f"{prefix}{key}", f"is not a known key (known: {', '.join(sorted(allowed))})")


def _parse_sla(value: Any, key: str, bad: Any, day_minutes: int) -> Sla:
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return Sla(value)  # a bare number is minutes
    match = _DURATION.match(value) if isinstance(value, str) else None
    if match is None:
        raise bad(key, f'is {value!r}: use a duration such as "15m", "1h", "4bh" or "1bd"')
    amount, unit = float(match.group(1)), match.group(2).lower()
    per = {"m": 1, "min": 1, "h": 60, "bh": 60, "bd": day_minutes}[unit]
    minutes = round(amount * per)
    if minutes <= 0:
        raise bad(key, f"is {value!r}: it must be more than zero")
    return Sla(minutes, business=unit in ("bh", "bd"))


def _parse_hhmm(value: str) -> time:
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


def _minutes_of(value: str) -> int:
    t = _parse_hhmm(value)
    return t.hour * 60 + t.minute


def _fmt_minutes(minutes: int) -> str:
    if minutes % (24 * 60) == 0 and minutes >= 24 * 60:
        days = minutes // (24 * 60)
        return f"{days} day" + ("s" if days > 1 else "")
    if minutes % 60 == 0:
        hours = minutes // 60
        return f"{hours} h"
    if minutes > 60:
        return f"{minutes // 60} h {minutes % 60} min"
    return f"{minutes} min"
