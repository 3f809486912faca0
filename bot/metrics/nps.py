"""NPS (PRODUCT.md §6.1): % promoters (9–10) − % detractors (0–6) of the
responses in the trailing 90 days to the period's end, with their count; both
periods from ONE aggregate statement."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

from sqlalchemy import Select, and_, case, func, select
from sqlmodel import Session

from bot.metrics.frame import scoped
from bot.metrics.periods import day_start_utc
from models.tables import NpsResponse

WINDOW_DAYS = 90


def nps_score(promoters: int, detractors: int, responses: int) -> float | None:
    """−100..100, None without responses (never 0 for "no data")."""
    if responses == 0:
        return None
    return 100.0 * (promoters - detractors) / responses


def nps(
    session: Session, ends: Sequence[date], tz: str, scope: Select | None
) -> list[tuple[float | None, int, str | None]]:
    """(NPS, responses, why-n/a) for the 90 days to each of `ends`."""
    cols = []
    bounds = []
    for end in ends:
        lo = day_start_utc(end - timedelta(days=WINDOW_DAYS - 1), tz)
        hi = day_start_utc(end + timedelta(days=1), tz)
        bounds.append((lo, hi))
        inside = and_(NpsResponse.responded_at >= lo, NpsResponse.responded_at < hi)
        cols += [
            func.sum(case((inside, 1), else_=0)),
            func.sum(case((and_(inside, NpsResponse.score >= 9), 1), else_=0)),
            func.sum(case((and_(inside, NpsResponse.score <= 6), 1), else_=0)),
        ]
    lo_all = min(b[0] for b in bounds)
    hi_all = max(b[1] for b in bounds)
    stmt = scoped(
        select(*cols).where(
            NpsResponse.deleted_at.is_(None),
            NpsResponse.responded_at >= lo_all,
            NpsResponse.responded_at < hi_all,
        ),
        NpsResponse.account_id,
        scope,
    )
    row = session.execute(stmt).one()
    out = []
    for i in range(len(ends)):
        total, promoters, detractors = (int(row[3 * i + k] or 0) for k in range(3))
        score = nps_score(promoters, detractors, total)
        out.append(
            (score, total, None if score is not None else f"no NPS responses in the last {WINDOW_DAYS} days")
        )
    return out
