"""The Outbox delivery worker: sends due rows to Slack, once each (PRODUCT.md §6.1).

How a row goes out:
- Claim (one short transaction): due pending rows, the head of their *lane* only
  (a lane is a channel, a DM user or the message an update edits), so a lane's
  messages go out in order and one at a time; `FOR UPDATE SKIP LOCKED` on
  PostgreSQL lets any number of workers claim side by side (SQLite's write lock
  serializes them). A claim is a lease (`claimed_until`) with a token that guards
  the result, so a crashed worker's rows are picked up again when it expires.
- Pace: a lane sends about one message per second with short bursts (GCRA over
  `pace_at`), Slack's per-channel limit, so a bulk digest to one channel does not
  set off a 429 storm. URGENT rows (pages) skip the pacing and are claimed first.
- Send, outside any transaction, with a WebClient that has no retry handlers: the
  worker retries on its own by setting `next_attempt_at` (never sleeps):
  429 → the Retry-After Slack gave; 5xx, timeouts, connection errors → exponential
  backoff with jitter; a permanent error → dead with the error.
- Crash safety: a row is marked `in_doubt` before the call; if a worker dies after
  Slack answered but before the ts was recorded, the next attempt looks for the
  row's key in the channel's history (message metadata) before posting again.
"""

from __future__ import annotations

import http.client
import json
import logging
import random
import threading
import urllib.error
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy import and_, exists, func, or_, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import aliased
from sqlmodel import select

from bot.clock import Clock
from bot.delivery.outbox import METADATA_EVENT_TYPE, UPLOAD_METHOD, URGENT
from models.db import session_scope
from models.tables import Outbox

log = logging.getLogger(__name__)

# Slack errors worth retrying when they come back as HTTP 200 {"ok": false}.
# Anything else (channel_not_found, not_in_channel, invalid_blocks, invalid_auth…) is permanent.
RETRYABLE_ERRORS = frozenset(
    {"internal_error", "fatal_error", "service_unavailable", "request_timeout", "ratelimited", "rate_limited"}
)


@dataclass
class DeliveryPolicy:
    """The knobs of delivery; the defaults follow Slack's documented limits."""

    pace_interval: float = 1.0  # seconds between messages in one lane (Slack: ~1/s per channel)
    pace_burst: int = 10  # messages a quiet lane may send at once ("short bursts allowed")
    max_failures: int = 10  # retryable failures in a row before a row is dead
    backoff_base: float = 2.0  # first retry after ~2 s, then 4, 8 … (with jitter)
    backoff_cap: float = 300.0
    lease: float = 120.0  # how long a claim lasts before another worker may take the row
    history_limit: int = 200  # messages per page when looking for a key after a crash
    history_pages: int = 5
    rng: random.Random = field(default_factory=random.Random)

    def backoff(self, failures: int) -> timedelta:
        """Exponential backoff with jitter (75–100 % of the step, so delays still grow)."""
        step = min(self.backoff_cap, self.backoff_base * 2 ** max(0, failures - 1))
        return timedelta(seconds=step * self.rng.uniform(0.75, 1.0))


DEFAULT_POLICY = DeliveryPolicy()


@dataclass
class _Claim:
    """What a worker needs to send one claimed row, read in the claim transaction."""

    id: int
    key: str
    token: str
    lane: str
    method: str
    channel: str | None
    dm_user: str | None
    thread_key: str | None
    thread_ts: str | None
    update_key: str | None
    payload: dict[str, Any]
    in_doubt: bool  # before this claim: did an earlier attempt maybe reach Slack?
    failures: int
    claimed_until: datetime


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
) -> int:
    """Claim due rows and send them; return how many were sent (posted or found posted).

    Call it in a loop until it returns 0 to flush everything that is due now
    (a thread reply goes out in the round after its parent)."""
    policy = policy or DEFAULT_POLICY
    claims = claim_due(engine, clock, limit=limit, policy=policy)
    posted: dict[str, tuple[str, str]] = {}  # key -> (channel, ts) posted in this round
    sent = 0
    for claim in claims:
        if clock.now() >= claim.claimed_until - timedelta(seconds=policy.lease / 4):
            _release(engine, claim)  # too little of the lease left: give it back untouched
            continue
        try:
            if deliver_claimed(engine, client, clock, claim, policy=policy, posted=posted):
                sent += 1
        except Exception as exc:  # one bad row must not hold up the rest of the batch
            log.exception("outbox %s: unexpected error; will retry", claim.key)
            _retry(engine, clock, claim, policy, error=f"unexpected: {exc!r}"[:500], in_doubt=True)
    return sent


