"""The Outbox delivery worker: sends due rows to Slack, once each (PRODUCT.md §6.3).

How a row goes out:
- Claim (one short transaction): due pending rows, `FOR UPDATE SKIP LOCKED` on
  PostgreSQL so any number of workers claim side by side (SQLite's write lock
  serializes them). Order is kept only where Slack shows it: a thread's replies and
  one message's edits go out one after the other (`order_key`), and a row waits
  for the message it needs (`depends_on`: its thread parent, the message it edits
  or links to). Top-level posts of one channel go out in order while they are
  healthy, but a row that failed is retried on its own schedule and never holds
  back the rest: one refused message cannot block a channel.
- A claim is a short lease (`claimed_until`) with a token that guards the result;
  the worker's heartbeat renews it while the worker lives, so a crashed worker's
  rows are taken over within seconds.
- Pace: a lane (channel, DM user) sends about one message per second with short
  bursts (GCRA over `pace_at`), Slack's per-channel limit. URGENT rows (pages)
  skip the pacing and are claimed first.
- Send, outside any transaction, with a WebClient that retries nothing itself:
  every retry is a rescheduled row (jobs/outbox_outcomes.py), so it goes through
  the history check. A page is never given up on while its escalation is
  unacknowledged; a permanent error is dead at once and surfaced (the opener, the
  admins).
- Crash safety: a row is marked `in_doubt` before the call; the next attempt looks
  for the row's key in the channel's history (message metadata) before posting again.
"""

from __future__ import annotations

import functools
import http.client
import json
import logging
import re
import threading
import urllib.error
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy import and_, bindparam, exists, func, or_, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import aliased
from sqlmodel import col, select

from bot.clock import Clock
from bot.delivery.dead_letters import dead_rows, report_dead, requeue
from bot.delivery.outbox import METADATA_EVENT_TYPE, URGENT
from bot.escalations.undeliverable import page_undeliverable
from jobs.outbox_outcomes import (
    DEFAULT_POLICY,
    RETRYABLE_ERRORS,
    Claim,
    DeliveryPolicy,
    is_retryable,
    mark_dead,
    record_slack_error,
    release,
    retry,
)
from jobs.outbox_outcomes import record_sent as _record_sent
from models.db import session_scope
from models.tables import Escalation, Outbox
from models.types import UTCDateTime

log = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_POLICY",
    "RETRYABLE_ERRORS",
    "ClaimHeartbeat",
    "DeliveryPolicy",
    "OutboxWorker",
    "claim_due",
    "dead_rows",
    "deliver_claimed",
    "deliver_due",
    "requeue",
]

# What a DM's `{permalink}` becomes when the message it links to could not be posted.
NO_LINK = "(no link: the thread could not be posted; the admins are told)"


class _Wait(Exception):
    """A message this row depends on is not posted yet: put the row back untouched."""


class _DependencyDead(Exception):
    """A message this row depends on is dead: this row cannot be sent either."""


