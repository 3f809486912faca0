"""Two real `csbot scheduler` processes on one database (PostgreSQL advisory lock,
SQLite file lock): one leads, the other stands by and takes over after SIGKILL;
a job that fell due while both were down runs once when they come back.

Waits are bounded and on what the processes print (their log lines), never slept."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select

from models.db import session_scope
from models.tables import AuditLog, JobRun

REPO = Path(__file__).resolve().parent.parent
WAIT = 45.0  # seconds; every wait below is bounded by this


class Scheduler:
    """One `csbot scheduler` subprocess; its log lines are collected as they come."""

    def __init__(self, name: str, db_url: str, cwd: Path, seen: threading.Condition, **env: str) -> None:
        self.name = name
        environment = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("CSBOT_", "SLACK_", "DATABASE_URL"))},
            "DATABASE_URL": db_url,
            "CSBOT_LOG_LEVEL": "INFO",
            "PYTHONPATH": str(REPO),
            "PYTHONUNBUFFERED": "1",
            **env,
        }
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "bot.cli",
                "scheduler",
                "--lock-retry",
                "0.5",
                "--jobs",
                "tests.scheduler_jobs",
            ],
            cwd=cwd,
            env=environment,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.log: list[str] = []
        self._seen = seen
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    @property
    def pid(self) -> int:
        return self.proc.pid

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            with self._seen:
                self.log.append(line)
                self._seen.notify_all()

    def count(self, pattern: str) -> int:
        return sum(1 for line in list(self.log) if re.search(pattern, line))

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=WAIT)


class Cluster:
    def __init__(self, db_url: str, cwd: Path) -> None:
        self.db_url = db_url
        self.cwd = cwd
        self.seen = threading.Condition()
        self.procs: dict[str, Scheduler] = {}

    def start(self, name: str, **env: str) -> Scheduler:
        self.procs[name] = Scheduler(name, self.db_url, self.cwd, self.seen, **env)
        return self.procs[name]

    def wait_for(self, pattern: str, names: set[str], times: int = 1) -> str:
        """The first of `names` whose log has `times` lines matching `pattern` (bounded wait)."""

        def found() -> str | None:
            return next((n for n in sorted(names) if self.procs[n].count(pattern) >= times), None)

        with self.seen:
            if not self.seen.wait_for(lambda: found() is not None, timeout=WAIT):
                logs = {n: "".join(p.log[-15:]) for n, p in self.procs.items()}
                raise AssertionError(f"no {pattern!r} x{times} from {names} within {WAIT} s; logs: {logs}")
        name = found()
        assert name is not None
        return name

    def stop_all(self) -> None:
        for proc in self.procs.values():
            if proc.proc.poll() is None:
                proc.proc.kill()
                proc.proc.wait(timeout=WAIT)


@pytest.fixture
def cluster(db_url: str, tmp_path: Path) -> Iterator[Cluster]:
    group = Cluster(db_url, tmp_path)
    try:
        yield group
    finally:
        group.stop_all()


def _who_ran(engine: Engine, action: str) -> list[str]:
    with session_scope(engine) as s:
        rows = s.exec(select(AuditLog).where(AuditLog.action == action).order_by(AuditLog.id)).all()
        return [r.actor_slack_id for r in rows]


def _periods(engine: Engine, job: str) -> list[str]:
    with session_scope(engine) as s:
        return [r.period for r in s.exec(select(JobRun).where(JobRun.job == job)).all()]


LEADER = r"this process is the leader"
STANDBY = r"scheduler: standby"
BEAT = r"job beat ran for period"


def test_one_leader_standby_takes_over_after_sigkill_and_missed_job_runs_once(
    cluster: Cluster, engine: Engine
) -> None:
    a = cluster.start("a")
    cluster.wait_for(LEADER, {"a"})
    b = cluster.start("b")
    cluster.wait_for(STANDBY, {"b"})
    cluster.wait_for(BEAT, {"a"}, times=3)
    # Only the leader ran jobs; each period once.
    assert set(_who_ran(engine, "test.beat")) == {f"pid:{a.pid}"}
    assert b.count(BEAT) == 0 and b.count(LEADER) == 0
    periods = _periods(engine, "beat")
    assert len(periods) == len(set(periods)) >= 3

    a.kill()
    cluster.wait_for(LEADER, {"b"})
    cluster.wait_for(BEAT, {"b"})
    assert _who_ran(engine, "test.beat")[-1] == f"pid:{b.pid}"
    periods = _periods(engine, "beat")
    assert len(periods) == len(set(periods))

    # Both down; a job falls due meanwhile; two schedulers come back.
    b.kill()
    due = str(time.time())
    cluster.start("c", CSBOT_TEST_MISSED_DUE=due)
    cluster.start("d", CSBOT_TEST_MISSED_DUE=due)
    first = cluster.wait_for(LEADER, {"c", "d"})
    second = "d" if first == "c" else "c"
    cluster.wait_for(r"job missed ran for period once", {first})
    cluster.wait_for(STANDBY, {second})
    # When that leader dies too, the next one finds the run done and does not repeat it.
    cluster.procs[first].kill()
    cluster.wait_for(LEADER, {second})
    cluster.wait_for(BEAT, {second})  # its start-up sweep has checked `missed` (listed first)
    assert cluster.procs[second].count(r"job missed ran") == 0
    assert _who_ran(engine, "test.missed") == [f"pid:{cluster.procs[first].pid}"]
    assert _periods(engine, "missed") == ["once"]
