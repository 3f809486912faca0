"""Channel subscriptions: which channel gets the at-risk alerts and the weekly
digest, filtered how, and when (PRODUCT.md §2 `/cs subscribe`, §6).

The jobs that post (jobs/health.py's alerts, jobs/digest.py's digests) read these
rows; the scheduler builds one job per subscription from `schedule_of`."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.engine import Engine
from sqlmodel import Session, func, select

from bot import audit
from bot.accounts.members import require_role
from bot.clock import Clock, time_zone
from bot.delivery.outbox import NORMAL, enqueue
from bot.errors import BadInput, NotAllowed
from bot.schedules import JobSpec, Schedule, daily_at, weekly_at
from bot.settings import Settings
from bot.slack.escape import escape, escape_all
from bot.slack.help import usage
from bot.slack.mentions import mentioned_user
from models.db import session_scope
from models.tables import Account, Member, Subscription

KINDS = {"alerts": "at-risk alerts", "digest": "weekly digest"}
# What a digest subscription will post, so the director knows what to expect (§6.2).
DIGEST_COVERS = (
    "_Each digest covers the last complete week, Monday to Sunday in {tz}: the figures with their "
    "change, a table per CSM, the accounts at risk, renewals and escalations, and a chart in its thread._"
)
SUBSCRIBERS = ("director", "admin")
DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
DEFAULT_TIME = "09:00"
DEFAULT_DIGEST_DAY = 0  # Monday

_TIME = re.compile(r"(\d{1,2}):(\d{2})")


@dataclass(frozen=True)
class Wanted:
    """A parsed `/cs subscribe`: what the channel should get."""

    kind: str
    segment: str | None
    csm: str | None
    day: int | None
    time_of_day: str
    tz: str


def parse_subscribe(session: Session, args: str, default_tz: str) -> Wanted:
    """Parse `<alerts|digest> [segment|@csm] [day] [HH:MM] [tz]`; BadInput says what is wrong."""
    form = usage("subscribe")
    tokens = args.split()
    if not tokens or tokens[0].lower() not in KINDS:
        raise BadInput(f"Say what this channel should get: `alerts` or `digest`.\n{form}")
    kind = tokens[0].lower()
    segment = csm = tz = time_of_day = None
    day: int | None = None
    for token in tokens[1:]:
        low = token.lower()
        if (mentioned := mentioned_user(token)) is not None:
            csm = _one(csm, mentioned, "CSM", form)
        elif token.startswith("@"):
            csm = _one(csm, _member_by_name(session, token[1:], form), "CSM", form)
        elif (day_index := _day(low)) is not None:
            day = _one(day, day_index, "day", form)
        elif (match := _TIME.fullmatch(token)) is not None:
            hour, minute = int(match.group(1)), int(match.group(2))
            if hour > 23 or minute > 59:
                raise BadInput(
                    f"`{escape(token)}` is not a time of day: use HH:MM from 00:00 to 23:59.\n{form}"
                )
            time_of_day = _one(time_of_day, f"{hour:02d}:{minute:02d}", "time", form)
        elif "/" in token or token.upper() == "UTC":
            tz = _one(tz, _zone(token, form), "time zone", form)
        else:
            segment = _one(segment, _segment(session, token, form), "segment", form)
    if segment and csm:
        raise BadInput(f"Filter by a segment or by a CSM, not both.\n{form}")
    if kind == "alerts" and day is not None:
        raise BadInput(f"Alerts are posted every day they change; a day only applies to the digest.\n{form}")
    if kind == "digest" and day is None:
        day = DEFAULT_DIGEST_DAY
    return Wanted(kind, segment, csm, day, time_of_day or DEFAULT_TIME, tz or default_tz)


def _one(current: Any, value: Any, what: str, form: str) -> Any:
    if current is not None:
        raise BadInput(f"Give one {what} only.\n{form}")
    return value


def _day(token: str) -> int | None:
    for index, name in enumerate(DAY_NAMES):
        if len(token) >= 3 and name.lower().startswith(token):
            return index
    return None


def _zone(token: str, form: str) -> str:
    if time_zone(token) is None:
        raise BadInput(
            f"`{escape(token)}` is not a time zone; use an IANA name such as Europe/Paris.\n{form}"
        )
    return "UTC" if token.upper() == "UTC" else token


def _member_by_name(session: Session, name: str, form: str) -> str:
    member = session.exec(select(Member).where(func.lower(Member.name) == name.lower())).first()
    if member is None:
        raise BadInput(f"I don't know who @{escape(name)} is: pick them from Slack's @-autocomplete.\n{form}")
    return member.slack_id


def _segment(session: Session, token: str, form: str) -> str:
    known = [s for s in session.exec(select(Account.segment).distinct()).all() if s]
    if not known:
        return token
    for segment in known:
        if segment.lower() == token.lower():
            return segment
    raise BadInput(
        f"No accounts are in a segment called `{escape(token)}`. "
        f"Segments: {', '.join(escape_all(sorted(known)))}.\n{form}"
    )


# --- when -------------------------------------------------------------------------


def schedule_of(sub: Subscription) -> Schedule:
    """The subscription's posting schedule: weekly for digests, daily for alerts."""
    if sub.kind == "digest":
        return weekly_at(sub.day if sub.day is not None else DEFAULT_DIGEST_DAY, sub.time_of_day, sub.tz)
    return daily_at(sub.time_of_day, sub.tz)