def claim_due(
    engine: Engine, clock: Clock, *, limit: int = 100, policy: DeliveryPolicy | None = None
) -> list[_Claim]:
    """Atomically take up to `limit` rows that may be sent now (lane heads, paced)."""
    policy = policy or DEFAULT_POLICY
    now = clock.now()
    earlier = aliased(Outbox)
    lane_busy = exists().where(
        earlier.lane == Outbox.lane,
        earlier.state == "pending",
        or_(
            earlier.priority < Outbox.priority,
            and_(earlier.priority == Outbox.priority, earlier.id < Outbox.id),
        ),
    )
    query = (
        select(Outbox)
        .where(
            Outbox.state == "pending",
            Outbox.next_attempt_at <= now,
            or_(Outbox.claimed_until.is_(None), Outbox.claimed_until <= now),  # type: ignore[union-attr]
            ~lane_busy,
        )
        .order_by(Outbox.priority, Outbox.id)  # type: ignore[arg-type]
        .limit(limit)
    )
    if engine.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True, of=Outbox)  # type: ignore[arg-type]
    claims: list[_Claim] = []
    with session_scope(engine) as session:
        rows = session.exec(query).all()
        if not rows:
            return []
        lanes = {r.lane for r in rows}
        paced: dict[str, datetime | None] = dict(
            session.exec(  # type: ignore[call-overload]
                select(Outbox.lane, func.max(Outbox.pace_at))
                .where(Outbox.lane.in_(lanes))
                .group_by(Outbox.lane)  # type: ignore[attr-defined]
            ).all()
        )
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
                _Claim(
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
    claim: _Claim,
    *,
    policy: DeliveryPolicy | None = None,
    posted: dict[str, tuple[str, str]] | None = None,
) -> bool:
    """Send one claimed row and record the outcome; True when it is now sent."""
    policy = policy or DEFAULT_POLICY
    posted = posted if posted is not None else {}
    if claim.method == UPLOAD_METHOD:  # a file (a digest's chart): its own send function
        from jobs.outbox_upload import deliver_upload

        return deliver_upload(engine, client, clock, claim, policy=policy, posted=posted)
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
        _release(engine, claim)
        return False
    except _DependencyDead as exc:
        _finish(engine, claim, state="dead", last_error=str(exc))
        log.warning("outbox %s dead: %s", claim.key, exc)
        return False
    except SlackApiError as exc:
        _record_slack_error(engine, clock, claim, exc, policy)
        return False
    except (OSError, urllib.error.URLError, http.client.HTTPException) as exc:
        # Timeout or broken connection: Slack may or may not have posted it.
        _retry(engine, clock, claim, policy, error=f"{type(exc).__name__}: {exc}", in_doubt=True)
        return False
    channel = response.get("channel") or args.get("channel")
    ts = response.get("ts") or args.get("ts")
    _record_sent(engine, clock, claim, channel, ts)
    posted[claim.key] = (channel, ts)
    return True


# --- building the call ----------------------------------------------------------


