"""`csbot run`: the bot process (HTTP server or Socket Mode)."""

from __future__ import annotations

import logging
from typing import Any

from bot.app import build_app
from bot.deps import Deps
from bot.escalations.policy import load_policy
from bot.logs import configure_logging
from bot.settings import Settings
from models.db import make_engine
from models.migrate import current_revision, head_revision

log = logging.getLogger("csbot")


def run_bot(settings: Settings, port: int | None = None) -> int:
    from bot.health.scorecard import load_scorecard

    load_scorecard(settings.scorecard_path)  # a bad CSBOT_SCORECARD stops start-up before anything else
    configure_logging(settings.log_level)
    # Fail fast on a bad CSBOT_ESCALATION_POLICY (one line naming the key), before touching the database.
    load_policy(settings.escalation_policy_path, settings.tz)
    engine = make_engine(settings.database_url)
    current, head = current_revision(engine), head_revision()
    if current != head:
        print(
            f"csbot: the database is at revision {current or 'empty'} but this version needs {head}: "
            "run `csbot db upgrade` first."
        )
        return 2
    app, deps = build_app(settings, engine)
    background = start_background(settings, deps)
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