def next_post(sub: Subscription, now: datetime) -> datetime:
    """When the subscription posts next (strictly after `now`), from the same trigger
    the scheduler fires on, so daylight-saving days agree with what really happens."""
    trigger = schedule_of(sub).trigger
    due = trigger.get_next_fire_time(None, now)
    if due is not None and due <= now:
        due = trigger.get_next_fire_time(due, due + timedelta(seconds=1))
    if due is None:
        raise ValueError(f"subscription {sub.id} has no next posting time")
    return due.astimezone(UTC)


def describe(sub: Subscription, now: datetime | None = None) -> str:
    """One line: what is posted and when, in the subscription's time zone."""
    what = KINDS[sub.kind]
    if sub.filter_segment:
        what += f" for the *{escape(sub.filter_segment)}* segment"
    elif sub.filter_csm:
        what += f" for <@{sub.filter_csm}>'s accounts"
    else:
        what += " for all accounts"
    if sub.kind == "digest":
        when = f"every *{DAY_NAMES[sub.day or 0]} at {sub.time_of_day}* ({sub.tz})"
    else:
        when = f"at most once a day, at *{sub.time_of_day}* ({sub.tz}), when accounts newly become at risk"
    line = f"the {what}, {when}"
    if now is not None:
        nxt = next_post(sub, now).astimezone(ZoneInfo(sub.tz))
        line += f"; next: {nxt:%a %d %b %H:%M}"
    return line


def subscription_job_specs(engine: Engine, kind: str, fn: Any, *, with_session: bool = True) -> list[JobSpec]:
    """One scheduler job per subscription of `kind`, named `<kind>:<channel>`, on its
    schedule: `fn(session, clock, subscription_id=…)`. For a feature's
    `job_specs(settings, engine)`; re-read every minute, so a new or changed
    subscription is picked up without a restart."""
    with session_scope(engine) as session:
        subs = session.exec(
            select(Subscription).where(Subscription.kind == kind).order_by(Subscription.id)
        ).all()
    return [
        JobSpec(
            name=f"{kind}:{sub.channel_id}",
            schedule=schedule_of(sub),
            fn=fn,
            with_session=with_session,
            kwargs={"subscription_id": sub.id},
        )
        for sub in subs
    ]


# --- the commands --------------------------------------------------------------------


def _channel_check(client: WebClient, channel_id: str) -> None:
    """NotAllowed, with how to invite the bot, unless the bot is in the channel."""
    try:
        info = client.conversations_info(channel=channel_id)
        is_member = bool(info["channel"].get("is_member")) or bool(info["channel"].get("is_im"))
    except SlackApiError as exc:
        if exc.response.get("error") not in ("channel_not_found", "not_in_channel"):
            raise
        is_member = False
    if not is_member:
        raise NotAllowed(
            "I'm not in this channel yet, so I couldn't post here. Invite me with `/invite @csbot` "
            "(or mention me and choose *Invite them*), then run the command again. Nothing was saved."
        )