def deliver_due(
    engine: Engine,
    client: WebClient,
    clock: Clock,
    limit: int = 100,
    *,
    policy: DeliveryPolicy | None = None,
    admins: Sequence[str] | None = None,
    heartbeat: ClaimHeartbeat | None = None,
) -> int:
    """Claim due rows and send them; return how many were sent (posted or found posted).

    Call it in a loop until it returns 0 to flush everything that is due now
    (a thread reply goes out in the round after its parent). With `admins`, a
    round in which a message died DMs the admins about it (plus the team's admins)."""
    policy = policy or DEFAULT_POLICY
    claims = claim_due(engine, clock, limit=limit, policy=policy)
    if not claims:
        return 0
    posted: dict[str, tuple[str, str]] = {}  # key -> (channel, ts) posted in this round
    died: list[str] = []

    def on_dead(claim: Claim, error: str) -> None:
        died.append(claim.key)
        _surface_dead(engine, clock, claim, error)

    sent = 0
    token = claims[0].token
    if heartbeat is not None:
        heartbeat.hold(token, claims[0].claimed_until)
    try:
        for claim in claims:
            until = heartbeat.until(token) if heartbeat is not None else claim.claimed_until
            if until is None or clock.now() >= until - timedelta(seconds=policy.lease / 4):
                release(engine, claim)  # too little of the lease left: give it back untouched
                continue
            try:
                if deliver_claimed(
                    engine, client, clock, claim, policy=policy, posted=posted, on_dead=on_dead
                ):
                    sent += 1
            except Exception as exc:  # one bad row must not hold up the rest of the batch
                log.exception("outbox %s: unexpected error; will retry", claim.key)
                retry(
                    engine,
                    clock,
                    claim,
                    policy,
                    error=f"unexpected: {exc!r}"[:500],
                    in_doubt=True,
                    on_dead=on_dead,
                )
    finally:
        if heartbeat is not None:
            heartbeat.drop(token)
    if died and admins is not None:
        with session_scope(engine) as session:
            report_dead(session, clock, admins)
    return sent


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
        col(earlier.order_key).is_(None),
        col(earlier.depends_on).is_(None),
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


def deliver_claimed(
    engine: Engine,
    client: WebClient,
    clock: Clock,
    claim: Claim,
    *,
    policy: DeliveryPolicy | None = None,
    posted: dict[str, tuple[str, str]] | None = None,
    on_dead: Callable[[Claim, str], None] | None = None,
) -> bool:
    """Send one claimed row and record the outcome; True when it is now sent."""
    policy = policy or DEFAULT_POLICY
    posted = posted if posted is not None else {}
    try:
        method, args = _build_call(engine, client, claim, posted)
        if claim.in_doubt and method == "chat.postMessage":
            found = _find_posted(client, claim.key, args["channel"], args.get("thread_ts"), policy)
            if found is not None:
                log.info("outbox %s was already posted (ts %s); not posting again", claim.key, found)
                _record_sent(engine, clock, claim, args["channel"], found, counted=False)
                posted[claim.key] = (args["channel"], found)
                return True
        send = client.chat_update if method == "chat.update" else client.chat_postMessage
        response = send(**args)
    except _Wait:
        release(engine, claim)
        return False
    except _DependencyDead as exc:
        mark_dead(engine, claim, str(exc), on_dead, counted=False)
        return False
    except SlackApiError as exc:
        record_slack_error(engine, clock, claim, exc, policy, on_dead)
        return False
    except (OSError, urllib.error.URLError, http.client.HTTPException) as exc:
        # Timeout or broken connection: Slack may or may not have posted it (or may
        # still post it: after a timeout, wait for a late post before looking).
        retry(
            engine,
            clock,
            claim,
            policy,
            error=f"{type(exc).__name__}: {exc}",
            in_doubt=True,
            at_least=timedelta(seconds=policy.after_timeout) if _timed_out(exc) else None,
            on_dead=on_dead,
        )
        return False
    channel = response.get("channel") or args.get("channel")
    ts = response.get("ts") or args.get("ts")
    _record_sent(engine, clock, claim, channel, ts)
    posted[claim.key] = (channel, ts)
    return True


def _timed_out(exc: BaseException) -> bool:
    return isinstance(exc, TimeoutError) or isinstance(getattr(exc, "reason", None), TimeoutError)


def _surface_dead(engine: Engine, clock: Clock, claim: Claim, error: str) -> None:
    """A page Slack refused for good: tell the opener at once (admins hear of it
    from the round's dead-message report)."""
    if claim.escalation_id is None:
        return
    try:
        with session_scope(engine) as session:
            page_undeliverable(
                session,
                clock,
                claim.escalation_id,
                key=claim.key,
                error=error,
                dm_user=claim.dm_user,
                channel=claim.channel,
            )
    except Exception:  # telling people must never stop delivery
        log.exception("outbox %s: could not queue the follow-up about the dead page", claim.key)


# --- building the call ----------------------------------------------------------


