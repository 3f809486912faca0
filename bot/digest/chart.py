"""The digest's chart: ARR by health band (green / yellow / red) over the last 8
weeks (PRODUCT.md §6.2), drawn with matplotlib's Agg backend (no display).

Readable at Slack's width: a 6 × 3.6 inch figure at 200 dpi (1200 × 720 px) with
14-point type, so a phone that scales it to ~360 px still shows ~12 px letters, and
the ARR of each week is printed on its bar. The alt text carries every number, and
every number is in the message too: the image adds, it never replaces."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlmodel import Session

from bot.digest.format import money
from models.tables import Account, ArrMovement, HealthSnapshot

WEEKS = 8
BANDS = ("green", "yellow", "red")
COLOURS = {"green": "#2e9e5b", "yellow": "#e8b300", "red": "#d64545"}
MAX_ALT_TEXT = 1000  # files.getUploadURLExternal's alt_txt limit


@dataclass(frozen=True)
class WeekBands:
    """One bar: the week's Monday, its ISO label, and ARR by band on its latest snapshot day."""

    monday: date
    label: str  # "W48"
    arr: dict[str, int]  # band -> cents
    day: date | None  # the snapshot day it shows (None: no snapshot that week)


def band_history(
    session: Session, *, last_monday: date, segment: str | None = None, csm: str | None = None
) -> list[WeekBands]:
    """ARR by health band on the latest snapshot day of each of the 8 weeks that end
    with the week of `last_monday` (accounts without a band are left out). Two
    statements whatever the portfolio size."""
    first = last_monday - timedelta(weeks=WEEKS - 1)
    end = last_monday + timedelta(days=6)
    snap: Any = HealthSnapshot.__table__
    acc: Any = Account.__table__
    mov: Any = ArrMovement.__table__
    days = (
        session.execute(
            select(snap.c.date).where(snap.c.date >= first, snap.c.date <= end).group_by(snap.c.date)
        )
        .scalars()
        .all()
    )
    latest: dict[date, date] = {}
    for day in days:
        monday = day - timedelta(days=day.weekday())
        latest[monday] = max(latest.get(monday, day), day)
    sums: dict[tuple[date, str], int] = {}
    if latest:
        # ARR on the snapshot day from the ARR ledger (PRODUCT.md §6.0): the account's
        # live movements effective on or before that day.
        query = (
            select(snap.c.date, snap.c.band, func.sum(mov.c.amount_cents))
            .join(
                mov,
                (mov.c.account_id == snap.c.account_id)
                & (mov.c.effective_date <= snap.c.date)
                & mov.c.deleted_at.is_(None),
            )
            .where(snap.c.date.in_(sorted(latest.values())))
            .group_by(snap.c.date, snap.c.band)
        )
        if segment or csm:
            scope = select(acc.c.id)
            if segment:
                scope = scope.where(func.lower(acc.c.segment) == segment.lower())
            if csm:
                scope = scope.where(acc.c.csm_slack_id == csm)
            query = query.where(snap.c.account_id.in_(scope))
        for day, band, cents in session.execute(query).all():
            sums[(day, band)] = int(cents or 0)
    weeks = []
    for i in range(WEEKS):
        monday = first + timedelta(weeks=i)
        day = latest.get(monday)
        arr = {band: sums.get((day, band), 0) if day else 0 for band in BANDS}
        weeks.append(WeekBands(monday, f"W{monday.isocalendar()[1]:02d}", arr, day))
    return weeks


def alt_text(weeks: list[WeekBands]) -> str:
    """'ARR by health band, weeks W41–W48: W41 green $1.2m, yellow $300k, red $50k; …'."""
    parts = []
    for w in weeks:
        if w.day is None:
            parts.append(f"{w.label} no health scores")
        else:
            parts.append(f"{w.label} " + ", ".join(f"{b} {money(w.arr[b])}" for b in BANDS))
    text = f"ARR by health band, weeks {weeks[0].label}–{weeks[-1].label}: " + "; ".join(parts)
    return text if len(text) <= MAX_ALT_TEXT else text[: MAX_ALT_TEXT - 1] + "…"


def render_png(weeks: list[WeekBands], title: str) -> bytes:
    """The stacked bars as PNG bytes. Raises whatever matplotlib raises: the caller
    posts the digest without the chart and says so."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter

    fig = Figure(figsize=(6, 3.6), dpi=200)
    ax = fig.add_subplot()
    labels = [w.label for w in weeks]
    bottom = [0.0] * len(weeks)
    for band in BANDS:
        values = [w.arr[band] / 100 for w in weeks]
        ax.bar(labels, values, bottom=bottom, color=COLOURS[band], label=band, width=0.7)
        bottom = [b + v for b, v in zip(bottom, values, strict=False)]
    for x, (total, w) in enumerate(zip(bottom, weeks, strict=False)):
        if w.day is not None:
            ax.text(x, total, money(total * 100), ha="center", va="bottom", fontsize=11)
    ax.set_title(title, fontsize=14, loc="left")
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: money(v * 100)))
    ax.tick_params(labelsize=11)
    ax.spines[["top", "right"]].set_visible(False)
    ax.set_ylim(0, max(bottom + [1.0]) * 1.18)
    ax.legend(fontsize=10, frameon=False, ncols=3, loc="upper left", bbox_to_anchor=(0, 1.0))
    fig.subplots_adjust(left=0.12, right=0.98, top=0.88, bottom=0.1)  # fixed: tight_layout draws twice
    out = io.BytesIO()
    fig.savefig(out, format="png")
    return out.getvalue()