def subscribe(
    engine: Engine,
    client: WebClient,
    clock: Clock,
    settings: Settings,
    user_id: str,
    channel_id: str,
    args: str,
) -> tuple[str, bool]:
    """`/cs subscribe`: returns the reply and whether a notice was queued for the channel."""
    with session_scope(engine) as session:
        require_role(session, user_id, settings, SUBSCRIBERS, "subscribe a channel to alerts or digests")
        wanted = parse_subscribe(session, args, settings.tz)
    _channel_check(client, channel_id)  # outside any transaction: a Slack call
    now = clock.now()
    with session_scope(engine) as session:
        sub = session.exec(
            select(Subscription).where(
                Subscription.channel_id == channel_id, Subscription.kind == wanted.kind
            )
        ).first()
        changed = sub is not None
        if sub is None:
            sub = Subscription(channel_id=channel_id, kind=wanted.kind, created_by=user_id, created_at=now)
        sub.filter_segment, sub.filter_csm = wanted.segment, wanted.csm
        sub.day, sub.time_of_day, sub.tz = wanted.day, wanted.time_of_day, wanted.tz
        session.add(sub)
        session.flush()
        detail = {
            "channel": channel_id,
            "kind": sub.kind,
            "segment": sub.filter_segment,
            "csm": sub.filter_csm,
            "day": sub.day,
            "time": sub.time_of_day,
            "tz": sub.tz,
        }
        action = "subscription.update" if changed else "subscription.create"
        audit.record(session, now, user_id, action, "subscription", sub.id, detail)
        line = describe(sub)
        enqueue(
            session,
            clock,
            key=f"subscription:{sub.id}:{now.isoformat()}",
            text=f"<@{user_id}> set this channel to receive {line}. `/cs subscriptions` shows what it gets.",
            channel=channel_id,
            priority=NORMAL,
        )
        done = "Updated" if changed else "Done"
        reply = f":white_check_mark: {done}: this channel will get {describe(sub, now)}."
        reply += f"\nStop it with `/cs unsubscribe {sub.kind}`."
        if sub.kind == "digest":
            reply += "\n" + DIGEST_COVERS.format(tz=sub.tz)
    return reply, True


def unsubscribe(
    engine: Engine, clock: Clock, settings: Settings, user_id: str, channel_id: str, args: str
) -> tuple[str, bool]:
    """`/cs unsubscribe <alerts|digest>`: returns the reply and whether a notice was queued."""
    kind = args.strip().lower()
    now = clock.now()
    with session_scope(engine) as session:
        require_role(session, user_id, settings, SUBSCRIBERS, "unsubscribe a channel from alerts or digests")
        if kind not in KINDS:
            raise BadInput(f"Say what to stop: `alerts` or `digest`.\n{usage('unsubscribe')}")
        sub = session.exec(
            select(Subscription).where(Subscription.channel_id == channel_id, Subscription.kind == kind)
        ).first()
        if sub is None:
            return f"This channel gets no {KINDS[kind]}; `/cs subscriptions` lists what it gets.", False
        detail = {"channel": channel_id, "kind": kind}
        audit.record(session, now, user_id, "subscription.delete", "subscription", sub.id, detail)
        session.delete(sub)
        enqueue(
            session,
            clock,
            key=f"subscription:{sub.id}:off:{now.isoformat()}",
            text=f"<@{user_id}> stopped the {KINDS[kind]} in this channel.",
            channel=channel_id,
        )
    return f":white_check_mark: This channel will no longer get the {KINDS[kind]}.", True


def list_subscriptions(engine: Engine, clock: Clock, channel_id: str) -> str:
    """`/cs subscriptions`: what this channel receives, and when."""
    with session_scope(engine) as session:
        subs = session.exec(
            select(Subscription).where(Subscription.channel_id == channel_id).order_by(Subscription.kind)
        ).all()
    if not subs:
        return (
            "This channel gets nothing from me yet. "
            "A director or admin can route alerts or the digest here:\n" + usage("subscribe")
        )
    now = clock.now()
    lines = ["This channel gets:"] + [f"• {describe(sub, now)}" for sub in subs]
    return "\n".join(lines)
