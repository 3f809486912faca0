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

The claim is in jobs/outbox_claims.py, building a call and the history look-up in
jobs/outbox_calls.py, recording outcomes and the retry rules in jobs/outbox_outcomes.py.
"""

from __future__ import annotations

import http.client
import logging
import threading
import urllib.error
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import col

from bot.clock import Clock
from bot.delivery.dead_letters import dead_rows, report_dead, requeue
from bot.delivery.outbox import UPLOAD_METHOD
from bot.escalations.undeliverable import page_undeliverable
from jobs.outbox_calls import NO_LINK, DependencyDead, Wait, build_call, find_posted
from jobs.outbox_claims import claim_due
from jobs.outbox_outcomes import (
    DEFAULT_POLICY,
    RETRYABLE_ERRORS,
    Claim,
    DeliveryPolicy,
    mark_dead,
    record_slack_error,
    release,
    retry,
)
from jobs.outbox_outcomes import record_sent as _record_sent
from models.db import session_scope
from models.tables import Outbox

log = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_POLICY",
    "NO_LINK",
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
    if claim.method == UPLOAD_METHOD:  # a file (a digest's chart): its own send function
        from jobs.outbox_upload import deliver_upload

        return deliver_upload(engine, client, clock, claim, policy=policy, posted=posted, on_dead=on_dead)
    try:
        method, args = build_call(engine, client, claim, posted)
        if claim.in_doubt and method == "chat.postMessage":
            found = find_posted(client, claim.key, args["channel"], args.get("thread_ts"), policy)
            if found is not None:
                log.info("outbox %s was already posted (ts %s); not posting again", claim.key, found)
                _record_sent(engine, clock, claim, args["channel"], found, counted=False)
                posted[claim.key] = (args["channel"], found)
                return True
        send = client.chat_update if method == "chat.update" else client.chat_postMessage
        response = send(**args)
    except Wait:
        release(engine, claim)
        return False
    except DependencyDead as exc:
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
