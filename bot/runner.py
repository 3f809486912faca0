"""`csbot run`: the bot process (HTTP server or Socket Mode)."""

from __future__ import annotations

import logging
import sys
from typing import Any

from bot.app import build_app, build_client
from bot.delivery.admin_notices import warn_admins
from bot.deps import Deps
from bot.doctor import startup_check
from bot.escalations.policy import load_policy
from bot.heap import settle_startup_heap
from bot.logs import configure_logging
from bot.settings import Settings, sqlite_file, startup_line
from models.db import make_engine
from models.migrate import current_revision, head_revision

log = logging.getLogger("csbot")


def run_bot(settings: Settings, port: int | None = None) -> int:
    from bot.health.scorecard import load_scorecard

    load_scorecard(settings.scorecard_path)  # a bad CSBOT_SCORECARD stops start-up before anything else
    configure_logging(settings.log_level)
    # Fail fast on a bad CSBOT_ESCALATION_POLICY (one line naming the key), before touching the database.
    load_policy(settings.escalation_policy_path, settings.tz)
    print(startup_line(settings), file=sys.stderr)
    file = sqlite_file(settings.database_url)
    if file is not None and not file.exists():  # never create an empty database here
        print(f"csbot: there is no database at {file}: run `csbot db upgrade` to create it.", file=sys.stderr)
        return 2
    engine = make_engine(settings.database_url)
    current, head = current_revision(engine), head_revision()
    if current != head:
        print(
            f"csbot: the database is at revision {current or 'empty'} but this version needs {head}: "
            "run `csbot db upgrade` first.",
            file=sys.stderr,
        )
        return 2
    workspace: dict[str, Any] = {}
    fatal, warnings = startup_check(settings, build_client(settings, retries=False), workspace)
    if fatal is not None:
        print(f"csbot: {fatal}", file=sys.stderr)
        return 2
    app, deps = build_app(settings, engine)
    deps.workspace.set(workspace.get("url"))
    for warning in warnings:
        log.warning("start-up check: %s", warning)
    if warn_admins(deps.engine, deps.clock, settings, warnings):
        deps.wake_outbox()
    background = start_background(settings, deps)
    settle_startup_heap()
    try:
        if settings.socket_mode:
            from bot.slack.socket_mode import BudgetedSocketModeHandler

            log.info("starting in Socket Mode")
            token = settings.slack_app_token.reveal()  # type: ignore[union-attr]
            BudgetedSocketModeHandler(app, token, lambda: deps.ack_budget_seconds).start()
            return 0
        import uvicorn

        from bot.slack.web import build_asgi

        port = port or settings.port
        log.info("listening on http://0.0.0.0:%s/slack/events", port)
        uvicorn.run(
            build_asgi(app, lambda: deps.ack_budget_seconds),
            host="0.0.0.0",
            port=port,
            log_level="warning",
            access_log=False,
        )
        return 0
    finally:
        for service in reversed(background):
            service.stop()


def start_background(settings: Settings, deps: Deps) -> list[Any]:
    """The Outbox worker (always) and the scheduler (unless CSBOT_SCHEDULER=off).
    Each `csbot run` replica delivers; only the leader's scheduler acts. A separate
    `csbot scheduler` process cannot wake this worker: its rows go out at the next poll."""
    from bot.app import build_client
    from jobs.outbox import OutboxWorker
    from jobs.registry import load_specs
    from jobs.scheduler import SchedulerService

    # No slack-sdk retry handlers: the worker retries by rescheduling, never by sleeping.
    client = build_client(settings, retries=False)
    # Admins (CSBOT_ADMINS and the team's) are DMed about messages Slack refused.
    worker = OutboxWorker(deps.engine, client, deps.clock, wakeup=deps.outbox_wakeup, admins=settings.admins)
    services: list[Any] = [worker.start()]
    if settings.scheduler_enabled:
        engine = deps.engine
        # A job's Outbox rows go out at once: the scheduler wakes this process's worker after each run.
        services.append(
            SchedulerService(
                engine, deps.clock, lambda: load_specs(settings, engine), after_run=deps.wake_outbox
            ).start()
        )
    else:
        log.info("scheduler off (CSBOT_SCHEDULER=off): run `csbot scheduler` separately")
    return services


# --- csbot demo and csbot playground (PRODUCT.md §7, §7.1) -------------------------------


def fresh_sqlite(path: Any) -> str:
    """A new, empty SQLite database at `path` (its old file, WAL and journal removed)."""
    from pathlib import Path

    path = Path(path)
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path}"


