"""Fixtures for tests that talk to Slack: the fake Web API, the running app
over HTTP, signed requests, and a clock moved by hand. Loaded by conftest."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from slack_bolt import App
from sqlalchemy.engine import Engine

from bot.app import build_app
from bot.clock import ManualClock
from bot.deps import Deps
from bot.playground.fake_slack import FakeSlack
from bot.settings import Secret, Settings
from bot.slack.web import build_asgi
from jobs.outbox import OutboxWorker
from tests.app_server import AppServer
from tests.signing import SlackSender

SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
BOT_TOKEN = "xoxb-test-token"
# Friday 20 Nov 2026, 15:00 UTC (10:00 in New York).
START = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)

# The workspace the fake knows: people and channels most tests use.
USERS = {
    "UCSM1": {"name": "casey", "email": "casey@example.com", "tz": "America/New_York"},
    "UCSM2": {"name": "robin", "email": "robin@example.com", "tz": "Europe/Paris"},
    "UDIR1": {"name": "dana", "email": "dana@example.com", "tz": "America/New_York"},
    "UEXEC1": {"name": "eve", "email": "eve@example.com", "tz": "America/Los_Angeles"},
    "UADMIN": {"name": "alex", "email": "alex@example.com", "tz": "UTC"},
    "UOUT1": {"name": "olly", "email": "olly@example.com", "tz": "Asia/Tokyo"},
}
CHANNELS = {"CGENERAL": "general", "CESC": "escalations", "CALERTS": "cs-alerts", "CDIGEST": "cs-leads"}


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    fake = FakeSlack(bot_token=BOT_TOKEN).start()
    for user_id, info in USERS.items():
        fake.add_user(user_id, name=info["name"], email=info["email"], tz=info["tz"])
    for channel_id, name in CHANNELS.items():
        fake.add_channel(channel_id, name=name)
    fake.add_channel("CNOBOT", name="no-bot-here", bot_is_member=False)
    try:
        yield fake
    finally:
        fake.stop()


@pytest.fixture
def settings(fake_slack: FakeSlack, db_url: str) -> Settings:
    return Settings(
        slack_bot_token=Secret(BOT_TOKEN),
        slack_signing_secret=Secret(SIGNING_SECRET),
        database_url=db_url,
        slack_api_url=fake_slack.api_url,
        escalation_channel="CESC",
        admins=("UADMIN",),
        tz="America/New_York",
        scheduler_enabled=False,
    )


def seed_touchpoint(engine: Engine, clock: ManualClock, *, author: str = "UCSM1") -> int:
    """One account (Acme) with one touchpoint by `author`, now; returns the touchpoint id."""
    from models.db import session_scope
    from models.tables import Account, Touchpoint

    now = clock.now()
    with session_scope(engine) as s:
        account = Account(name="Acme", arr_cents=100, created_at=now, updated_at=now)
        s.add(account)
        s.flush()
        tp = Touchpoint(
            account_id=account.id, author_slack_id=author, type="call", occurred_at=now, created_at=now
        )
        s.add(tp)
        s.flush()
        return tp.id  # type: ignore[return-value]


@dataclass
class Bot:
    """The running app and what tests need around it."""

    app: App
    deps: Deps
    server: AppServer
    send: SlackSender
    fake: FakeSlack
    clock: ManualClock
    engine: Engine


@pytest.fixture
def bot(settings: Settings, engine: Engine, clock: ManualClock, fake_slack: FakeSlack) -> Iterator[Bot]:
    app, deps = build_app(settings, engine, clock, ack_budget_seconds=2.0)
    server = AppServer(build_asgi(app, lambda: deps.ack_budget_seconds)).start()
    sender = SlackSender(server.url, SIGNING_SECRET, response_url_factory=fake_slack.response_url)
    try:
        yield Bot(app=app, deps=deps, server=server, send=sender, fake=fake_slack, clock=clock, engine=engine)
    finally:
        sender.close()
        server.stop()
        deps.executor.shutdown(wait=True)


# =============================================================================
# Outbox worker (PRODUCT.md §6.3)
#
# `outbox_worker`: the delivery worker running in the background for the `bot`
# under test, woken by `bot.deps.wake_outbox()` like in `csbot run`, so an
# end-to-end test sees a queued message appear in the fake without calling
# deliver_due: `bot.fake.wait_for(lambda: bot.fake.messages_in("C…"))`.
# =============================================================================


@pytest.fixture
def outbox_worker(bot: Bot, settings: Settings) -> Iterator[OutboxWorker]:
    from bot.app import build_client

    client = build_client(settings, retries=False)
    worker = OutboxWorker(
        bot.engine, client, bot.clock, wakeup=bot.deps.outbox_wakeup, poll_seconds=0.05, name="test-outbox"
    ).start()
    try:
        yield worker
    finally:
        worker.stop()
