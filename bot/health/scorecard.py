"""The health scorecard of PRODUCT.md §4 as pure code: weighted measures, each
scored 0-100 from thresholds kept as data, bands, the at-risk rules, and every
score's reasons in words. No database and no Slack here: the nightly job,
`/cs risk` and the account card all feed it the same plain inputs.

The defaults live in `DEFAULT_SCORECARD`; a TOML file (CSBOT_SCORECARD)
overrides any part of it and is validated at start-up, e.g.::

    [measures.recency]      # engagement recency: days since the last touchpoint
    weight = 30
    good = 10               # 100 at or below this many days
    bad = 45                # 0 at or above
    [measures.nps]
    weight = 0              # switch a measure off
    [bands]
    green = 75
    yellow = 45
    [at_risk]
    renewal_days = 60
"""

from __future__ import annotations

import functools
import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from bot.errors import SettingsError

SETTING = "CSBOT_SCORECARD"
SEVERITIES = ("sev1", "sev2", "sev3")


@dataclass(frozen=True)
class MeasureConfig:
    """One measure's weight and thresholds. `good` scores 100, `bad` scores 0,
    linear in between (for recency lower is better, for the others higher)."""

    key: str
    label: str
    weight: float
    good: float = 0.0
    bad: float = 0.0
    # measure-specific knobs: nps.window_days, sentiment.last, escalations.sev1/2/3 penalties
    params: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Scorecard:
    measures: tuple[MeasureConfig, ...]
    green: int = 70  # score >= green is green
    yellow: int = 40  # score >= yellow is yellow; below is red
    concern: float = 50  # a measure scoring below this is a reason for an alert
    renewal_days: int = 90  # at risk: renewal within this many days and not green
    drop_points: int = 20  # at risk: a drop of this many points ...
    drop_days: int = 7  # ... within this many days

    def measure(self, key: str) -> MeasureConfig:
        return next(m for m in self.measures if m.key == key)


DEFAULT_SCORECARD = Scorecard(
    measures=(
        MeasureConfig("recency", "engagement recency", 25, good=14, bad=60),
        MeasureConfig("adoption", "product adoption", 25, good=80, bad=20),
        MeasureConfig("nps", "NPS", 20, good=9, bad=6, params={"window_days": 90}),
        MeasureConfig("escalations", "open escalations", 15, params={"sev1": 100, "sev2": 50, "sev3": 25}),
        MeasureConfig("sentiment", "sentiment", 15, good=1, bad=-1, params={"last": 3}),
    )
)

# What a TOML file may set, per table; anything else is named as unknown.
_MEASURE_KEYS: dict[str, tuple[str, ...]] = {
    "recency": ("weight", "good", "bad"),
    "adoption": ("weight", "good", "bad"),
    "nps": ("weight", "good", "bad", "window_days"),
    "escalations": ("weight", "sev1", "sev2", "sev3"),
    "sentiment": ("weight", "last"),
}
_BAND_KEYS = ("green", "yellow", "concern")
_AT_RISK_KEYS = ("renewal_days", "drop_points", "drop_days")


# --- loading and validating -----------------------------------------------------


