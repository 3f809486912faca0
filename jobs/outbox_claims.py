"""Claiming due Outbox rows (PRODUCT.md §6.3): one short transaction takes the rows
that may be sent now — ordered only where Slack shows order, waiting only for the
message each needs, paced per channel — as a lease guarded by a token."""

from __future__ import annotations

import functools
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, exists, func, or_
from sqlalchemy.engine import Engine
from sqlalchemy.orm import aliased
from sqlmodel import col, select

from bot.clock import Clock
from bot.delivery.outbox import URGENT
from jobs.outbox_outcomes import DEFAULT_POLICY, Claim, DeliveryPolicy
from models.db import session_scope
from models.tables import Escalation, Outbox
from models.types import UTCDateTime


@functools.lru_cache(maxsize=16)
def _claim_query(dialect: str, limit: int) -> Any:
    """The claim statement, built once per (dialect, limit): `now` is a bound
    parameter, so each round only executes it."""
    now = bindparam("now", type_=UTCDateTime())
    # Top-level posts of a lane keep their order while the earlier ones are healthy
    # (never failed, needing nothing else first); a failed row stands aside.
    earlier = aliased(Outbox)
    lane_busy = exists().where(
        earlier.lane == Outbox.lane,
        earlier.state == "pending",
        # "neither ordered nor dependent", as one expression: the planner then looks the
        # lane up by ix_outbox_lane_state instead of scanning every depends_on IS NULL row
        func.coalesce(earlier.order_key, earlier.depends_on).is_(None),
        earlier.failures == 0,  # (a 429 is no failure: its Retry-After holds the lane, as Slack does)
        or_(
            earlier.priority < Outbox.priority,
            and_(earlier.priority == Outbox.priority, earlier.id < Outbox.id),
        ),
    )
    # A thread's replies and a message's edits: strictly one after the other.
    before = aliased(Outbox)
    order_busy = exists().where(
        before.order_key == Outbox.order_key, before.state == "pending", before.id < Outbox.id
    )
    needed = aliased(Outbox)
    waiting = exists().where(needed.key == Outbox.depends_on, needed.state == "pending")
    query = (
        select(Outbox)
        .where(
            Outbox.state == "pending",
            Outbox.next_attempt_at <= now,
            or_(col(Outbox.claimed_until).is_(None), col(Outbox.claimed_until) <= now),
            or_(col(Outbox.order_key).is_not(None), ~lane_busy),
            or_(col(Outbox.order_key).is_(None), ~order_busy),
            or_(col(Outbox.depends_on).is_(None), ~waiting),
        )
        .order_by(col(Outbox.priority), col(Outbox.id))
        .limit(limit)
    )
    if dialect == "postgresql":
        query = query.with_for_update(skip_locked=True, of=Outbox)  # type: ignore[arg-type]
    return query


def claim_due(
    engine: Engine, clock: Clock, *, limit: int = 100, policy: DeliveryPolicy | None = None
) -> list[Claim]:
    """Atomically take up to `limit` rows that may be sent now (ordered where Slack shows order, paced)."""
    policy = policy or DEFAULT_POLICY
    now = clock.now()
    query = _claim_query(engine.dialect.name, limit).params(now=now)
    claims: list[Claim] = []
    with session_scope(engine) as session:
        rows = session.exec(query).all()
        if not rows:
            return []
        lanes = {r.lane for r in rows}
        paced: dict[str, datetime | None] = dict(
            session.exec(  # type: ignore[call-overload]
                select(Outbox.lane, func.max(Outbox.pace_at))
                .where(col(Outbox.lane).in_(lanes))
                .group_by(Outbox.lane)  # type: ignore[arg-type]
            ).all()
        )
        escalations = {r.escalation_id for r in rows if r.escalation_id is not None}
        live: set[int] = set()
        if escalations:
            live = set(
                session.exec(
                    select(Escalation.id).where(
                        col(Escalation.id).in_(escalations), Escalation.status == "open"
                    )
                ).all()
            )  # type: ignore[arg-type]
        interval = timedelta(seconds=policy.pace_interval)
        tolerance = interval * max(0, policy.pace_burst - 1)
        token = uuid.uuid4().hex
        until = now + timedelta(seconds=policy.lease)
        for row in rows:
            tat = paced.get(row.lane)
            if tat is not None and tat > now + tolerance and row.priority != URGENT:
                continue  # the lane has used its burst: wait for its next slot
            row.pace_at = max(tat or now, now) + interval
            paced[row.lane] = row.pace_at
            claims.append(
                Claim(
                    id=row.id,  # type: ignore[arg-type]
                    key=row.key,
                    token=token,
                    lane=row.lane,
                    method=row.method,
                    channel=row.channel,
                    dm_user=row.dm_user,
                    thread_key=row.thread_key,
                    thread_ts=row.thread_ts,
                    update_key=row.update_key,
                    payload=dict(row.payload),
                    in_doubt=row.in_doubt,
                    failures=row.failures,
                    claimed_until=until,
                    escalation_id=row.escalation_id,
                    live_page=row.escalation_id in live,
                )
            )
            # Persisted before the call: if we die after Slack answered, the next
            # attempt knows to look for the key before posting again.
            row.in_doubt = True
            row.claimed_until = until
            row.claim_token = token
            session.add(row)
    return claims