def demo_settings(database_url: str, **overrides: Any) -> Settings:
    """The settings the sample team runs on: its own database, its channels, its admin."""
    from bot.playground import demo_data
    from bot.playground.team import TEAM

    values: dict[str, Any] = {
        "database_url": database_url,
        "escalation_channel": demo_data.ESCALATION_CHANNEL,
        "admins": tuple(p.slack_id for p in TEAM if p.role == "admin"),
        "tz": demo_data.TZ,
        "scheduler_enabled": False,
        **overrides,
    }
    return Settings(**values)


def seed_demo(database_url: str) -> dict[str, int]:
    """Migrate a new database and write the sample portfolio into it."""
    from bot.playground import demo_data
    from models.db import session_scope
    from models.migrate import upgrade

    engine = make_engine(database_url)
    try:
        upgrade(engine)
        with session_scope(engine) as session:
            return demo_data.seed(session)
    finally:
        engine.dispose()


def run_demo(path: Any, echo: Any = print) -> int:
    """`csbot demo`: the sample portfolio in its own database, scored at the demo's
    fixed moment; prints what the alerts and the weekly digest would post. No Slack,
    no token; the same output on every run."""
    from sqlalchemy import select

    from bot.clock import ManualClock
    from bot.playground import demo_data
    from bot.playground.team import CHANNELS, TEAM
    from bot.playground.text import render
    from jobs.health import run_health
    from models.db import session_scope
    from models.tables import Outbox

    url = fresh_sqlite(path)
    counts = seed_demo(url)
    settings = demo_settings(url)
    engine = make_engine(url)
    try:
        clock = ManualClock(demo_data.DEMO_NOW)
        result = run_health(engine, clock, settings)
        rows_written = ", ".join(f"{n} {k}" for k, n in counts.items())
        echo(f"csbot demo: sample portfolio in {path} ({rows_written})")
        echo(f"Scored at {demo_data.DEMO_NOW:%A %d %B %Y %H:%M} UTC: {result.summary()}.")
        names = {p.slack_id: p.name for p in TEAM} | {c.id: c.name for c in CHANNELS}
        with session_scope(engine) as session:
            rows = session.execute(select(Outbox).order_by(Outbox.id)).scalars().all()  # type: ignore[arg-type]
            posts = [(r.channel or f"@{names.get(r.dm_user or '', r.dm_user)}", r.payload) for r in rows]
        for channel, payload in posts:
            echo("")
            echo(f"--- would post to #{names.get(channel, channel)} ---")
            echo(render(payload.get("blocks"), payload.get("text") or "", names))
        echo("")
        echo(digest_preview(engine, clock, settings))
        return 0
    finally:
        engine.dispose()


def digest_preview(engine: Any, clock: Any, settings: Settings) -> str:
    """The weekly digest #cs-leadership would get (its last complete week), as text."""
    from bot.digest.commands import preview_digest
    from bot.playground.team import CHANNELS, LEADERSHIP, TEAM
    from bot.playground.text import plain

    names = {p.slack_id: p.name for p in TEAM} | {c.id: c.name for c in CHANNELS}
    text = plain(preview_digest(engine, settings, clock, channel=LEADERSHIP.id), names)
    return f"--- would post to #{LEADERSHIP.name} on Monday at 09:00 (the weekly digest) ---\n{text}"


class ClockAdvancer:
    """Moves the playground's clock and runs what falls due on the way (scoring, alerts,
    re-pages up the chain, the digest) with the scheduler's own due-check per job, in
    steps: 5 minutes for an hour (SLAs are minutes), 15 for longer jumps. A job whose
    period's run is done is not asked again within that period. Then the Outbox goes."""

    STEPS = {"hour": 5, "day": 15, "monday": 15}  # minutes

    def __init__(self, clock: Any, engine: Any, specs: Any, after: Any, tz: str) -> None:
        import threading

        self.clock, self.engine, self.specs, self.after, self.tz = clock, engine, specs, after, tz
        self._lock = threading.Lock()
        self._done: dict[str, str] = {}  # job name -> the period whose run is done

    def now(self) -> Any:
        return self.clock.now()

    def advance(self, step: str) -> Any:
        from datetime import timedelta

        from bot.playground.clock import target_of
        from jobs.scheduler import ALREADY_RAN, OK, run_if_due

        with self._lock:
            target = target_of(step, self.clock.now(), self.tz)
            stride = timedelta(minutes=self.STEPS.get(step, 5))
            specs = self.specs()
            while self.clock.now() < target:
                self.clock.jump(min(stride, target - self.clock.now()))
                for spec in specs:
                    period = spec.period_key(self.clock.now())
                    if self._done.get(spec.name) == period:
                        continue
                    if run_if_due(self.engine, self.clock, spec) in (OK, ALREADY_RAN):
                        self._done[spec.name] = period
                self.after()
            return self.clock.now()


