"""What the scheduler runs: the job modules and their specs.

Features add their jobs by listing a module in JOB_MODULES; the module defines
`job_specs(settings, engine) -> list[JobSpec]`. It is called again every minute,
so jobs that follow data (a digest per Subscription) appear and disappear as
the data changes. The spec and schedule types are in `bot/schedules.py`.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Iterable

from sqlalchemy.engine import Engine

from bot.schedules import JobSpec
from bot.settings import Settings

log = logging.getLogger(__name__)

# Modules whose `job_specs(settings, engine)` the scheduler runs. The features add
# theirs here (e.g. "jobs.digest"). Imported lazily by load_specs (no import cycle).
JOB_MODULES: list[str] = [
    "jobs.escalation_policy",  # every minute: re-page / page up when an SLA is missed (§5)
    "jobs.health",  # daily at 07:00 CSBOT_TZ: health snapshots; each alerts subscription at its time (§4)
    "jobs.digest",  # each digest subscription at its day and time: last week's digest (§6.2)
]

# --- the registry -----------------------------------------------------------------


def load_specs(settings: Settings, engine: Engine, modules: Iterable[str] = ()) -> list[JobSpec]:
    """Every job spec of JOB_MODULES and `modules` (a module that fails is logged, not fatal)."""
    specs: dict[str, JobSpec] = {}
    for name in [*JOB_MODULES, *modules]:
        try:
            module = importlib.import_module(name)
            found = module.job_specs(settings, engine)
        except Exception:
            log.exception("scheduler: could not load the jobs of %s", name)
            continue
        for spec in found:
            specs[spec.name] = spec
    return list(specs.values())