def parse_scorecard(text: str, source: str = SETTING) -> Scorecard:
    """The default scorecard with the TOML `text` applied; SettingsError (one
    line naming the key) when the file is not valid."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"{source} is not valid TOML: {exc}") from None
    for key in data:
        if key not in ("measures", "bands", "at_risk"):
            raise SettingsError(
                f"{source}: unknown section [{key}] (use [measures.<name>], [bands], [at_risk])"
            )
    measures = {m.key: m for m in DEFAULT_SCORECARD.measures}
    raw_measures = _table(data, "measures", source)
    for name, values in raw_measures.items():
        if name not in _MEASURE_KEYS:
            raise SettingsError(
                f"{source}: unknown measure measures.{name} (known: {', '.join(_MEASURE_KEYS)})"
            )
        if not isinstance(values, dict):
            raise SettingsError(f"{source}: measures.{name} must be a table ([measures.{name}])")
        measures[name] = _apply_measure(measures[name], values, source)
    card = replace(DEFAULT_SCORECARD, measures=tuple(measures[k] for k in _MEASURE_KEYS))
    card = replace(card, **_numbers(_table(data, "bands", source), "bands", _BAND_KEYS, source))
    card = replace(card, **_numbers(_table(data, "at_risk", source), "at_risk", _AT_RISK_KEYS, source))
    _check_card(card, source)
    return card


def _table(data: dict[str, Any], name: str, source: str) -> dict[str, Any]:
    value = data.get(name, {})
    if not isinstance(value, dict):
        raise SettingsError(f"{source}: {name} must be a table ([{name}])")
    return value


def _numbers(values: dict[str, Any], table: str, allowed: tuple[str, ...], source: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in values.items():
        if key not in allowed:
            raise SettingsError(f"{source}: unknown key {table}.{key} (known: {', '.join(allowed)})")
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise SettingsError(f"{source}: {table}.{key} must be a number, not {value!r}")
        if value < 0:
            raise SettingsError(f"{source}: {table}.{key} must not be negative ({value})")
        out[key] = value
    return out


def _apply_measure(base: MeasureConfig, values: dict[str, Any], source: str) -> MeasureConfig:
    numbers = _numbers(values, f"measures.{base.key}", _MEASURE_KEYS[base.key], source)
    if base.key == "sentiment" and "last" in numbers and (numbers["last"] < 1 or numbers["last"] % 1):
        raise SettingsError(f"{source}: measures.sentiment.last must be a whole number of at least 1")
    params = dict(base.params)
    direct: dict[str, Any] = {}
    for key, value in numbers.items():
        if key in ("weight", "good", "bad"):
            direct[key] = value
        else:
            params[key] = value
    return replace(base, params=params, **direct)


def _check_card(card: Scorecard, source: str) -> None:
    """Thresholds in order and at least one weighted measure."""
    for m in card.measures:
        where = f"measures.{m.key}"
        if m.key == "recency" and not m.good < m.bad:
            raise SettingsError(
                f"{source}: {where}.good ({m.good:g} days) must be below {where}.bad ({m.bad:g} days)"
            )
        if m.key in ("adoption", "nps") and not m.good > m.bad:
            raise SettingsError(f"{source}: {where}.good ({m.good:g}) must be above {where}.bad ({m.bad:g})")
        if m.key == "adoption" and m.good > 100:
            raise SettingsError(f"{source}: {where}.good ({m.good:g}) is a percentage: at most 100")
        if m.key == "nps" and m.good > 10:
            raise SettingsError(f"{source}: {where}.good ({m.good:g}) is an NPS score: at most 10")
        if m.key == "escalations":
            p = m.params
            if not p["sev1"] >= p["sev2"] >= p["sev3"]:
                raise SettingsError(
                    f"{source}: {where} penalties must not grow as severity falls "
                    f"(sev1 {p['sev1']:g} >= sev2 {p['sev2']:g} >= sev3 {p['sev3']:g})"
                )
    if not card.green > card.yellow:
        raise SettingsError(
            f"{source}: bands.green ({card.green}) must be above bands.yellow ({card.yellow})"
        )
    if card.green > 100:
        raise SettingsError(f"{source}: bands.green ({card.green}) must be at most 100")
    if not any(m.weight > 0 for m in card.measures):
        raise SettingsError(f"{source}: every measure has weight 0; give at least one a weight")


def load_scorecard(path: Path | None) -> Scorecard:
    """The scorecard for CSBOT_SCORECARD (None: the defaults). Validated once
    per file; `build_app` calls it so that a bad file stops start-up."""
    if path is None:
        return DEFAULT_SCORECARD
    return _load_file(Path(path).resolve())


@functools.lru_cache(maxsize=8)
def _load_file(path: Path) -> Scorecard:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SettingsError(f"{SETTING} cannot be read: {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise SettingsError(f"{SETTING} {path.name} is not UTF-8 text") from None
    return parse_scorecard(text, f"{SETTING} {path.name}")


# --- scoring ----------------------------------------------------------------------


@dataclass(frozen=True)
class HealthInputs:
    """What the scorecard needs to know about one account, as plain values."""

    last_touch_at: datetime | None = None
    sentiments: tuple[int, ...] = ()  # newest first: +1 / 0 / -1
    active_users: int | None = None
    licensed_users: int | None = None
    usage_date: date | None = None
    nps_score: int | None = None
    nps_respondent: str | None = None
    nps_at: datetime | None = None
    open_escalations: Mapping[str, int] = field(default_factory=dict)  # severity -> count


@dataclass(frozen=True)
class Reason:
    """A reason in words, with a stable key: alerts fire on a *new key*, so
    'no touchpoint in 47 days' becoming '48 days' is not news."""

    key: str
    text: str


@dataclass(frozen=True)
class MeasureResult:
    key: str
    label: str
    weight: float
    score: float | None  # None: no data, the measure is left out
    text: str


@dataclass(frozen=True)
class Health:
    score: int | None
    band: str | None  # green / yellow / red; None when nothing could be scored
    measures: tuple[MeasureResult, ...]
    reasons: tuple[Reason, ...]  # weakest measures first, then what was not scored

    @property
    def concerns(self) -> tuple[Reason, ...]:
        return tuple(r for r in self.reasons if r.key.startswith("measure:"))

    def measures_json(self) -> dict[str, Any]:
        return {
            m.key: {"score": None if m.score is None else round(m.score, 1), "weight": m.weight}
            for m in self.measures
        }


def linear(value: float, good: float, bad: float) -> float:
    """100 at `good` or better, 0 at `bad` or worse, a straight line between.
    Works for either direction (good < bad means lower is better)."""
    if good < bad:
        if value <= good:
            return 100.0
        if value >= bad:
            return 0.0
        return 100.0 * (bad - value) / (bad - good)
    if value >= good:
        return 100.0
    if value <= bad:
        return 0.0
    return 100.0 * (value - bad) / (good - bad)


def band_of(score: int | None, card: Scorecard = DEFAULT_SCORECARD) -> str | None:
    if score is None:
        return None
    if score >= card.green:
        return "green"
    if score >= card.yellow:
        return "yellow"
    return "red"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _recency(m: MeasureConfig, inp: HealthInputs, now: datetime) -> MeasureResult:
    if inp.last_touch_at is None:
        return MeasureResult(m.key, m.label, m.weight, None, "no touchpoint recorded yet")
    days = max(0, (now.date() - inp.last_touch_at.date()).days)
    score = linear(days, m.good, m.bad)
    if days > m.good:
        text = f"no touchpoint in {days} days"
    elif days == 0:
        text = "touchpoint today"
    else:
        text = f"last touchpoint {_plural(days, 'day')} ago"
    return MeasureResult(m.key, m.label, m.weight, score, text)


def _adoption(m: MeasureConfig, inp: HealthInputs, now: datetime) -> MeasureResult:
    if inp.active_users is None or not inp.licensed_users:
        return MeasureResult(m.key, m.label, m.weight, None, "no usage data")
    pct = 100.0 * inp.active_users / inp.licensed_users
    text = f"adoption {pct:.0f} % ({inp.active_users} of {inp.licensed_users} users)"
    return MeasureResult(m.key, m.label, m.weight, linear(pct, m.good, m.bad), text)


def _nps(m: MeasureConfig, inp: HealthInputs, now: datetime) -> MeasureResult:
    window = int(m.params.get("window_days", 90))
    if inp.nps_score is None or inp.nps_at is None or inp.nps_at < now - timedelta(days=window):
        return MeasureResult(m.key, m.label, m.weight, None, f"no NPS response in {window} days")
    who = f" from {inp.nps_respondent}" if inp.nps_respondent else ""
    text = f"NPS {inp.nps_score}{who} on {inp.nps_at:%m-%d}"
    return MeasureResult(m.key, m.label, m.weight, linear(inp.nps_score, m.good, m.bad), text)


def _escalations(m: MeasureConfig, inp: HealthInputs, now: datetime) -> MeasureResult:
    counts = {s: n for s, n in inp.open_escalations.items() if n}
    if not counts:
        return MeasureResult(m.key, m.label, m.weight, 100.0, "no open escalations")
    penalty = sum(m.params.get(sev, 0) * n for sev, n in counts.items())
    parts = [f"{counts[s]} {s}" for s in SEVERITIES if s in counts]
    parts += [f"{n} {s}" for s, n in sorted(counts.items()) if s not in SEVERITIES]
    total = sum(counts.values())
    text = f"{_plural(total, 'open escalation')} ({', '.join(parts)})"
    return MeasureResult(m.key, m.label, m.weight, max(0.0, 100.0 - penalty), text)


def _sentiment(m: MeasureConfig, inp: HealthInputs, now: datetime) -> MeasureResult:
    last = int(m.params.get("last", 3))
    recent = inp.sentiments[:last]
    if not recent:
        return MeasureResult(m.key, m.label, m.weight, None, "no touchpoints to read sentiment from")
    mean = sum(max(-1, min(1, s)) for s in recent) / len(recent)
    pos, neg = sum(1 for s in recent if s > 0), sum(1 for s in recent if s < 0)
    neutral = len(recent) - pos - neg
    parts = [f"{n} {w}" for n, w in ((pos, "positive"), (neutral, "neutral"), (neg, "negative")) if n]
    if len(recent) == 1:
        text = f"last touchpoint: {parts[0].split(' ', 1)[1]}"
    else:
        text = f"last {len(recent)} touchpoints: {', '.join(parts)}"
    return MeasureResult(m.key, m.label, m.weight, linear(mean, m.good, m.bad), text)


_SCORERS = {
    "recency": _recency,
    "adoption": _adoption,
    "nps": _nps,
    "escalations": _escalations,
    "sentiment": _sentiment,
}


def score_account(inputs: HealthInputs, now: datetime, card: Scorecard = DEFAULT_SCORECARD) -> Health:
    """The weighted score of the measures that have data (weights
    re-normalised over them), the band, and the reasons in words."""
    results = tuple(_SCORERS[m.key](m, inputs, now) for m in card.measures if m.weight > 0)
    scored = [r for r in results if r.score is not None]
    total_weight = sum(r.weight for r in scored)
    # "No open escalations" alone says nothing about a customer we have no data on.
    only_quiet = all(r.key == "escalations" and r.score == 100 for r in scored)
    if not scored or total_weight <= 0 or only_quiet:
        reasons = tuple(Reason(f"missing:{r.key}", f"{r.text}: {r.label} not scored") for r in results)
        return Health(None, None, results, reasons + (Reason("missing:all", "no data to score yet"),))
    raw = sum(r.weight * r.score for r in scored) / total_weight  # type: ignore[operator]
    score = math.floor(raw + 0.5)
    # weakest first: the points each measure costs the score
    by_loss = sorted(scored, key=lambda r: -(r.weight * (100 - r.score)))  # type: ignore[operator]
    reasons = [
        Reason(f"measure:{r.key}" if r.score < card.concern else f"ok:{r.key}", r.text)  # type: ignore[operator]
        for r in by_loss
    ]
    missing = [r for r in results if r.score is None]
    if missing:
        reasons += [Reason(f"missing:{r.key}", f"{r.text}: {r.label} not scored") for r in missing]
        reasons.append(
            Reason(
                "missing:renormalised",
                f"scored on {len(scored)} of {len(results)} measures (weights re-normalised)",
            )
        )
    return Health(score, band_of(score, card), results, tuple(reasons))


def risk_reasons(
    health: Health,
    *,
    today: date,
    renewal_date: date | None,
    recent_best: int | None,
    card: Scorecard = DEFAULT_SCORECARD,
) -> tuple[Reason, ...]:
    """Why an account is at risk (§4), empty when it is not: red; renewal
    within `renewal_days` and not green; a drop of `drop_points` or more from
    the best score of the last `drop_days` days (`recent_best`). The weak
    measures follow the rule that fired, so the alert says *why* it is red."""
    if health.score is None:
        return ()
    rules: list[Reason] = []
    if health.band == "red":
        rules.append(Reason("red", f"score {health.score} is red (below {card.yellow})"))
    if renewal_date is not None and health.band != "green":
        days = (renewal_date - today).days
        if 0 <= days <= card.renewal_days:
            rules.append(
                Reason("renewal", f"renewal in {_plural(days, 'day')} ({renewal_date:%Y-%m-%d}), not green")
            )
    if recent_best is not None and recent_best - health.score >= card.drop_points:
        rules.append(
            Reason(
                "drop",
                f"dropped {recent_best - health.score} points in {card.drop_days} days "
                f"({recent_best} → {health.score})",
            )
        )
    if not rules:
        return ()
    return tuple(rules) + health.concerns
