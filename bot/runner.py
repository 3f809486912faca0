"""`csbot run`: the bot process (HTTP server or Socket Mode)."""

from __future__ import annotations

import logging

from bot.app import build_app
from bot.escalation_policy import load_policy
from bot.logs import configure_logging
from bot.settings import Settings
from models.db import make_engine
from models.migrate import current_revision, head_revision

log = logging.getLogger("csbot")


def run_bot(settings: Settings, port: int | None = None) -> int:
    from bot.scorecard import load_scorecard

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
    if settings.socket_mode:
        from slack_bolt.adapter.socket_mode import SocketModeHandler

        log.info("starting in Socket Mode")
        SocketModeHandler(app, settings.slack_app_token.reveal()).start()  # type: ignore[union-attr]
        return 0
    import uvicorn

    from bot.web import build_asgi

    port = port or settings.port
    log.info("listening on http://0.0.0.0:%s/slack/events", port)
    uvicorn.run(build_asgi(app), host="0.0.0.0", port=port, log_level="warning", access_log=False)
    return 0
