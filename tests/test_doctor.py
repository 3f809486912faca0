"""`csbot doctor` as a first install meets it (PRODUCT.md §7): one ✓/✗ line per
check, the fix on every ✗, exit 0 only when all pass, nothing created."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from bot.clock import ManualClock
from bot.playground.fake_slack import FakeSlack
from bot.slack.scopes import BOT_SCOPES
from models.db import make_engine, session_scope
from models.migrate import head_revision, upgrade
from models.tables import Subscription
from tests.cli_process import csbot
from tests.harness import BOT_TOKEN, START


@pytest.fixture
def sqlite_url(tmp_path: Path, _sqlite_template: Path) -> str:
    """A migrated SQLite database: the checks below are about Slack and settings, so
    one engine is enough (the first test and the database ones run on both)."""
    path = tmp_path / "doctor.db"
    shutil.copyfile(_sqlite_template, path)
    return f"sqlite:///{path}"


def _env(fake: FakeSlack, db_url: str, **extra: str) -> dict[str, str]:
    return {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": "abcdefgh1234",
        "SLACK_API_URL": fake.api_url,
        "DATABASE_URL": db_url,
        "CSBOT_ESCALATION_CHANNEL": "CESC",
        "CSBOT_TZ": "Europe/Paris",
        **extra,
    }


def _subscribe(engine: Engine, channel: str) -> None:
    with session_scope(engine) as session:
        session.add(Subscription(channel_id=channel, kind="alerts", created_by="UADMIN", created_at=START))


def test_everything_right_passes_with_exit_0(
    db_url: str, engine: Engine, fake_slack: FakeSlack, tmp_path: Path
) -> None:
    _subscribe(engine, "CALERTS")
    done = csbot(["doctor"], _env(fake_slack, db_url), tmp_path)
    assert done.code == 0, done.output
    lines = done.lines()
    assert lines[0] == "✓ settings parse (read from the environment (no .env file))"
    assert f"at the latest revision ({head_revision()})" in lines[1] and lines[1].startswith("✓ database")
    assert lines[2] == "✓ Slack token works: workspace Fake Team (T0001), bot @csbot (UBOT)"
    assert lines[3] == f"✓ the token has every scope manifest.yml asks for ({len(BOT_SCOPES)})"
    assert lines[4] == "✓ escalations channel #escalations (CESC) reachable, the bot is a member"
    assert lines[5] == "✓ subscribed channel #cs-alerts (CALERTS) reachable, the bot is a member"
    assert lines[6].startswith("✓ Socket Mode off")
    assert lines[7].startswith("✓ time zone Europe/Paris: it is ")
    assert lines[-1] == "All checks passed."
    assert not any(line.startswith("✗") for line in lines)


def test_an_invalid_token_is_named_with_its_fix(
    sqlite_url: str, fake_slack: FakeSlack, tmp_path: Path
) -> None:
    done = csbot(["doctor"], _env(fake_slack, sqlite_url, SLACK_BOT_TOKEN="xoxb-revoked"), tmp_path)
    assert done.code == 1
    assert (
        "✗ Slack refused auth.test (invalid_auth): SLACK_BOT_TOKEN is wrong: copy the Bot User OAuth "
        "Token (OAuth & Permissions) again"
    ) in done.lines()
    assert "xoxb-revoked" not in done.output
    assert done.lines()[-1] == "Fix the ✗ lines above, then run `csbot doctor` again."


def test_a_missing_scope_is_read_from_the_oauth_header(
    sqlite_url: str, fake_slack: FakeSlack, tmp_path: Path
) -> None:
    fake_slack.scopes = set(BOT_SCOPES) - {"im:read", "mpim:read"}
    done = csbot(["doctor"], _env(fake_slack, sqlite_url), tmp_path)
    assert done.code == 1
    assert (
        "✗ the token lacks the scope(s) im:read, mpim:read: add them under OAuth & Permissions "
        "(or paste manifest.yml again) and reinstall the app"
    ) in done.lines()
    assert fake_slack.calls_to("auth.test")


def test_channels_without_the_bot_say_to_invite_it(
    sqlite_url: str, fake_slack: FakeSlack, tmp_path: Path
) -> None:
    engine = make_engine(sqlite_url)
    _subscribe(engine, "CNOBOT")
    _subscribe(engine, "CGONE")
    done = csbot(["doctor"], _env(fake_slack, sqlite_url, CSBOT_ESCALATION_CHANNEL="CNOBOT"), tmp_path)
    assert done.code == 1
    lines = done.lines()
    assert (
        "✗ escalations channel #no-bot-here (CNOBOT): the bot is not a member: /invite @csbot in #no-bot-here"
        in lines
    )
    assert (
        "✗ subscribed channel #no-bot-here (CNOBOT): the bot is not a member: /invite @csbot in #no-bot-here"
        in lines
    )
    assert (
        "✗ subscribed channel CGONE: not found or the bot is not in it: invite it with /invite @csbot in "
        "the channel (or fix the channel ID)"
    ) in lines


def test_no_escalations_channel_set_is_a_failure(
    sqlite_url: str, fake_slack: FakeSlack, tmp_path: Path
) -> None:
    env = _env(fake_slack, sqlite_url)
    del env["CSBOT_ESCALATION_CHANNEL"]
    done = csbot(["doctor"], env, tmp_path)
    assert done.code == 1
    assert any(line.startswith("✗ CSBOT_ESCALATION_CHANNEL not set: ") for line in done.lines())


def test_a_missing_sqlite_database_is_reported_not_created(fake_slack: FakeSlack, tmp_path: Path) -> None:
    done = csbot(["doctor"], _env(fake_slack, "sqlite:///csbot.db"), tmp_path)
    assert done.code == 1
    db_file = (tmp_path / "csbot.db").resolve()
    assert f"✗ database: no database at {db_file}: run `csbot db upgrade` to create it" in done.lines()
    assert not db_file.exists()


def test_a_database_behind_says_to_upgrade(
    empty_db_url: str, fake_slack: FakeSlack, tmp_path: Path
) -> None:
    upgrade(make_engine(empty_db_url), "0001")
    done = csbot(["doctor"], _env(fake_slack, empty_db_url), tmp_path)
    assert done.code == 1
    assert any(
        line.startswith("✗ database")
        and f"is at revision 0001, this version needs {head_revision()}: run `csbot db upgrade`" in line
        for line in done.lines()
    )


@pytest.mark.parametrize(
    ("app_token", "can_connect", "expected"),
    [
        ("xapp-1-test-token", True, "✓ Socket Mode: SLACK_APP_TOKEN opens a connection"),
        (
            "xapp-1-wrong",
            True,
            "✗ Socket Mode: Slack refused apps.connections.open (invalid_auth): SLACK_APP_TOKEN is wrong",
        ),
        (
            "xapp-1-test-token",
            False,
            "✗ Socket Mode: Slack refused apps.connections.open (missing_scope): give the app-level "
            "token the connections:write scope",
        ),
    ],
)
def test_socket_mode_app_token(
    sqlite_url: str, fake_slack: FakeSlack, tmp_path: Path, app_token: str, can_connect: bool, expected: str
) -> None:
    fake_slack.app_token_can_connect = can_connect
    done = csbot(["doctor"], _env(fake_slack, sqlite_url, SLACK_APP_TOKEN=app_token), tmp_path)
    assert any(line.startswith(expected) for line in done.lines()), done.output
    assert done.code == (0 if expected.startswith("✓") else 1)


def test_a_malformed_setting_stops_at_the_first_check(tmp_path: Path) -> None:
    done = csbot(["doctor"], {"CSBOT_TZ": "Mars/Olympus"}, tmp_path)
    assert done.code == 1
    assert done.lines()[0] == (
        "✗ settings: CSBOT_TZ is malformed: 'Mars/Olympus' is not an IANA time zone such as Europe/Paris"
    )


def test_env_file_option_and_variable(sqlite_url: str, fake_slack: FakeSlack, tmp_path: Path) -> None:
    folder = tmp_path / "etc"
    folder.mkdir()
    env_file = folder / "csbot.env"
    lines = [f"{k}={v}" for k, v in _env(fake_slack, sqlite_url).items()]
    env_file.write_text("\n".join(lines) + "\n")
    by_option = csbot(["--env-file", str(env_file), "doctor"], {}, tmp_path)
    assert by_option.lines()[0] == f"✓ settings parse (read from {env_file} and the environment)"
    assert by_option.code == 0, by_option.output
    by_variable = csbot(["doctor"], {"CSBOT_ENV_FILE": str(env_file)}, tmp_path)
    assert by_variable.lines()[0] == f"✓ settings parse (read from {env_file} and the environment)"
    missing = csbot(["doctor"], {"CSBOT_ENV_FILE": str(folder / "nope.env")}, tmp_path)
    assert (
        missing.lines()[0]
        == f"✗ settings: CSBOT_ENV_FILE names {folder / 'nope.env'}, which is not a file: fix the path"
    )


def test_clock_is_not_needed_for_the_time_zone_line() -> None:
    from bot.doctor import check_time_zone
    from bot.settings import Settings

    now = ManualClock(START).now()  # Friday 15:00 UTC = 16:00 in Paris
    assert str(check_time_zone(Settings(tz="Europe/Paris"), now)).startswith(
        "✓ time zone Europe/Paris: it is Fri 16:00 there now"
    )


def test_tokens_not_set_are_named(sqlite_url: str, tmp_path: Path) -> None:
    done = csbot(["doctor"], {"DATABASE_URL": sqlite_url}, tmp_path)
    assert done.code == 1
    assert done.lines()[1] == (
        "✗ SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET not set: copy them from the Slack app's pages into .env "
        "(README, 'Create the Slack app')"
    )
    assert done.lines()[2].startswith("✓ database")