def _build_call(
    engine: Engine, client: WebClient, claim: Claim, posted: dict[str, tuple[str, str]]
) -> tuple[str, dict[str, Any]]:
    args: dict[str, Any] = dict(claim.payload)
    link_key = args.pop("permalink_of", None)
    if claim.update_key:
        channel, ts = _posted_target(engine, claim.update_key, posted)
        args.update(channel=channel, ts=ts)
        method = "chat.update"
    else:
        channel = claim.channel
        if claim.dm_user:
            channel = client.conversations_open(users=claim.dm_user)["channel"]["id"]
        args["channel"] = channel
        thread_ts = claim.thread_ts
        if claim.thread_key:
            thread_ts = _posted_target(engine, claim.thread_key, posted)[1]
        if thread_ts:
            args["thread_ts"] = thread_ts
        args["metadata"] = {"event_type": METADATA_EVENT_TYPE, "event_payload": {"key": claim.key}}
        method = "chat.postMessage"
    if link_key:
        try:
            link_channel, link_ts = _posted_target(engine, link_key, posted)
        except _DependencyDead:
            # The page still goes out, without the link: a page is never held back
            # because the message it points to could not be posted.
            return method, _fill_permalink(args, None)
        permalink = client.chat_getPermalink(channel=link_channel, message_ts=link_ts)["permalink"]
        args = _fill_permalink(args, permalink)
    return method, args


def _posted_target(engine: Engine, key: str, posted: dict[str, tuple[str, str]]) -> tuple[str, str]:
    """The (channel, ts) of the row `key`, or _Wait / _DependencyDead."""
    if key in posted:
        return posted[key]
    with session_scope(engine) as session:
        row = session.exec(select(Outbox).where(Outbox.key == key)).first()
    if row is not None and row.posted_ts is not None and row.posted_channel is not None:
        posted[key] = (row.posted_channel, row.posted_ts)
        return posted[key]
    if row is None:
        raise _DependencyDead(f"the message it depends on ({key}) was never queued")
    if row.state == "dead":
        raise _DependencyDead(f"the message it depends on ({key}) could not be posted: {row.last_error}")
    raise _Wait(key)


def _fill_permalink(args: dict[str, Any], permalink: str | None) -> dict[str, Any]:
    """Replace the `{permalink}` placeholder in text and blocks (a DM linking to a thread);
    None: the linked message could not be posted, so say so instead of linking."""
    filled = dict(args)
    for name in ("text", "blocks"):
        if name in filled:
            raw = json.dumps(filled[name])
            if permalink is None:
                raw = _LINKED.sub(NO_LINK, raw).replace("{permalink}", NO_LINK)
            else:
                raw = raw.replace("{permalink}", permalink)
            filled[name] = json.loads(raw)
    return filled


_LINKED = re.compile(r"<\{permalink\}\|[^>]*>")  # a mrkdwn link to the placeholder: <{permalink}|Open it>


def _find_posted(
    client: WebClient, key: str, channel: str, thread_ts: str | None, policy: DeliveryPolicy
) -> str | None:
    """The ts of a message carrying `key` in its metadata in the channel (or thread), if any."""
    cursor: str | None = None
    for _ in range(policy.history_pages):
        kwargs: dict[str, Any] = {
            "channel": channel,
            "limit": policy.history_limit,
            "include_all_metadata": True,
        }
        if cursor:
            kwargs["cursor"] = cursor
        try:
            if thread_ts:
                page = client.conversations_replies(ts=thread_ts, **kwargs)
            else:
                page = client.conversations_history(**kwargs)
        except SlackApiError as exc:
            if is_retryable(exc):
                raise  # try the whole delivery again later
            # We cannot look (e.g. a missing history scope): a page posted twice is
            # better than a page lost, so post, and say why.
            log.warning("outbox %s: cannot check the history (%s); posting", key, exc.response.get("error"))
            return None
        for message in page.get("messages", []):
            metadata = message.get("metadata") or {}
            if (
                metadata.get("event_type") == METADATA_EVENT_TYPE
                and (metadata.get("event_payload") or {}).get("key") == key
            ):
                return str(message["ts"])
        cursor = (page.get("response_metadata") or {}).get("next_cursor")
        if not cursor:
            return None
    return None


