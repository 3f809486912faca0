"""The figures with the team's settings applied (time zone, CSBOT_TEAM_COST, the
scorecard's forecast rates): what `csbot metrics` and `/cs metrics` both call."""

from __future__ import annotations

from collections.abc import Collection
from datetime import date

from sqlmodel import Session

from bot.health.scorecard import load_scorecard
from bot.metrics.compute import compute_metrics
from bot.metrics.result import FIGURE_NAMES, Metrics
from bot.settings import Settings


def team_metrics(
    session: Session,
    settings: Settings,
    *,
    kind: str,
    as_of: date,
    segment: str | None = None,
    csm: str | None = None,
    tz: str | None = None,
    names: Collection[str] = FIGURE_NAMES,
    tables: bool = True,
) -> Metrics:
    """`compute_metrics` with the team's settings; `names` and `tables` as there."""
    card = load_scorecard(settings.scorecard_path)
    return compute_metrics(
        session,
        kind=kind,
        as_of=as_of,
        tz=tz or settings.tz,
        segment=segment,
        csm=csm,
        team_cost_cents=settings.team_cost_cents,
        forecast_weights=card.forecast_weights,
        names=names,
        tables=tables,
    )
