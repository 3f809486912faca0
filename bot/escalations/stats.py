"""Escalation durations and the period's stats the digest and metrics read
(PRODUCT.md §5: time to acknowledge and to resolve; §6.1 escalation times)."""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from models.tables import Escalation

# --- durations (the digest reads these) -----------------------------------------------


def durations(esc: Escalation) -> tuple[timedelta | None, timedelta | None]:
    """(time to acknowledge, time to resolve), None while not reached.

    Time to acknowledge runs to the first acknowledgement; an escalation
    resolved without one counts its resolution as the first response."""
    tta = esc.acknowledged_at - esc.opened_at if esc.acknowledged_at else None
    ttr = esc.resolved_at - esc.opened_at if esc.resolved_at else None
    return tta, ttr


@dataclass(frozen=True)
class EscalationStats:
    opened: int
    resolved: int
    median_time_to_ack: timedelta | None
    median_time_to_resolve: timedelta | None


def escalation_stats(session: Session, start: datetime, end: datetime) -> EscalationStats:
    """Opened and resolved in [start, end), with the median durations of those
    resolved in it (PRODUCT.md §6 "Escalations"). Two set-based queries."""
    opened = len(
        session.exec(
            select(Escalation.id).where(Escalation.opened_at >= start, Escalation.opened_at < end)
        ).all()
    )
    rows = session.exec(
        select(Escalation.opened_at, Escalation.acknowledged_at, Escalation.resolved_at).where(
            Escalation.status == "resolved",
            col(Escalation.resolved_at) >= start,
            col(Escalation.resolved_at) < end,
        )
    ).all()
    ttas = [(ack - opened_at).total_seconds() for opened_at, ack, _ in rows if ack is not None]
    ttrs = [(res - opened_at).total_seconds() for opened_at, _, res in rows if res is not None]
    return EscalationStats(
        opened=opened,
        resolved=len(rows),
        median_time_to_ack=timedelta(seconds=statistics.median(ttas)) if ttas else None,
        median_time_to_resolve=timedelta(seconds=statistics.median(ttrs)) if ttrs else None,
    )
