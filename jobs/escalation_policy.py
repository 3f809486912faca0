"""The escalation policy job (PRODUCT.md §5): pages whoever is next when an
escalation's acknowledgement deadline passes. The scheduler runs it every
minute; it is safe to run late, twice, or in two processes at once.

Selection is one set-based query (due and still open). Each escalation then
gets its own short transaction in which `run_policy_step` re-checks the state
with a conditional UPDATE right before paging, runs one step only, and stores
the next due time — so a restart loses no page (due times live in the
database) and repeats none (the claim, and Outbox keys per step)."""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy.engine import Engine
from sqlmodel import col, select

from bot.clock import Clock
from bot.escalations.policy_step import run_policy_step
from bot.schedules import JobSpec, every
from bot.settings import Settings
from models.db import session_scope
from models.tables import Escalation

log = logging.getLogger(__name__)

JOB_ID = "escalation_policy"  # the scheduler's job id (deterministic, replace_existing=True)
INTERVAL_SECONDS = 60  # how often the scheduler runs it; an SLA is met to within this


def due_escalations(engine: Engine, clock: Clock, limit: int = 500) -> list[tuple[int, int, object]]:
    """(id, step, next_page_at) of open escalations whose deadline has passed, oldest first."""
    with session_scope(engine) as session:
        rows = session.exec(
            select(Escalation.id, Escalation.step, Escalation.next_page_at)
            .where(
                Escalation.status == "open",
                col(Escalation.next_page_at).is_not(None),
                col(Escalation.next_page_at) <= clock.now(),
            )
            .order_by(col(Escalation.next_page_at), col(Escalation.id))
            .limit(limit)
        ).all()
    return [(int(i), int(s), at) for i, s, at in rows if i is not None]


def run_escalation_policy(
    engine: Engine,
    clock: Clock,
    *,
    limit: int = 500,
    on_written: Callable[[], None] | None = None,
) -> int:
    """Run one due step per escalation; return how many steps paged someone.

    `on_written` (e.g. `deps.wake_outbox`) is called once when pages were queued."""
    paged = 0
    for escalation_id, step, due in due_escalations(engine, clock, limit):
        try:
            with session_scope(engine) as session:
                if run_policy_step(session, clock, escalation_id, step, due):  # type: ignore[arg-type]
                    paged += 1
        except Exception:  # one broken escalation must not stop the pages of the others
            log.exception("escalation policy step failed for escalation %s", escalation_id)
    if paged and on_written is not None:
        on_written()
    return paged


def job_specs(settings: Settings, engine: Engine) -> list[JobSpec]:
    """The scheduler's entry (jobs.registry.JOB_MODULES): the policy every
    INTERVAL_SECONDS. It manages its own short transactions (one per escalation),
    so it runs with the engine, not inside the JobRun transaction; the scheduler
    wakes the Outbox worker after each run (SchedulerService.after_run)."""
    return [JobSpec(JOB_ID, every(INTERVAL_SECONDS), run_escalation_policy, with_session=False)]