class Playground:
    """`csbot playground`: the real bot (build_app, the signed HTTP front door, the
    scheduler and the Outbox worker) against the in-process fake Slack on 127.0.0.1,
    with the page at http://127.0.0.1:PORT/. Tests start and stop it like this too."""

    def __init__(self, data_dir: Any, *, port: int = 3000, fresh: bool = False) -> None:
        import secrets
        import socket
        from pathlib import Path

        from bot.playground import demo_data
        from bot.playground.clock import PlaygroundClock
        from bot.playground.fake_slack import FakeSlack
        from bot.settings import Secret

        self.path = Path(data_dir) / "csbot-playground.db"
        self.fresh = fresh or not self.path.exists()
        if self.fresh:
            self.url = fresh_sqlite(self.path)
            seed_demo(self.url)
        else:
            from models.migrate import upgrade

            self.url = f"sqlite:///{self.path}"
            upgrade(make_engine(self.url))
        token = "xoxb-playground-" + secrets.token_hex(12)
        self.secret = secrets.token_hex(16)
        self.fake = FakeSlack(bot_token=token, team_id="TPLAYGROUND").start()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port))
        self.sock.listen(128)
        self.port = self.sock.getsockname()[1]
        self.settings = demo_settings(
            self.url, slack_bot_token=Secret(token), slack_signing_secret=Secret(self.secret),
            slack_api_url=self.fake.api_url, scheduler_enabled=True, port=self.port,
        )
        self.clock = PlaygroundClock(self._resume_at(demo_data.DEMO_NOW))
        self._thread: Any = None
        self.server: Any = None
        self.background: list[Any] = []

    def _resume_at(self, start: Any) -> Any:
        """A playground started again goes on from the last moment its scheduler saw."""
        from sqlalchemy import func, select

        from models.tables import JobRun

        if self.fresh:
            return start
        engine = make_engine(self.url)
        try:
            with engine.connect() as conn:
                last = conn.execute(select(func.max(JobRun.started_at))).scalar()
        finally:
            engine.dispose()
        if isinstance(last, str):  # SQLite through a bare Core select: ISO text
            from datetime import datetime

            last = datetime.fromisoformat(last)
        if last is not None and last.tzinfo is None:
            from datetime import UTC

            last = last.replace(tzinfo=UTC)
        return max(start, last) if last is not None else start

    @property
    def page_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def start(self) -> Playground:
        import asyncio
        import threading

        import uvicorn

        from bot.playground.sender import SlackSender
        from bot.playground.web import build_playground_asgi
        from bot.playground.workspace import Workspace
        from bot.slack.web import build_asgi
        from jobs.registry import load_specs

        self.engine = make_engine(self.url)
        app, self.deps = build_app(self.settings, self.engine, self.clock)
        self.workspace = Workspace(
            self.fake, SlackSender(f"{self.page_url}slack/events", self.secret, team_id=self.fake.team_id)
        )
        self.workspace.populate()
        self.advancer = ClockAdvancer(
            self.clock, self.engine, lambda: load_specs(self.settings, self.engine), self.deps.wake_outbox,
            self.settings.tz,
        )
        asgi = build_playground_asgi(
            self.workspace, self.advancer, build_asgi(app, lambda: self.deps.ack_budget_seconds),
            tz=self.settings.tz,
        )
        config = uvicorn.Config(asgi, log_level="warning", access_log=False, lifespan="off")
        self.server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=lambda: asyncio.run(self.server.serve(sockets=[self.sock])), daemon=True, name="playground"
        )
        self._thread.start()
        self.background = start_background(self.settings, self.deps)
        return self

    def stop(self) -> None:
        for service in reversed(self.background):
            service.stop()
        if self.server is not None:
            self.server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        self.sock.close()
        self.deps.executor.shutdown(wait=True)
        self.fake.stop()
        self.engine.dispose()


def run_playground(data_dir: Any, *, port: int = 3000, fresh: bool = False, echo: Any = print) -> int:
    """Start the playground and serve until Ctrl-C."""
    import threading

    configure_logging("WARNING")
    try:
        playground = Playground(data_dir, port=port, fresh=fresh).start()
    except OSError as exc:
        echo(f"csbot: cannot listen on 127.0.0.1:{port} ({exc.strerror}): try --port 3001")
        return 2
    settle_startup_heap()
    echo(f"csbot playground: {'a fresh' if playground.fresh else 'your'} sample team in {playground.path}")
    echo(f"Open {playground.page_url}  (Ctrl-C to stop; nothing leaves 127.0.0.1)")
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        echo("stopping")
    finally:
        playground.stop()
    return 0
