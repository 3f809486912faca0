"""Users' time zones: fetched once per user, kept for the TTL, team zone on failure."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from bot.slack.users import UserDirectory, slack_fetch
from tests.harness import Bot

UTC_ZONE = ZoneInfo("UTC")


class Ticker:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def test_zone_is_cached_for_the_ttl_then_refetched() -> None:
    calls: list[str] = []
    zones = {"U1": "America/New_York"}

    def fetch(user_id: str) -> dict[str, Any] | None:
        calls.append(user_id)
        return {"id": user_id, "tz": zones[user_id]}

    tick = Ticker()
    users = UserDirectory(fetch, UTC_ZONE, ttl_seconds=100, monotonic=tick)
    assert users.tz("U1") == ZoneInfo("America/New_York")
    tick.t = 99
    zones["U1"] = "Europe/Paris"
    assert users.tz("U1") == ZoneInfo("America/New_York")
    assert calls == ["U1"]
    tick.t = 101
    assert users.tz("U1") == ZoneInfo("Europe/Paris")
    assert calls == ["U1", "U1"]


def test_failed_or_odd_lookups_use_the_team_zone_and_retry_sooner() -> None:
    answers: list[Any] = [RuntimeError("slack down"), {"tz": "Not/AZone"}, None, {"tz": "Asia/Tokyo"}]

    def fetch(user_id: str) -> dict[str, Any] | None:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    tick = Ticker()
    team = ZoneInfo("America/Chicago")
    users = UserDirectory(fetch, team, ttl_seconds=1000, retry_seconds=10, monotonic=tick)
    assert users.tz("U1") == team  # error: retried after 10 s
    tick.t = 11
    assert users.tz("U1") == team  # unknown zone name: team zone
    assert users.tz("U2") == team  # no such user
    users.forget("U2")
    assert users.tz("U2") == ZoneInfo("Asia/Tokyo")


def test_commands_call_users_info_once_per_user(bot: Bot) -> None:
    assert bot.deps.users is not None
    users = UserDirectory(slack_fetch(bot.deps.client), UTC_ZONE)
    for _ in range(3):
        assert users.tz("UCSM2") == ZoneInfo("Europe/Paris")
    assert [c.args["user"] for c in bot.fake.calls_to("users.info")] == ["UCSM2"]
    for _ in range(3):
        bot.send.command("log Nowhere call hi")
    assert [c.args["user"] for c in bot.fake.calls_to("users.info")] == ["UCSM2", "UCSM1"]
