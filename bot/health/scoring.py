"""Scoring one account against the scorecard (PRODUCT.md §4): each measure 0–100,
missing data drops a measure and re-normalises the rest, reasons in words, and
the at-risk rules. Pure code: inputs in, a Health out."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from bot.health.scorecard import DEFAULT_SCORECARD, SEVERITIES, MeasureConfig, Scorecard


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
