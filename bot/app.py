"""Build the Bolt app and everything it needs, from settings. `csbot run` and
every test call `build_app`; nothing is built at import time."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import App, BoltRequest, BoltResponse
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from sqlalchemy.engine import Engine

from bot.accounts.matching import AccountIndex
from bot.clock import Clock, SystemClock
from bot.deps import Deps
from bot.escalations.policy import load_policy
from bot.health.card import add_health_to_card
from bot.health.scorecard import load_scorecard
from bot.settings import Settings
from bot.slack.once import OnceApp, QuietBoltLog
from bot.slack.redelivery import RedeliveryFilter

log = logging.getLogger(__name__)


def build_client(settings: Settings, *, retries: bool = True, timeout: int = 10) -> WebClient:
    """A WebClient for SLACK_API_URL. Interactive calls (views.open, users.info)
    get slack-sdk's retry handlers; the Outbox worker retries on its own."""
    token = settings.slack_bot_token.reveal() if settings.slack_bot_token else None
    # retry_handlers=[] and not None: slack-sdk's default would re-send a post whose
    # connection dropped after Slack stored it (a duplicate page).
    client = WebClient(token=token, base_url=settings.slack_api_url, timeout=timeout, retry_handlers=[])
    if retries:
        client.retry_handlers = [
            ConnectionErrorRetryHandler(max_retry_count=1),
            RateLimitErrorRetryHandler(max_retry_count=1),
            ServerErrorRetryHandler(max_retry_count=1),
        ]
    return client


def build_app(
    settings: Settings,
    engine: Engine,
    clock: Clock | None = None,
    *,
    client: WebClient | None = None,
    ack_budget_seconds: float = 2.0,
) -> tuple[App, Deps]:
    # A bad policy file stops start-up with one line naming the key (SettingsError).
    escalation_policy = load_policy(settings.escalation_policy_path, settings.tz)
    # A bad CSBOT_SCORECARD stops start-up too.
    scorecard = load_scorecard(settings.scorecard_path)
    client = client or build_client(settings)
    deps = Deps(
        settings=settings,
        engine=engine,
        clock=clock or SystemClock(),
        client=client,
        accounts=AccountIndex(engine),
        ack_budget_seconds=ack_budget_seconds,
        escalation_policy=escalation_policy,
    )
    # The card's health section uses this app's clock and scorecard: it lives on
    # deps, not in the process-wide CARD_SECTIONS, so building apps again (tests,
    # a restart) never adds it twice or leaves one bound to an old clock.
    add_health_to_card(deps.card_sections, deps.clock, scorecard, settings.tz)
    signing_secret = settings.slack_signing_secret.reveal() if settings.slack_signing_secret else None
    bolt_log = logging.getLogger("csbot.bolt")
    if not any(isinstance(f, QuietBoltLog) for f in bolt_log.filters):
        bolt_log.addFilter(QuietBoltLog())
    app = OnceApp(
        client=client,
        signing_secret=signing_secret,
        process_before_response=True,
        token_verification_enabled=False,
        logger=bolt_log,
    )
    redelivery = RedeliveryFilter()
    app.use(redelivery)
    # A malformed payload never reaches a listener, and every write a request
    # causes happens once (bot/slack/once.py).
    app.use_request_keys(engine, deps.clock)
    app.error(_error_handler)

    from handlers import register_all

    register_all(app, deps)
    return app, deps


def _error_handler(
    error: Exception, body: dict[str, Any], respond: Any, request: BoltRequest, logger: logging.Logger
) -> BoltResponse:
    """Anything a listener raised: the user gets a sentence, the log the details, and
    Slack a 200 (the ack already sent, or an empty one) — never a 500, which Slack
    shows as an error and retries."""
    from handlers.cs_command import error_reply

    reply = error_reply(error)
    if respond is not None and isinstance(body, dict) and body.get("response_url"):
        try:
            respond(**reply.as_respond())
        except Exception:  # the reply is best effort; the error is logged either way
            logger.warning("could not send the error reply", exc_info=True)
    acked = request.context.ack.response if request.context.get("ack") is not None else None
    return BoltResponse(status=200, body=acked.body if acked is not None else "")
