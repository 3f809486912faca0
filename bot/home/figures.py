"""The director's headline figures on the Home tab (PRODUCT.md §2.1, §6.1),
taken from the metrics module (`compute_metrics` with the team's settings,
through `team_metrics`: the week to date in the
team's time zone), never recomputed here: the desk, `/cs metrics` and the
digest say the same numbers."""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

from sqlmodel import Session

from bot.home.queries import CsmRisk
from bot.metrics import Figure, Metrics
from bot.metrics.flow import team_metrics
from bot.money import format_cents
from bot.settings import Settings

# (figure name, label, how it is shown)
HEADLINE = (
    ("arr_cents", "ARR", "money"),
    ("grr_t12m", "GRR (12 months)", "percent"),
    ("nrr_t12m", "Net revenue retention (12 months)", "percent"),
    ("upsell_cents", "Up-sell this week", "money"),
    ("nps", "NPS (90 days)", "number"),
    ("at_risk_arr_cents", "At-risk ARR", "money"),
)


# what the desk shows: the headline, the responses behind the NPS, the at-risk list by CSM
SHOWN = (*(name for name, _, _ in HEADLINE), "nps_responses")


def week_metrics(session: Session, settings: Settings, today: date) -> Metrics:
    """The week to date, as `/cs metrics week` and `csbot metrics week` compute it
    for the whole team (the team's zone, CSBOT_TEAM_COST, the scorecard's rates):
    only the figures the desk shows, so it reads only what they need."""
    return team_metrics(session, settings, kind="week", as_of=today, names=SHOWN, tables=False)


FiguresSource = Callable[[Session, Settings, date], Metrics]


class FigureCache:
    """The week's figures, kept a few minutes per day: computing them reads the
    whole portfolio (a quarter of a second at 10,000 accounts on SQLite) while a director may
    open the Home tab many times an hour. Any write someone makes from Slack
    through this process drops them (`clear`); a write elsewhere (another
    replica, the nightly job) shows within `ttl`."""

    def __init__(self, now: Callable[[], datetime], ttl: timedelta = timedelta(minutes=5)) -> None:
        self._now = now
        self._ttl = ttl
        self._lock = threading.Lock()
        self._kept: dict[tuple[date, str], tuple[datetime, Metrics]] = {}

    def __call__(self, session: Session, settings: Settings, today: date) -> Metrics:
        key = (today, settings.tz)
        now = self._now()
        with self._lock:
            kept = self._kept.get(key)
        if kept is not None and now - kept[0] < self._ttl:
            return kept[1]
        metrics = week_metrics(session, settings, today)
        with self._lock:
            self._kept = {key: (now, metrics)}
        return metrics

    def clear(self) -> None:
        with self._lock:
            self._kept = {}


def shown(value: int | float, how: str) -> str:
    if how == "money":
        return format_cents(int(value), compact=True)
    if how == "percent":
        return f"{value * 100:.1f} %"
    return f"{value:.0f}" if isinstance(value, float) else str(value)


def change(fig: Figure, how: str) -> str:
    """'▲ $20k' / '▼ 1.5 pts' / 'no change' against last week; '' when either is n/a."""
    if fig.value is None or fig.previous is None:
        return ""
    delta = fig.value - fig.previous
    if not delta:
        return "no change"
    arrow = "▲" if delta > 0 else "▼"
    if how == "percent":
        return f"{arrow} {abs(delta) * 100:.1f} pts"
    return f"{arrow} {shown(abs(delta), how)}"


def figure_field(label: str, fig: Figure, how: str) -> dict[str, Any]:
    if fig.value is None:
        text = f"*{label}*\nn/a — {fig.why or 'no data'}"
    else:
        text = f"*{label}*\n{shown(fig.value, how)}"
        moved = change(fig, how)
        if moved:
            text += f"  {moved} vs last week"
    return {"type": "mrkdwn", "text": text[:2000]}


def figure_blocks(metrics: Metrics) -> list[dict[str, Any]]:
    """The headline figures as fields, with the week they are for."""
    fields = [figure_field(label, metrics.figures[name], how) for name, label, how in HEADLINE]
    responses = metrics.figures.get("nps_responses")
    note = f"{metrics.period.label()}, to date · `/cs metrics` for every figure"
    if responses is not None and responses.value is not None:
        note = f"{note} · NPS from {responses.value} responses"
    return [
        {"type": "section", "block_id": "home_figures", "fields": fields},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": note}]},
    ]


def at_risk_by_csm(metrics: Metrics) -> list[CsmRisk]:
    """At-risk accounts and ARR per CSM, from the same at-risk list as the figure."""
    count: dict[str | None, int] = defaultdict(int)
    arr: dict[str | None, int] = defaultdict(int)
    for row in metrics.at_risk:
        count[row.csm] += 1
        arr[row.csm] += row.arr_cents
    rows = [CsmRisk(csm, count[csm], arr[csm]) for csm in count]
    return sorted(rows, key=lambda r: (-r.arr_cents, r.csm or "~"))
