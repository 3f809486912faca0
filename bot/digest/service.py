"""Building, previewing and queuing the weekly digest (PRODUCT.md §6.2, §6.3).

The digest computes nothing of its own: the figures are `bot.metrics.compute_metrics`
for the week and scope, the chart is the health snapshots' ARR by band. Queuing is
two Outbox rows in the caller's transaction: the message (key
`digest:<channel>:<ISO week covered>`, so the scheduled run and `csbot digest --send`
post a week once per channel) and, when the chart could be drawn, its upload into
the message's thread."""

from __future__ import annotations

import base64
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlmodel import Session, select

from bot.clock import Clock
from bot.delivery.outbox import BULK, enqueue, enqueue_upload
from bot.digest.blocks import DigestView, blocks_as_text, digest_blocks, digest_fallback_text
from bot.digest.chart import alt_text, band_history, render_png
from bot.settings import Settings
from models.tables import Member, Outbox

log = logging.getLogger(__name__)

ComputeFn = Callable[..., Any]  # compute_metrics' signature
CHART_IN_THREAD = ":chart_with_upwards_trend: The chart (ARR by health band, last 8 weeks) is in the thread."
_WEEK = re.compile(r"(\d{4})-W(\d{2})")


@dataclass(frozen=True)
class Digest:
    """One rendered digest: what is posted, and the chart (None when it could not be drawn)."""

    metrics: Any
    week: str  # ISO week covered, "2026-W48"
    text: str
    blocks: list[dict[str, Any]]
    png: bytes | None
    alt_text: str
    chart_error: str | None


@dataclass(frozen=True)
class Queued:
    """What queue_digest did: `fresh` False when this week's digest was already queued."""

    key: str
    fresh: bool
    created_at: datetime
    sent_at: datetime | None
    state: str
    chart: bool


def iso_week(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def digest_key(channel: str, week: str) -> str:
    return f"digest:{channel}:{week}"


def chart_filename(key: str) -> str:
    """The upload's file name carries the message's key, so the thread can be checked for it."""
    return "csbot-" + re.sub(r"[^A-Za-z0-9]+", "-", key).strip("-") + ".png"


def parse_week(text: str) -> date:
    """'2026-W48' -> that week's Monday; ValueError with the expected form otherwise."""
    match = _WEEK.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"`{text}` is not an ISO week: write it like 2026-W48")
    try:
        return date.fromisocalendar(int(match.group(1)), int(match.group(2)), 1)
    except ValueError:
        raise ValueError(f"`{text}` is not an ISO week: week numbers run from W01 to W52 or W53") from None


def week_period(tz: str, *, now: datetime, week: str | None = None) -> Any:
    """The week a digest covers: the named ISO week, else the last complete week in `tz`."""
    from bot.metrics import last_complete_week, period_containing

    if week is None:
        return last_complete_week(now, tz)
    return period_containing("week", parse_week(week), tz)


def _compute(session: Session, settings: Settings, period: Any, segment: str | None, csm: str | None) -> Any:
    """The week's figures with the team's settings, exactly as `csbot metrics week --json`
    and `/cs metrics` compute them (CSBOT_TEAM_COST, the scorecard's forecast rates)."""
    from bot.metrics.flow import team_metrics

    return team_metrics(
        session, settings, kind="week", as_of=period.end, segment=segment, csm=csm, tz=period.tz
    )


def _names(session: Session, ids: list[str]) -> dict[str, str]:
    if not ids:
        return {}
    rows = session.exec(select(Member.slack_id, Member.name).where(Member.slack_id.in_(ids))).all()  # type: ignore[attr-defined]
    return {slack_id: name for slack_id, name in rows if name}


def build_digest(
    session: Session,
    settings: Settings,
    period: Any,
    *,
    segment: str | None = None,
    csm: str | None = None,
    compute: ComputeFn | None = None,
) -> Digest:
    """The digest of `period` for the scope: metrics, message and chart. A chart that
    cannot be drawn leaves a digest that says so."""
    if compute is None:
        metrics = _compute(session, settings, period, segment, csm)
    else:
        metrics = compute(session, period=period, segment=segment, csm=csm)
    week = iso_week(period.start)
    png: bytes | None = None
    alt, error = "", None
    scored = True
    try:
        weeks = band_history(session, last_monday=period.start, segment=segment, csm=csm)
        scored = any(w.day is not None for w in weeks)
        if scored:
            alt = alt_text(weeks)
            png = render_png(weeks, f"ARR by health band, {weeks[0].label}–{weeks[-1].label}")
    except Exception as exc:  # the digest goes out without its chart, saying so
        log.exception("digest %s: the chart could not be drawn", week)
        error = f"{type(exc).__name__}: {exc}"[:200]
    if not scored:
        note = ":information_source: No chart this week: there are no health scores in the last 8 weeks yet."
    elif png is None:
        note = f":warning: The chart is missing this week: it could not be drawn ({error}). "
        note += "Every figure is above."
    else:
        note = CHART_IN_THREAD
    view = DigestView(names=_names(session, [r.csm for r in metrics.by_csm]), chart_note=note)
    blocks = digest_blocks(metrics, view)
    return Digest(metrics, week, digest_fallback_text(metrics), blocks, png, alt, error)


def digest_as_text(digest: Digest) -> str:
    """The digest as a person reads it in a terminal."""
    return blocks_as_text(digest.blocks)


def _queued(row: Outbox, fresh: bool, chart: bool) -> Queued:
    return Queued(row.key, fresh, row.created_at, row.sent_at, row.state, chart)


def already_queued(session: Session, channel: str, week: str) -> Queued | None:
    row = session.exec(select(Outbox).where(Outbox.key == digest_key(channel, week))).first()
    if row is None:
        return None
    chart = session.exec(select(Outbox.id).where(Outbox.key == digest_key(channel, week) + ":chart")).first()
    return _queued(row, False, chart is not None)


def queue_digest(
    session: Session,
    clock: Clock,
    settings: Settings,
    *,
    channel: str,
    period: Any,
    segment: str | None = None,
    csm: str | None = None,
    compute: ComputeFn | None = None,
) -> Queued:
    """Queue the digest of `period` for `channel` (message, then its chart in the
    thread), once per channel and week: a second call returns what was queued first."""
    week = iso_week(period.start)
    if (earlier := already_queued(session, channel, week)) is not None:
        return earlier
    digest = build_digest(session, settings, period, segment=segment, csm=csm, compute=compute)
    key = digest_key(channel, week)
    row = enqueue(
        session, clock, key=key, text=digest.text, blocks=digest.blocks, channel=channel, priority=BULK
    )
    if digest.png is not None:
        enqueue_upload(
            session,
            clock,
            key=key + ":chart",
            parent_key=key,
            channel=channel,
            filename=chart_filename(key),
            title=f"ARR by health band, 8 weeks to {week}",
            content_b64=base64.b64encode(digest.png).decode(),
            alt_txt=digest.alt_text,
        )
    log.info("digest %s queued for %s (chart: %s)", week, channel, digest.png is not None)
    return _queued(row, True, digest.png is not None)