# --- the worker thread ---------------------------------------------------------------


class ClaimHeartbeat:
    """Renews the leases of the claims a live worker holds, so that a short lease
    frees a crashed worker's rows within seconds while a slow send (up to the
    client's timeout) keeps its own."""

    def __init__(self, engine: Engine, clock: Clock, policy: DeliveryPolicy) -> None:
        self.engine = engine
        self.clock = clock
        self.policy = policy
        self._held: dict[str, datetime] = {}
        self._lock = threading.Lock()

    def hold(self, token: str, until: datetime) -> None:
        with self._lock:
            self._held[token] = until

    def drop(self, token: str) -> None:
        with self._lock:
            self._held.pop(token, None)

    def until(self, token: str) -> datetime | None:
        with self._lock:
            return self._held.get(token)

    def beat(self) -> None:
        """Extend every held claim to a full lease from now (one UPDATE)."""
        with self._lock:
            tokens = list(self._held)
        if not tokens:
            return
        until = self.clock.now() + timedelta(seconds=self.policy.lease)
        with self.engine.begin() as conn:
            conn.execute(
                update(Outbox)
                .where(col(Outbox.claim_token).in_(tokens), Outbox.state == "pending")
                .values(claimed_until=until)
            )
        with self._lock:
            for token in tokens:
                if token in self._held:
                    self._held[token] = until


class OutboxWorker:
    """Sends Outbox rows in the background: woken by `wakeup` (set after a commit
    that queued rows, see Deps.wake_outbox) and otherwise polling. A heartbeat
    thread renews the leases of the rows it is sending."""

    def __init__(
        self,
        engine: Engine,
        client: WebClient,
        clock: Clock,
        *,
        wakeup: threading.Event | None = None,
        poll_seconds: float = 0.5,
        batch: int = 20,
        policy: DeliveryPolicy | None = None,
        name: str = "csbot-outbox",
        on_error: Callable[[BaseException], None] | None = None,
        admins: Sequence[str] | None = None,
    ) -> None:
        self.engine = engine
        self.client = client
        self.clock = clock
        self.wakeup = wakeup or threading.Event()
        self.poll_seconds = poll_seconds
        # Small batches: an URGENT row queued meanwhile waits for at most this many sends.
        self.batch = batch
        self.policy = policy or DEFAULT_POLICY
        self.name = name
        self.on_error = on_error
        self.admins = admins
        self.heartbeat = ClaimHeartbeat(engine, clock, self.policy)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._beating: threading.Thread | None = None
        # Set while the worker waits for a wake-up or its next poll (tests and health checks).
        self.idle = threading.Event()

    def start(self) -> OutboxWorker:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
            self._beating = threading.Thread(target=self._beat, name=f"{self.name}-heartbeat", daemon=True)
            self._thread.start()
            self._beating.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self.wakeup.set()
        for thread in (self._thread, self._beating):
            if thread is not None:
                thread.join(timeout)
        self._thread = self._beating = None

    def _beat(self) -> None:
        interval = self.policy.lease / 3
        while not self._stop.wait(interval):
            try:
                self.heartbeat.beat()
            except Exception:  # a database blip: the next beat tries again
                log.warning("outbox worker: could not renew its claims", exc_info=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.wakeup.clear()
            try:
                sent = deliver_due(
                    self.engine,
                    self.client,
                    self.clock,
                    limit=self.batch,
                    policy=self.policy,
                    admins=self.admins,
                    heartbeat=self.heartbeat,
                )
            except Exception as exc:  # keep delivering; the row's own state records Slack errors
                log.exception("outbox worker: delivery round failed")
                if self.on_error is not None:
                    self.on_error(exc)
                sent = 0
            if sent == 0:
                self.idle.set()
                self.wakeup.wait(self.poll_seconds)
                self.idle.clear()
