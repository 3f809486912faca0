"""Recording what happened to one claimed Outbox row (PRODUCT.md §6.3): sent,
retried later, given back, or dead. Every write is one UPDATE guarded by the
claim's token, so a worker whose lease ran out cannot overwrite another's result.

Retry rules, in one place:
- 429: wait exactly the Retry-After Slack gave; not a failure.
- 5xx, timeouts, connection errors: exponential backoff with jitter. A page
  (a row of an escalation that is still unacknowledged) backs off to at most
  about a minute and is never given up on; any other row is dead after
  `max_failures` failures in a row.
- After a timeout the next attempt waits at least `after_timeout`: Slack may still
  store the post it did not answer, and the history check must be able to see it.
- A permanent error (channel_not_found, not_in_channel, invalid_blocks, invalid_auth…)
  is dead at once, and surfaced (see jobs/outbox.py `_surface_dead`).
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from slack_sdk.errors import SlackApiError
from sqlalchemy import and_, update
from sqlalchemy.engine import Engine

from bot.clock import Clock
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
    max_failures: int = 10  # retryable failures in a row before a row that is not a page is dead
    backoff_base: float = 2.0  # first retry after ~2 s, then 4, 8 … (with jitter)
    backoff_cap: float = 300.0
    page_backoff_cap: float = 45.0  # a page is retried at least this often while unacknowledged
    after_timeout: float = 20.0  # after a timeout, give a late post this long to appear in history
    # A claim lasts this long unless the worker's heartbeat renews it: a crashed
    # worker's rows are taken over within seconds.
    lease: float = 10.0
    history_limit: int = 200  # messages per page when looking for a key after a crash
    history_pages: int = 5
    rng: random.Random = field(default_factory=random.Random)

    def backoff(self, failures: int, *, page: bool = False) -> timedelta:
        """Exponential backoff with jitter (75–100 % of the step, so delays still grow)."""
        cap = self.page_backoff_cap if page else self.backoff_cap
        step = min(cap, self.backoff_base * 2 ** max(0, failures - 1))
        return timedelta(seconds=step * self.rng.uniform(0.75, 1.0))


DEFAULT_POLICY = DeliveryPolicy()


@dataclass
class Claim:
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
    escalation_id: int | None = None
    live_page: bool = False  # a page of an escalation nobody has acknowledged yet


# Called with (claim, error) after a row is marked dead.
DeadHook = Callable[[Claim, str], None]


def _mine(claim: Claim) -> Any:
    return and_(Outbox.id == claim.id, Outbox.claim_token == claim.token)


def write(engine: Engine, claim: Claim, values: dict[str, Any]) -> bool:
    """One UPDATE guarded by our claim token; False when our claim was taken over."""
    with engine.begin() as conn:
        result = conn.execute(update(Outbox).where(_mine(claim)).values(**values))
        if result.rowcount == 0:
            log.warning("outbox %s: our claim expired before we recorded the outcome", claim.key)
            return False
    return True


def record_sent(
    engine: Engine, clock: Clock, claim: Claim, channel: str, ts: str, *, counted: bool = True
) -> None:
    write(
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


def release(engine: Engine, claim: Claim) -> None:
    """Give the row back as it was: it waits for another message to be posted first."""
    write(engine, claim, dict(claimed_until=None, claim_token=None, in_doubt=claim.in_doubt, pace_at=None))


def mark_dead(
    engine: Engine, claim: Claim, error: str, on_dead: DeadHook | None, *, counted: bool, **values: Any
) -> None:
    """Dead with its error, and surfaced at once through `on_dead`."""
    log.warning("outbox %s dead: %s", claim.key, error)
    done = write(
        engine,
        claim,
        dict(
            state="dead",
            last_error=error,
            attempts=Outbox.attempts + (1 if counted else 0),
            claimed_until=None,
            claim_token=None,
            in_doubt=values.pop("in_doubt", claim.in_doubt),
            **values,
        ),
    )
    if done and on_dead is not None:
        on_dead(claim, error)


def retry(
    engine: Engine,
    clock: Clock,
    claim: Claim,
    policy: DeliveryPolicy,
    *,
    error: str,
    in_doubt: bool,
    after: timedelta | None = None,
    at_least: timedelta | None = None,
    count_failure: bool = True,
    on_dead: DeadHook | None = None,
) -> None:
    failures = claim.failures + (1 if count_failure else 0)
    if count_failure and failures >= policy.max_failures and not claim.live_page:
        mark_dead(
            engine,
            claim,
            f"gave up after {failures} failed attempts: {error}",
            on_dead,
            counted=True,
            failures=failures,
            in_doubt=in_doubt,
        )
        return
    delay = after if after is not None else policy.backoff(failures, page=claim.live_page)
    if at_least is not None:
        delay = max(delay, at_least)
    log.info("outbox %s: %s; retrying in %.1f s", claim.key, error, delay.total_seconds())
    write(
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


def is_retryable(exc: SlackApiError) -> bool:
    status = getattr(exc.response, "status_code", 200)
    return status == 429 or status >= 500 or exc.response.get("error") in RETRYABLE_ERRORS


def record_slack_error(
    engine: Engine,
    clock: Clock,
    claim: Claim,
    exc: SlackApiError,
    policy: DeliveryPolicy,
    on_dead: DeadHook | None = None,
) -> None:
    response = exc.response
    status = getattr(response, "status_code", 200)
    error = str(response.get("error") or f"http_{status}") if response is not None else str(exc)
    if status == 429:
        # Slack did not post it; wait exactly as long as it asked. Not a failure.
        retry_after = _retry_after(response)
        retry(
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
        retry(engine, clock, claim, policy, error=f"{error} (HTTP {status})", in_doubt=True, on_dead=on_dead)
    else:
        mark_dead(engine, claim, error, on_dead, counted=True)


def _retry_after(response: Any) -> float:
    headers = {str(k).lower(): v for k, v in (getattr(response, "headers", None) or {}).items()}
    raw = headers.get("retry-after")
    if isinstance(raw, list):
        raw = raw[0] if raw else None
    try:
        return max(0.0, float(raw)) if raw is not None else 1.0
    except ValueError:
        return 1.0
