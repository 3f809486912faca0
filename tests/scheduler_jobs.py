"""Jobs for the scheduler's process tests (`csbot scheduler --jobs tests.scheduler_jobs`).

- `missed`: due once, at the epoch second in CSBOT_TEST_MISSED_DUE (set by the test
  to a moment when no scheduler was running); absent without that variable.
- `beat`: every second. Both record the process that ran them in the AuditLog.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

from apscheduler.triggers.date import DateTrigger
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.clock import Clock
from bot.schedules import JobSpec, Schedule, every
from bot.settings import Settings
from models.tables import AuditLog


def _record(action: str) -> Any:
    def job(session: Session, clock: Clock) -> None:
        session.add(
            AuditLog(at=clock.now(), actor_slack_id=f"pid:{os.getpid()}", action=action, entity="scheduler")
        )

    return job


def job_specs(settings: Settings, engine: Engine) -> list[JobSpec]:
    specs = []
    raw = os.environ.get("CSBOT_TEST_MISSED_DUE")
    if raw:
        due = datetime.fromtimestamp(float(raw), UTC)
        once = Schedule(DateTrigger(run_date=due, timezone=UTC), lambda now: ("once", due), "once")
        specs.append(JobSpec("missed", once, _record("test.missed")))
    specs.append(JobSpec("beat", every(1), _record("test.beat")))
    return specs
