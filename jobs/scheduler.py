"""The scheduler: decides when jobs run; never what they do (PRODUCT.md §6, §7).

- One scheduler acts at a time: the leader holds a PostgreSQL advisory lock on a
  dedicated connection (a file lock next to the database on SQLite). The OS or
  PostgreSQL frees it when the process dies, and a standby that retries every
  `retry_seconds` (15 s by default) takes over within a minute.
- Every run is a JobRun row (job, period) under a unique constraint: a period's
  run happens once across restarts and replicas. A job whose spec wants a
  session runs in the same transaction as its JobRun row, so its writes (and the
  Outbox rows they queue) commit exactly once.
- On taking the lead, every job whose current period's due time has passed and
  that has no run for that period is run at once (a run missed while down).
  `is_leader` is set when the lock is taken, before that catch-up; `caught_up`
  once a sweep has checked every job. A stop requested meanwhile lets the job in
  flight finish and starts no other: the next leader's catch-up does the rest.
- After a run that finished OK, `after_run` is called (csbot run passes
  `deps.wake_outbox`, so the Outbox rows a job queued go out at once).
- APScheduler 3 (BackgroundScheduler) fires the jobs at their times, with
  coalesce=True, a misfire grace time, deterministic ids and replace_existing
  (LESSONS.md); a sweep every minute re-runs the due-check for all jobs, picks up
  new jobs (a new subscription) and retries failed runs.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import tempfile
import threading
import zlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import delete, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from bot.clock import Clock
from bot.schedules import JobNotReady, JobSpec
from models.db import session_scope
from models.tables import JobRun

log = logging.getLogger(__name__)

LOCK_KEY = zlib.crc32(b"csbot-scheduler-leader")  # the advisory lock's id (a stable int)
RETRY_FAILED_AFTER = timedelta(minutes=5)

# Outcomes of run_if_due
NOT_DUE, ALREADY_RAN, OK = "not due", "already ran", "ok"


# --- running one job once per period -----------------------------------------------


def run_if_due(engine: Engine, clock: Clock, spec: JobSpec) -> str:
    """Run `spec` if its current period's run is due and not done yet. Returns
    NOT_DUE, ALREADY_RAN, OK or "error: …" (a failed run is retried later)."""
    now = clock.now()
    period, due = spec.schedule.period(now)
    if due > now:
        return NOT_DUE
    if spec.with_session:
        return _run_in_transaction(engine, clock, spec, period, now)
    return _run_with_engine(engine, clock, spec, period, now)


class _ClaimLost(Exception):
    """Another replica claimed this period first (only the claim's own insert raises
    it: a job's IntegrityError is that job failing, and is recorded as such)."""


def _claim(session: Session, spec: JobSpec, period: str, now: datetime) -> JobRun | None:
    """This period's JobRun row, now ours; None when it ran or is running elsewhere."""
    query = select(JobRun).where(JobRun.job == spec.name, JobRun.period == period)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    run = session.exec(query).first()
    if run is None:
        run = JobRun(job=spec.name, period=period, started_at=now)
    elif (
        run.outcome is not None
        and run.outcome.startswith("error")
        and run.started_at <= now - RETRY_FAILED_AFTER
    ):
        pass  # retry a failed run
    elif run.finished_at is None and run.started_at <= now - spec.stale_after:
        log.warning(
            "job %s %s: the run started at %s never finished; running it again",
            spec.name,
            period,
            run.started_at,
        )
    else:
        return None
    run.started_at, run.finished_at, run.outcome = now, None, None
    session.add(run)
    try:
        session.flush()  # the unique (job, period) decides between two racing replicas
    except IntegrityError as exc:
        raise _ClaimLost from exc
    return run


def _run_in_transaction(engine: Engine, clock: Clock, spec: JobSpec, period: str, now: datetime) -> str:
    try:
        with session_scope(engine) as session:
            run = _claim(session, spec, period, now)
            if run is None:
                return ALREADY_RAN
            spec.fn(session, clock, **spec.kwargs)
            run.finished_at, run.outcome = clock.now(), OK
            session.add(run)
    except _ClaimLost:
        return ALREADY_RAN
    except Exception as exc:
        _log_failure(spec, period, exc)
        return _record_failure(engine, clock, spec, period, now, exc)
    log.info("job %s ran for period %s", spec.name, period)
    return OK


def _run_with_engine(engine: Engine, clock: Clock, spec: JobSpec, period: str, now: datetime) -> str:
    try:
        with session_scope(engine) as session:
            run = _claim(session, spec, period, now)
            if run is None:
                return ALREADY_RAN
            run_id = run.id
    except _ClaimLost:
        return ALREADY_RAN
    try:
        spec.fn(engine, clock, **spec.kwargs)
        outcome = OK
    except Exception as exc:
        _log_failure(spec, period, exc)
        outcome = _error(exc)
    with session_scope(engine) as session:
        run = session.get(JobRun, run_id)
        if run is not None:
            run.finished_at, run.outcome = clock.now(), outcome
            session.add(run)
    if outcome == OK:
        log.info("job %s ran for period %s", spec.name, period)
    return outcome


def _log_failure(spec: JobSpec, period: str, exc: BaseException) -> None:
    if isinstance(exc, JobNotReady):
        log.info("job %s %s not ready (%s); trying again in %s", spec.name, period, exc, RETRY_FAILED_AFTER)
    else:
        log.exception("job %s %s failed", spec.name, period, exc_info=exc)


def _error(exc: BaseException) -> str:
    return f"error: {type(exc).__name__}: {exc}"[:500]


def _record_failure(
    engine: Engine, clock: Clock, spec: JobSpec, period: str, now: datetime, exc: BaseException
) -> str:
    """The job's work was rolled back; keep a JobRun row saying so, so it is retried."""
    outcome = _error(exc)
    try:
        with session_scope(engine) as session:
            run = session.exec(select(JobRun).where(JobRun.job == spec.name, JobRun.period == period)).first()
            run = run or JobRun(job=spec.name, period=period, started_at=now)
            run.started_at, run.finished_at, run.outcome = now, clock.now(), outcome
            session.add(run)
    except IntegrityError:
        pass
    return outcome


def prune_runs(engine: Engine, clock: Clock, keep: timedelta = timedelta(days=90)) -> int:
    """Forget JobRun rows older than `keep` (an every-minute job writes 525,600 a year);
    their periods are long over, so no run can depend on them."""
    with engine.begin() as conn:
        result = conn.execute(delete(JobRun).where(JobRun.started_at < clock.now() - keep))  # type: ignore[arg-type]
        return int(result.rowcount or 0)


def catch_up(engine: Engine, clock: Clock, specs: list[JobSpec]) -> dict[str, str]:
    """Run every job whose current period is due and not done (start-up, and the sweep)."""
    return {spec.name: run_if_due(engine, clock, spec) for spec in specs}


# --- leader locks ---------------------------------------------------------------------


class LeaderLock(Protocol):
    def try_acquire(self) -> bool: ...

    def still_held(self) -> bool: ...

    def release(self) -> None: ...


class PostgresAdvisoryLock:
    """pg_try_advisory_lock on a connection kept open for as long as we lead;
    PostgreSQL frees the lock when that connection (or the process) dies."""

    def __init__(self, engine: Engine, key: int = LOCK_KEY) -> None:
        self.engine = engine
        self.key = key
        self._conn: Connection | None = None

    def try_acquire(self) -> bool:
        if self._conn is not None:
            return self.still_held()
        conn = self.engine.connect()
        try:
            got = bool(conn.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": self.key}).scalar())
            conn.commit()  # a session-level lock outlives the transaction; never sit idle in one
        except Exception:
            conn.invalidate()
            conn.close()
            raise
        if got:
            self._conn = conn
        else:
            conn.close()
        return got

    def still_held(self) -> bool:
        if self._conn is None:
            return False
        try:
            self._conn.execute(text("SELECT 1"))
            self._conn.commit()
            return True
        except Exception:
            log.exception("scheduler: lost the leader lock's connection")
            self._drop()
            return False

    def release(self) -> None:
        if self._conn is None:
            return
        try:
            self._conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": self.key})
            self._conn.commit()
        except Exception:
            log.warning("scheduler: could not unlock cleanly; closing the connection frees it", exc_info=True)
        self._drop()

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.invalidate()  # never hand a connection that holds the lock back to the pool
                conn.close()
            except Exception:
                pass


class FileLock:
    """flock on a file next to the SQLite database; the OS frees it when the process dies."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def try_acquire(self) -> bool:
        if self._fd is not None:
            return True
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        return True

    def still_held(self) -> bool:
        return self._fd is not None

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)


def leader_lock_for(engine: Engine) -> LeaderLock:
    """The lock that fits the database: advisory lock on PostgreSQL, file lock on SQLite."""
    if engine.dialect.name == "postgresql":
        return PostgresAdvisoryLock(engine)
    database = engine.url.database
    if not database or database == ":memory:":
        path = Path(tempfile.gettempdir()) / f"csbot-scheduler-{os.getpid()}.lock"
    else:
        path = Path(database).resolve().with_name(Path(database).name + ".scheduler.lock")
    return FileLock(path)


# --- the service -------------------------------------------------------------------------


class SchedulerService:
    """Standby until it holds the leader lock; then catches up and runs the jobs
    on APScheduler until it stops or loses the lock."""

    def __init__(
        self,
        engine: Engine,
        clock: Clock,
        specs: Callable[[], list[JobSpec]],
        *,
        lock: LeaderLock | None = None,
        retry_seconds: float = 15.0,
        sweep_seconds: float = 60.0,
        misfire_grace_seconds: int = 300,
        after_run: Callable[[], None] | None = None,
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.specs = specs
        self.lock = lock or leader_lock_for(engine)
        self.retry_seconds = retry_seconds
        self.sweep_seconds = sweep_seconds
        self.misfire_grace_seconds = misfire_grace_seconds
        self.after_run = after_run
        # Set while this service holds the leader lock (from before its catch-up).
        self.is_leader = threading.Event()
        # Set, while leading, once a sweep has checked every job (the catch-up is done).
        self.caught_up = threading.Event()
        # Each job's outcome in the last complete sweep (what the catch-up found).
        self.last_sweep: dict[str, Any] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._known: dict[str, JobSpec] = {}
        self._scheduler: BackgroundScheduler | None = None
        self._pruned_at: datetime | None = None

    def start(self) -> SchedulerService:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="csbot-scheduler", daemon=True)
            self._thread.start()
        return self

    def request_stop(self) -> None:
        """Ask the loop to end (signal handlers); `stop` also waits for it."""
        self._stop.set()

    def stop(self, timeout: float = 30.0) -> None:
        """Stop and wait for the loop (the job in flight finishes; the lock is released)."""
        self._stop.set()
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
            if thread.is_alive():  # keep it: a later stop() waits again, start() starts no second loop
                log.warning("scheduler: still finishing a job after %g s", timeout)
            else:
                self._thread = None

    def run_forever(self) -> None:
        """`csbot scheduler`: run in this thread until stopped (SIGTERM/Ctrl-C)."""
        self._run()

    def _run(self) -> None:
        said_standby = False
        while not self._stop.is_set():
            try:
                acquired = self.lock.try_acquire()
            except Exception:
                log.exception("scheduler: could not try the leader lock; retrying")
                acquired = False
            if acquired:
                said_standby = False
                self._lead()
            elif not said_standby:
                log.info(
                    "scheduler: standby, another scheduler holds the leader lock; retrying every %g s",
                    self.retry_seconds,
                )
                said_standby = True
            self._stop.wait(self.retry_seconds)

    def _lead(self) -> None:
        log.info("scheduler: this process is the leader (pid %s)", os.getpid())
        self.is_leader.set()
        scheduler = BackgroundScheduler(
            timezone=UTC,
            job_defaults={
                "coalesce": True,
                "max_instances": 1,
                "misfire_grace_time": self.misfire_grace_seconds,
            },
        )
        self._scheduler = scheduler
        self._known = {}
        try:
            # Missed runs first, then the timetable; when stopping, the next leader's catch-up
            # runs whatever this one did not get to.
            if not self._sweep() and self._stop.is_set():
                return
            scheduler.add_job(
                self._sweep,
                IntervalTrigger(seconds=self.sweep_seconds, timezone=UTC),
                id="csbot:sweep",
                name="sweep",
                replace_existing=True,
            )
            scheduler.start()
            while not self._stop.wait(self.retry_seconds):
                if not self.lock.still_held():
                    log.error("scheduler: lost the leader lock; stopping jobs and going back to standby")
                    break
        except Exception:
            log.exception("scheduler: leading failed; going back to standby")
        finally:
            if scheduler.running:
                scheduler.shutdown(wait=True)  # waits for runs in flight
            self._scheduler = None
            self.caught_up.clear()
            self.is_leader.clear()
            self.lock.release()

    def _sweep(self) -> bool:
        """Sync the timetable with the registry, then run whatever is due and not done.
        True when every job was checked (False: no job list, or cut short by a stop)."""
        try:
            specs = self.specs()
        except Exception:
            log.exception("scheduler: could not list the jobs")
            return False
        self._sync(specs)
        outcomes: dict[str, Any] = {}
        for spec in specs:
            if self._stop.is_set():
                return False
            outcomes[spec.name] = self._tick(spec)
        self.last_sweep = outcomes
        self.caught_up.set()
        now = self.clock.now()
        if self._pruned_at is None or now - self._pruned_at >= timedelta(hours=6):
            self._pruned_at = now
            try:
                prune_runs(self.engine, self.clock)
            except Exception:
                log.exception("scheduler: could not prune old job runs")
        return True

    def _sync(self, specs: list[JobSpec]) -> None:
        scheduler = self._scheduler
        if scheduler is None:
            return
        wanted = {spec.name: spec for spec in specs}
        for name in set(self._known) - set(wanted):
            with contextlib.suppress(Exception):
                scheduler.remove_job(f"csbot:{name}")
            log.info("scheduler: job %s removed", name)
        for name, spec in wanted.items():
            if name in self._known and self._known[name].schedule.describe == spec.schedule.describe:
                self._known[name] = spec
                continue
            scheduler.add_job(
                self._tick_named,
                spec.schedule.trigger,
                args=[name],
                id=f"csbot:{name}",
                name=name,
                replace_existing=True,
            )
            self._known[name] = spec
            log.info("scheduler: job %s scheduled %s", name, spec.schedule.describe)

    def _tick_named(self, name: str) -> None:
        spec = self._known.get(name)
        if spec is not None:
            self._tick(spec)

    def _tick(self, spec: JobSpec) -> Any:
        try:
            outcome = run_if_due(self.engine, self.clock, spec)
        except Exception:
            log.exception("scheduler: job %s could not run", spec.name)
            return None
        if outcome == OK and self.after_run is not None:
            try:
                self.after_run()
            except Exception:
                log.exception("scheduler: after_run failed after job %s", spec.name)
        return outcome
