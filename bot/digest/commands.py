"""`csbot digest --preview` and `csbot digest --send` (PRODUCT.md §6.2): the digest
as text in a terminal with no Slack call, and queuing it now for a channel that has
a digest subscription — once per channel and week, like the scheduled one."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine
from sqlmodel import select

from bot.clock import Clock
from bot.digest.service import Queued, build_digest, digest_as_text, iso_week, queue_digest, week_period
from bot.errors import BadInput, CsbotError, NotFound
from bot.settings import Settings
from models.db import session_scope
from models.tables import Subscription


def _subscription(session: object, channel: str) -> Subscription | None:
    return session.exec(  # type: ignore[attr-defined, no-any-return]
        select(Subscription).where(Subscription.channel_id == channel, Subscription.kind == "digest")
    ).first()


def _period(tz: str, clock: Clock, week: str | None) -> object:
    try:
        return week_period(tz, now=clock.now(), week=week)
    except ValueError as exc:
        raise BadInput(str(exc)) from None


def preview_digest(
    engine: Engine,
    settings: Settings,
    clock: Clock,
    *,
    channel: str | None = None,
    week: str | None = None,
    chart: Path | None = None,
) -> str:
    """The digest as text (and the chart written to `chart`); nothing is queued or posted.
    With `channel`, that channel's subscription decides the scope and time zone."""
    with session_scope(engine) as session:
        segment = csm = None
        tz = settings.tz
        note = f"Preview for all accounts in {tz}; nothing was posted."
        if channel is not None:
            sub = _subscription(session, channel)
            if sub is None:
                raise NotFound(
                    f"{channel} has no digest subscription: "
                    "`/cs subscribe digest` in that channel sets one up."
                )
            segment, csm, tz = sub.filter_segment, sub.filter_csm, sub.tz
            note = f"Preview of {channel}'s digest ({tz}); nothing was posted."
        digest = build_digest(session, settings, _period(tz, clock, week), segment=segment, csm=csm)
    if chart is not None:
        if digest.png is None and digest.chart_error is None:
            note += "\nNo chart written: there are no health scores in the last 8 weeks yet."
        elif digest.png is None:
            note += f"\nNo chart written: it could not be drawn ({digest.chart_error})."
        else:
            try:
                chart.write_bytes(digest.png)
            except OSError as exc:
                raise BadInput(f"Could not write the chart to {chart}: {exc.strerror or exc}.") from None
            note += f"\nChart written to {chart} ({len(digest.png):,} bytes). Alt text: {digest.alt_text}"
    return f"{digest_as_text(digest)}\n{note}"


def send_digest(
    engine: Engine, settings: Settings, clock: Clock, *, channel: str, week: str | None = None
) -> tuple[str, Queued]:
    """Queue `channel`'s digest of the week now; the running bot's Outbox worker posts it.
    Returns the line to print and what was queued (fresh False: it was there already)."""
    with session_scope(engine) as session:
        sub = _subscription(session, channel)
        if sub is None:
            raise NotFound(
                f"{channel} has no digest subscription: `/cs subscribe digest` in that channel sets one up, "
                "then `csbot digest --send` can post it now."
            )
        tz = sub.tz
        period = _period(tz, clock, week)
        queued = queue_digest(
            session,
            clock,
            settings,
            channel=channel,
            period=period,
            segment=sub.filter_segment,
            csm=sub.filter_csm,
        )
    label = iso_week(period.start)  # type: ignore[attr-defined]
    zone = ZoneInfo(tz)
    if queued.fresh:
        chart = "with its chart" if queued.chart else "without a chart (it could not be drawn)"
        return f"Queued the {label} digest for {channel} {chart}; the running bot posts it now.", queued
    when = f"{queued.created_at.astimezone(zone):%a %d %b %H:%M} {tz}"
    if queued.sent_at is not None:
        done = f"it was posted on {queued.sent_at.astimezone(zone):%a %d %b %H:%M} {tz}"
    elif queued.state == "dead":
        done = "it could not be posted: `csbot outbox` shows why"
    else:
        done = "it has not been posted yet (is the bot running?)"
    return (
        f"The {label} digest for {channel} was already queued on {when}; {done}. Nothing new was queued.",
        queued,
    )


def digest_command(
    engine: Callable[[Settings], Engine],
    settings: Callable[[], Settings],
    clock: Clock,
    *,
    preview: bool,
    send: bool,
    channel: str | None,
    week: str | None,
    chart: Path | None,
) -> tuple[int, str]:
    """`csbot digest`: (exit code, what to print); every mistake is one line."""
    if preview == send:
        return 2, "csbot digest: say --preview or --send (e.g. `csbot digest --preview --week 2026-W48`)."
    if send and not channel:
        return 2, "csbot digest --send needs --channel C (a channel with a digest subscription)."
    the_settings = settings()
    try:
        if preview:
            return 0, preview_digest(
                engine(the_settings), the_settings, clock, channel=channel, week=week, chart=chart
            )
        line, _ = send_digest(engine(the_settings), the_settings, clock, channel=channel or "", week=week)
        return 0, line
    except CsbotError as exc:
        return 1, f"csbot digest: {exc.message}"
