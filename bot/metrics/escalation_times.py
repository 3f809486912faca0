"""Escalations in a period (PRODUCT.md §6.1): opened, resolved, the median
time to acknowledge (of those acknowledged in the period) and to resolve (of
those resolved in it), and the escalations open at the period's end per
account — from ONE statement over the escalations the periods touch."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from statistics import median

from sqlalchemy import Select, or_, select
from sqlmodel import Session

from bot.metrics.frame import rows, scoped
from bot.metrics.periods import Period
from models.tables import Escalation


@dataclass
class EscalationFigures:
    opened: int = 0
    resolved: int = 0
    tta: list[float] = field(default_factory=list)
    ttr: list[float] = field(default_factory=list)
    open_at_end: dict[int, int] = field(default_factory=dict)  # account id -> open escalations

    def median_tta(self) -> tuple[float | None, str | None]:
        if not self.tta:
            return None, "no escalation was acknowledged in the period"
        return float(median(self.tta)), None

    def median_ttr(self) -> tuple[float | None, str | None]:
        if not self.ttr:
            return None, "no escalation was resolved in the period"
        return float(median(self.ttr)), None


def _inside(when: datetime | None, lo: datetime, hi: datetime) -> bool:
    return when is not None and lo <= when < hi


def escalations(session: Session, periods: Sequence[Period], scope: Select | None) -> list[EscalationFigures]:
    bounds = [p.utc_bounds() for p in periods]
    lo_all = min(b[0] for b in bounds)
    hi_all = max(b[1] for b in bounds)
    stmt = scoped(
        select(
            Escalation.account_id, Escalation.opened_at, Escalation.acknowledged_at, Escalation.resolved_at
        ).where(
            Escalation.opened_at < hi_all,
            or_(Escalation.resolved_at.is_(None), Escalation.resolved_at >= lo_all),
        ),
        Escalation.account_id,
        scope,
    )
    out = [EscalationFigures() for _ in periods]
    for account_id, opened, acked, resolved in rows(session, stmt):
        for (lo, hi), fig in zip(bounds, out, strict=True):
            fig.opened += _inside(opened, lo, hi)
            if _inside(acked, lo, hi):
                fig.tta.append((acked - opened).total_seconds())
            if _inside(resolved, lo, hi):
                fig.resolved += 1
                fig.ttr.append((resolved - opened).total_seconds())
            if opened < hi and (resolved is None or resolved >= hi):
                fig.open_at_end[account_id] = fig.open_at_end.get(account_id, 0) + 1
    return out
