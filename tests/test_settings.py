"""Settings: each missing or malformed setting stops start-up with one line naming it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bot.errors import SettingsError
from bot.settings import load_settings, setting_names

GOOD = {"SLACK_BOT_TOKEN": "xoxb-123-abc", "SLACK_SIGNING_SECRET": "abcdef0123456789"}


def test_defaults_when_only_slack_settings_given() -> None:
    settings = load_settings(GOOD)
    assert settings.database_url == "sqlite:///csbot.db"
    assert settings.slack_api_url == "https://slack.com/api/"
    assert settings.port == 3000
    assert settings.scheduler_enabled is True
    assert settings.tz == "UTC"
    assert not settings.socket_mode


def test_secrets_never_show_in_repr() -> None:
    settings = load_settings(GOOD)
    assert "xoxb-123-abc" not in repr(settings)
    assert "abcdef0123456789" not in repr(settings)
    assert settings.slack_bot_token is not None and settings.slack_bot_token.reveal() == "xoxb-123-abc"


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        (
            {},
            "SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET are not set: "
            "put SLACK_BOT_TOKEN=…, SLACK_SIGNING_SECRET=… in .env",
        ),
        (
            {"SLACK_BOT_TOKEN": "xoxb-1"},
            "SLACK_SIGNING_SECRET is not set: put SLACK_SIGNING_SECRET=… in .env",
        ),
        (
            {**GOOD, "SLACK_BOT_TOKEN": "xoxp-user-token"},
            "SLACK_BOT_TOKEN is malformed: it must start with 'xoxb-'",
        ),
        ({**GOOD, "SLACK_SIGNING_SECRET": "no spaces!"}, "SLACK_SIGNING_SECRET is malformed"),
        (
            {**GOOD, "SLACK_APP_TOKEN": "xoxb-wrong"},
            "SLACK_APP_TOKEN is malformed: it must start with 'xapp-'",
        ),
        (
            {**GOOD, "DATABASE_URL": "mysql://x"},
            "DATABASE_URL is malformed: use sqlite:///path.db or postgresql://",
        ),
        ({**GOOD, "SLACK_API_URL": "slack.com/api"}, "SLACK_API_URL is malformed: it must be an http(s) URL"),
        ({**GOOD, "PORT": "80a"}, "PORT is malformed: it must be a port number from 1 to 65535, not '80a'"),
        ({**GOOD, "PORT": "70000"}, "PORT is malformed"),
        (
            {**GOOD, "CSBOT_ESCALATION_CHANNEL": "#escalations"},
            "CSBOT_ESCALATION_CHANNEL is malformed: use the channel ID",
        ),
        ({**GOOD, "CSBOT_ADMINS": "U123,bob"}, "CSBOT_ADMINS is malformed: 'bob' is not a Slack user ID"),
        (
            {**GOOD, "CSBOT_TZ": "Mars/Olympus"},
            "CSBOT_TZ is malformed: 'Mars/Olympus' is not an IANA time zone",
        ),
        (
            {**GOOD, "CSBOT_SCORECARD": "/nope/scorecard.toml"},
            "CSBOT_SCORECARD is malformed: no file at /nope/scorecard.toml",
        ),
        (
            {**GOOD, "CSBOT_ESCALATION_POLICY": "/nope/p.toml"},
            "CSBOT_ESCALATION_POLICY is malformed: no file at",
        ),
        ({**GOOD, "CSBOT_SCHEDULER": "maybe"}, "CSBOT_SCHEDULER is malformed: use on or off, not 'maybe'"),
        ({**GOOD, "CSBOT_LOG_LEVEL": "LOUD"}, "CSBOT_LOG_LEVEL is malformed"),
        ({**GOOD, "CSBOT_TEAM_COST": "lots"}, "CSBOT_TEAM_COST is malformed"),
    ],
)
def test_each_bad_setting_is_named_in_one_line(env: dict[str, str], expected: str) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(env)
    message = str(caught.value)
    assert message.startswith(expected)
    assert "\n" not in message
    for secret in ("xoxp-user-token", "abcdef0123456789"):
        assert secret not in message


def test_parsed_values() -> None:
    settings = load_settings(
        {
            **GOOD,
            "DATABASE_URL": "postgres://u:p@db/csbot",
            "SLACK_API_URL": "http://127.0.0.1:9/api",
            "CSBOT_ADMINS": "U1AA, W2BB",
            "CSBOT_SCHEDULER": "off",
            "CSBOT_TEAM_COST": "$1,250,000",
            "SLACK_APP_TOKEN": "xapp-1-A",
        }
    )
    assert settings.database_url == "postgresql+psycopg://u:p@db/csbot"
    assert settings.slack_api_url == "http://127.0.0.1:9/api/"
    assert settings.admins == ("U1AA", "W2BB")
    assert settings.scheduler_enabled is False
    assert settings.team_cost_cents == 125_000_000
    assert settings.socket_mode


def test_db_commands_do_not_need_slack() -> None:
    assert load_settings({}, require_slack=False).database_url == "sqlite:///csbot.db"


def test_env_example_lists_every_setting() -> None:
    example = (Path(__file__).resolve().parent.parent / ".env.example").read_text()
    listed = {
        line.split("=", 1)[0] for line in example.splitlines() if "=" in line and not line.startswith("#")
    }
    assert listed == set(setting_names())


def test_csbot_run_without_tokens_exits_2_with_one_line(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "run"],
        cwd=tmp_path,
        env={**env, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.strip().splitlines() == [
        "csbot: SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET are not set: put SLACK_BOT_TOKEN=…, "
        "SLACK_SIGNING_SECRET=… in .env (see .env.example and the README's 'Create the Slack app')"
    ]


def test_dotenv_file_is_read_and_environment_wins(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(
        "SLACK_BOT_TOKEN=xoxb-from-file\nSLACK_SIGNING_SECRET=filesecret99\nPORT=4000\n"
    )
    code = (
        "from bot.settings import load_settings; s = load_settings(); "
        "print(s.slack_bot_token.reveal(), s.port)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env={
            "PATH": "/usr/bin:/bin",
            "PORT": "4100",
            "PYTHONPATH": str(Path(__file__).resolve().parent.parent),
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.stdout.split() == ["xoxb-from-file", "4100"], done.stderr
