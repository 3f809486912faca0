"""`csbot run` picks Socket Mode or HTTP from the settings and serves the real app."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from typing import Any

import pytest

from bot import runner
from bot.playground.fake_slack import FakeSlack
from bot.settings import Secret, Settings
from models.db import make_engine
from models.migrate import upgrade


@pytest.fixture(autouse=True)
def thawed_heap() -> Iterator[None]:
    """`csbot run` freezes its start-up heap (bot/heap.py); the test process must not keep it frozen."""
    yield
    gc.unfreeze()


@pytest.fixture
def migrated_url(tmp_path: Any) -> str:
    url = f"sqlite:///{tmp_path / 'run.db'}"
    upgrade(make_engine(url))
    return url


def _settings(url: str, fake: FakeSlack, **extra: Any) -> Settings:
    """Settings against the fake Slack: `csbot run` asks auth.test before serving."""
    return Settings(
        slack_bot_token=Secret(fake.bot_token),
        slack_signing_secret=Secret("abcdefgh1234"),
        database_url=url,
        slack_api_url=fake.api_url,
        scheduler_enabled=False,
        **extra,
    )


def test_socket_mode_when_app_token_is_set(
    monkeypatch: pytest.MonkeyPatch, migrated_url: str, fake_slack: FakeSlack
) -> None:
    fake_slack.app_token = "xapp-1-test"
    started: list[tuple[Any, str]] = []

    class FakeSocketModeHandler:
        def __init__(self, app: Any, app_token: str, ack_budget: Any) -> None:
            self.app, self.token = app, app_token
            assert ack_budget() == 2.0

        def start(self) -> None:
            started.append((self.app, self.token))

    import bot.slack.socket_mode as socket_mode

    monkeypatch.setattr(socket_mode, "BudgetedSocketModeHandler", FakeSocketModeHandler)
    monkeypatch.setattr("uvicorn.run", lambda *a, **k: pytest.fail("HTTP server started in Socket Mode"))
    assert runner.run_bot(_settings(migrated_url, fake_slack, slack_app_token=Secret("xapp-1-test"))) == 0
    assert len(started) == 1
    assert started[0][1] == "xapp-1-test"
    assert started[0][0].client.base_url == fake_slack.api_url


def test_http_mode_serves_slack_events_on_port(
    monkeypatch: pytest.MonkeyPatch, migrated_url: str, fake_slack: FakeSlack
) -> None:
    served: list[dict[str, Any]] = []

    def fake_uvicorn_run(asgi: Any, **kwargs: Any) -> None:
        frozen = gc.get_freeze_count() > 0
        served.append({"routes": [r.path for r in asgi.routes], "frozen": frozen, **kwargs})

    gc.unfreeze()
    monkeypatch.setattr("uvicorn.run", fake_uvicorn_run)
    assert runner.run_bot(_settings(migrated_url, fake_slack, port=3456)) == 0
    assert served == [
        {
            "routes": ["/slack/events", "/healthz"],
            "frozen": True,  # the start-up heap is settled before the first request
            "host": "0.0.0.0",
            "port": 3456,
            "log_level": "warning",
            "access_log": False,
        }
    ]


def test_an_escalations_channel_without_the_bot_is_warned_in_the_log_and_to_admins(
    monkeypatch: pytest.MonkeyPatch,
    migrated_url: str,
    fake_slack: FakeSlack,
    capfd: pytest.CaptureFixture[str],
) -> None:
    """The bot still starts (everything else works), logs the problem and DMs each
    admin through the Outbox, which the running worker delivers."""
    delivered: list[bool] = []

    def fake_uvicorn_run(asgi: Any, **kwargs: Any) -> None:
        delivered.append(fake_slack.wait_for(lambda: fake_slack.messages_in("UADMIN"), timeout=10))

    monkeypatch.setattr("uvicorn.run", fake_uvicorn_run)
    settings = _settings(migrated_url, fake_slack, escalation_channel="CNOBOT", admins=("UADMIN",))
    assert runner.run_bot(settings) == 0
    assert delivered == [True]
    warning = (
        "I cannot post escalations: escalations channel #no-bot-here (CNOBOT): the bot is not a member: "
        "/invite @csbot in #no-bot-here. Run `csbot doctor` after fixing it."
    )
    assert [m["text"] for m in fake_slack.messages_in("UADMIN")] == [f":warning: {warning}"]
    assert f"WARNING csbot: start-up check: {warning}" in capfd.readouterr().err


def test_an_invalid_token_stops_start_up_with_one_line(
    migrated_url: str, fake_slack: FakeSlack, capfd: pytest.CaptureFixture[str]
) -> None:
    settings = _settings(migrated_url, fake_slack)
    fake_slack.bot_token = "xoxb-rotated"
    assert runner.run_bot(settings) == 2
    err = capfd.readouterr().err
    assert err.splitlines()[-1] == (
        "csbot: Slack refused auth.test (invalid_auth): SLACK_BOT_TOKEN is wrong: copy the Bot User OAuth "
        "Token (OAuth & Permissions) again"
    )
    assert "Traceback" not in err
