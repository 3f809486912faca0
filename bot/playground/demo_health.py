"""Eight weeks of health history for the sample portfolio (PRODUCT.md §4, §6.2), so
the digest's band chart, the card's trend and "at risk" on past weeks have a past.

Scores are not recomputed for past days (the measures read today's data): each
account's history is drawn back from its real score today along its profile —
healthy accounts steady, drifting ones a little better before, troubled ones much
better — with a small fixed-seed jitter and never a 20-point drop within a week."""

from __future__ import annotations

import random
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert
from sqlmodel import Session

from bot.clock import local_date
from bot.health.evaluation import evaluate
from bot.health.scoring import band_of
from models.tables import HealthSnapshot

DAYS = 56
# how many points better the account was DAYS ago than today, by profile
BETTER_BEFORE = {"healthy": 0, "drifting": 14, "at_risk": 30}


def health_history(session: Session, now: datetime, tz: str, profiles: Mapping[int, str], seed: int) -> int:
    """Write a snapshot per account per day for the DAYS before today; returns the row count."""
    rng = random.Random(seed)
    today = local_date(now, tz)
    rows: list[dict[str, Any]] = []
    for item in evaluate(session, now, tz=tz):
        score_now = item.health.score
        if score_now is None:
            continue
        better = BETTER_BEFORE.get(profiles.get(item.account.id or 0, "healthy"), 0)
        renewal = item.account.renewal_date
        for back in range(1, DAYS + 1):
            day = today - timedelta(days=back)
            score = max(0, min(100, round(score_now + better * back / DAYS + rng.uniform(-2.5, 2.5))))
            band = band_of(score)
            near_renewal = renewal is not None and 0 <= (renewal - day).days <= 90
            rows.append(
                {
                    "account_id": item.account.id,
                    "date": day,
                    "score": score,
                    "band": band,
                    "reasons": [] if band == "green" else [f"score {score} is {band}"],
                    "measures": {},
                    "at_risk": band == "red" or (near_renewal and band != "green"),
                }
            )
    if rows:
        session.execute(insert(HealthSnapshot.__table__), rows)  # type: ignore[attr-defined]
    return len(rows)