def _build_call(
    engine: Engine, client: WebClient, claim: _Claim, posted: dict[str, tuple[str, str]]
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
        link_channel, link_ts = _posted_target(engine, link_key, posted)
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


def _fill_permalink(args: dict[str, Any], permalink: str) -> dict[str, Any]:
    """Replace the `{permalink}` placeholder in text and blocks (a DM linking to a thread)."""
    filled = dict(args)
    safe = permalink.replace("&", "&amp;")  # "?thread_ts=…&cid=…": `&` is markup in mrkdwn
    for name in ("text", "blocks"):
        if name in filled:
            filled[name] = json.loads(json.dumps(filled[name]).replace("{permalink}", safe))
    return filled


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
            status = getattr(exc.response, "status_code", 200)
            if status == 429 or status >= 500 or exc.response.get("error") in RETRYABLE_ERRORS:
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


# --- recording outcomes ------------------------------------------------------------


def _mine(claim: _Claim) -> Any:
    return and_(Outbox.id == claim.id, Outbox.claim_token == claim.token)


def _write(engine: Engine, claim: _Claim, values: dict[str, Any]) -> None:
    # Core, not the ORM: one UPDATE guarded by our claim token, nothing to synchronize.
    with engine.begin() as conn:
        result = conn.execute(update(Outbox).where(_mine(claim)).values(**values))
        if result.rowcount == 0:
            log.warning("outbox %s: our claim expired before we recorded the outcome", claim.key)


def _record_sent(
    engine: Engine, clock: Clock, claim: _Claim, channel: str, ts: str, *, counted: bool = True
) -> None:
    _write(
        engine,
        claim,
        dict(
            state="sent",
            posted_channel=channel,
            posted_ts=ts,
            sent_at=clock.now(),
            attempts=Outbox.attempts + (1 if counted else 0),
            claimed_until=None,
            claim_token=None,
            in_doubt=False,
            last_error=None,
        ),
    )


def _release(engine: Engine, claim: _Claim) -> None:
    """Give the row back as it was: it waits for another message to be posted first."""
    _write(engine, claim, dict(claimed_until=None, claim_token=None, in_doubt=claim.in_doubt, pace_at=None))


def _finish(engine: Engine, claim: _Claim, *, state: str, last_error: str) -> None:
    _write(
        engine,
        claim,
        dict(
            state=state, last_error=last_error, claimed_until=None, claim_token=None, in_doubt=claim.in_doubt
        ),
    )


def _retry(
    engine: Engine,
    clock: Clock,
    claim: _Claim,
    policy: DeliveryPolicy,
    *,
    error: str,
    in_doubt: bool,
    after: timedelta | None = None,
    count_failure: bool = True,
) -> None:
    failures = claim.failures + (1 if count_failure else 0)
    if count_failure and failures >= policy.max_failures:
        log.warning("outbox %s dead after %d failures: %s", claim.key, failures, error)
        _write(
            engine,
            claim,
            dict(
                state="dead",
                last_error=f"gave up after {failures} failed attempts: {error}",
                failures=failures,
                attempts=Outbox.attempts + 1,
                claimed_until=None,
                claim_token=None,
                in_doubt=in_doubt,
            ),
        )
        return
    delay = after if after is not None else policy.backoff(failures)
    log.info("outbox %s: %s; retrying in %.1f s", claim.key, error, delay.total_seconds())
    _write(
        engine,
        claim,
        dict(
            next_attempt_at=clock.now() + delay,
            last_error=error,
            failures=failures,
            attempts=Outbox.attempts + 1,
            claimed_until=None,
            claim_token=None,
            in_doubt=in_doubt,
        ),
    )


def _record_slack_error(
    engine: Engine, clock: Clock, claim: _Claim, exc: SlackApiError, policy: DeliveryPolicy
) -> None:
    response = exc.response
    status = getattr(response, "status_code", 200)
    error = str(response.get("error") or f"http_{status}") if response is not None else str(exc)
    if status == 429:
        # Slack did not post it; wait exactly as long as it asked. Not a failure.
        retry_after = _retry_after(response)
        _retry(
            engine,
            clock,
            claim,
            policy,
            error=f"ratelimited (Retry-After {retry_after:g} s)",
            in_doubt=claim.in_doubt,
            after=timedelta(seconds=retry_after),
            count_failure=False,
        )
    elif status >= 500 or error in RETRYABLE_ERRORS:
        _retry(engine, clock, claim, policy, error=f"{error} (HTTP {status})", in_doubt=True)
    else:
        log.warning("outbox %s dead: %s", claim.key, error)
        _write(
            engine,
            claim,
            dict(
                state="dead",
                last_error=error,
                attempts=Outbox.attempts + 1,
                claimed_until=None,
                claim_token=None,
                in_doubt=claim.in_doubt,
            ),
        )


def _retry_after(response: Any) -> float:
    headers = {str(k).lower(): v for k, v in (getattr(response, "headers", None) or {}).items()}
    raw = headers.get("retry-after")
    if isinstance(raw, list):
        raw = raw[0] if raw else None
    try:
        return max(0.0, float(raw)) if raw is not None else 1.0
    except ValueError:
        return 1.0


# --- operators' view (csbot outbox) -------------------------------------------------


def dead_rows(engine: Engine) -> list[Outbox]:
    """Dead rows, newest first: what `csbot outbox` shows admins."""
    with session_scope(engine) as session:
        return list(
            session.exec(select(Outbox).where(Outbox.state == "dead").order_by(Outbox.id.desc())).all()  # type: ignore[union-attr]
        )


def requeue(engine: Engine, clock: Clock, row_id: int) -> tuple[Outbox | None, bool]:
    """Put a dead row back in the queue, due now, with a fresh failure count.
    Returns the row (None if unknown) and whether it was re-queued."""
    with session_scope(engine) as session:
        row = session.get(Outbox, row_id)
        if row is None or row.state != "dead":
            return row, False
        row.state = "pending"
        row.next_attempt_at = min(clock.now(), row.next_attempt_at)  # due now (it was due before)
        row.failures = 0
        row.claimed_until = None
        row.claim_token = None
        session.add(row)
        session.flush()
        return row, True


# --- the worker thread ---------------------------------------------------------------


class OutboxWorker:
    """Sends Outbox rows in the background: woken by `wakeup` (set after a commit
    that queued rows, see Deps.wake_outbox) and otherwise polling."""

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
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        # Set while the worker waits for a wake-up or its next poll (tests and health checks).
        self.idle = threading.Event()

    def start(self) -> OutboxWorker:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self.wakeup.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.is_set():
            self.wakeup.clear()
            try:
                sent = deliver_due(self.engine, self.client, self.clock, limit=self.batch, policy=self.policy)
            except Exception as exc:  # keep delivering; the row's own state records Slack errors
                log.exception("outbox worker: delivery round failed")
                if self.on_error is not None:
                    self.on_error(exc)
                sent = 0
            if sent == 0:
                self.idle.set()
                self.wakeup.wait(self.poll_seconds)
                self.idle.clear()
