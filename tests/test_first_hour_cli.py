"""The first hour of a real install (PRODUCT.md §7), over the real `csbot` process:
every settings, database and Slack mistake ends in one line naming cause and fix
(exit 2, no traceback); the start-up line says which .env was read and where the
data lives; --version and full summaries in --help."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from bot.failures import database_error_line
from bot.playground.fake_slack import FakeSlack
from models.migrate import head_revision
from tests.cli_process import csbot
from tests.harness import BOT_TOKEN
from tests.pg import PostgresServer

SLACK = {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": "abcdefgh1234"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "sqlite://csbot.db",
            "csbot: DATABASE_URL is malformed: 'sqlite://csbot.db' has two slashes; a file path needs three, "
            "e.g. sqlite:///csbot.db (relative) or sqlite:////var/lib/csbot/csbot.db (absolute)",
        ),
        (
            "postgresql://csbot:p@ss@localhost/csbot",
            "csbot: DATABASE_URL is malformed: the user or password contains '@'; "
            "write it URL-encoded as %40 (postgresql://user:p%40ss@host/dbname)",
        ),
    ],
)
def test_a_malformed_database_url_is_one_line(tmp_path: Path, url: str, expected: str) -> None:
    done = csbot(["db", "upgrade"], {"DATABASE_URL": url}, tmp_path)
    assert done.code == 2
    assert done.lines() == [expected]


def test_a_sqlite_path_in_a_missing_folder_is_one_line(tmp_path: Path) -> None:
    done = csbot(["db", "upgrade"], {"DATABASE_URL": f"sqlite:///{tmp_path}/nope/csbot.db"}, tmp_path)
    assert done.code == 2
    assert done.lines() == [
        f"csbot: DATABASE_URL points into {tmp_path}/nope, which does not exist: "
        f"create it (mkdir -p {tmp_path}/nope) or fix the path"
    ]


def test_a_tilde_in_a_sqlite_path_means_home(tmp_path: Path) -> None:
    done = csbot(["db", "upgrade"], {"DATABASE_URL": "sqlite:///~/data.db"}, tmp_path / "..")
    assert done.code == 0, done.output
    home = tmp_path.parent.resolve()  # csbot() sets HOME to the working directory
    assert (home / "data.db").exists()
    assert not (home / "~").exists()
    assert f"Upgraded {home / 'data.db'} from empty to {head_revision()}" in done.stdout


def _not_answering(port: int) -> str:
    return (
        f"csbot: PostgreSQL at 127.0.0.1:{port} is not answering: "
        "start it, or fix the host and port in DATABASE_URL"
    )


COMMANDS = [
    ["db", "upgrade"],
    ["db", "current"],
    ["outbox"],
    ["scheduler"],
    ["run"],
]


@pytest.mark.parametrize("args", COMMANDS, ids=[" ".join(a) for a in COMMANDS])
def test_postgresql_down_is_one_line_for_every_command(tmp_path: Path, args: list[str]) -> None:
    port = _free_port()
    env = {**SLACK, "DATABASE_URL": f"postgresql://csbot:secret@127.0.0.1:{port}/csbot"}
    done = csbot(args, env, tmp_path)
    assert done.code == 2
    assert done.lines()[-1] == _not_answering(port)
    assert "secret" not in done.output


def test_import_on_postgresql_down_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("name,arr\nAcme,1\n")
    port = _free_port()
    env = {"DATABASE_URL": f"postgresql://csbot@127.0.0.1:{port}/csbot"}
    done = csbot(["import", "accounts", "a.csv"], env, tmp_path)
    assert done.code == 2
    assert done.lines() == [_not_answering(port)]


def test_a_missing_postgresql_database_is_one_line(pg_server: PostgresServer, tmp_path: Path) -> None:
    url = pg_server.url("no_such_db")
    done = csbot(["db", "current"], {"DATABASE_URL": url}, tmp_path)
    assert done.code == 2
    assert done.lines() == [
        f"csbot: PostgreSQL at {pg_server.host}:{pg_server.port} has no database no_such_db: "
        "create it (createdb no_such_db) or fix DATABASE_URL"
    ]


def test_a_wrong_postgresql_password_is_one_line(pg_server: PostgresServer, tmp_path: Path) -> None:
    """A real refusal: the server asks this user for a password and gets a wrong one."""
    pg_server.add_password_user("csbot_pw", "the-right-one")
    url = f"postgresql+psycopg://csbot_pw:wrong@{pg_server.host}:{pg_server.port}/postgres"
    for args in (["db", "current"], ["db", "upgrade"], ["outbox"]):
        done = csbot(args, {"DATABASE_URL": url}, tmp_path)
        assert done.code == 2, done.output
        assert done.lines() == [
            f"csbot: PostgreSQL at {pg_server.host}:{pg_server.port} refused the password of user csbot_pw: "
            "fix it in DATABASE_URL (write @ : / in it as %40 %3A %2F)"
        ], done.output
        assert "Traceback" not in done.output


def test_a_wrong_password_names_the_user_and_the_encoding() -> None:
    """The test server trusts every login, so the refusal is built as psycopg words it."""
    from sqlalchemy.exc import OperationalError

    refusal = OperationalError(
        "connect",
        {},
        Exception(
            'connection failed: connection to server at "10.0.0.5", port 5432 failed: FATAL:  '
            'password authentication failed for user "csbot"'
        ),
    )
    line = database_error_line(refusal, "postgresql+psycopg://csbot:wrong@10.0.0.5:5432/csbot")
    assert line == (
        "PostgreSQL at 10.0.0.5:5432 refused the password of user csbot: fix it in DATABASE_URL "
        "(write @ : / in it as %40 %3A %2F)"
    )


def test_each_command_checks_only_the_settings_it_uses(db_url: str, tmp_path: Path) -> None:
    env = {"DATABASE_URL": db_url, "SLACK_SIGNING_SECRET": "not a secret!", "PORT": "eighty"}
    current = csbot(["db", "current"], env, tmp_path)
    assert current.code == 0, current.output
    assert current.lines() == [f"database: {head_revision()}; latest: {head_revision()}"]
    (tmp_path / "a.csv").write_text("name,arr\nAcme,1\n")
    imported = csbot(["import", "accounts", "a.csv"], env, tmp_path)
    assert imported.code == 0, imported.output
    assert "Imported a.csv: 1 created, 0 updated, 0 unchanged." in imported.stdout


def test_db_current_never_creates_a_database(tmp_path: Path) -> None:
    done = csbot(["db", "current"], {}, tmp_path)
    assert done.code == 2
    assert done.lines() == [
        f"csbot: there is no database at {tmp_path.resolve() / 'csbot.db'}: "
        "run `csbot db upgrade` to create it (or fix DATABASE_URL)"
    ]
    assert not (tmp_path / "csbot.db").exists()


def test_env_file_anchors_the_database_and_run_names_both(fake_slack: FakeSlack, tmp_path: Path) -> None:
    """Started from elsewhere (systemd, cron), csbot reads the .env it is told to and
    keeps the data next to it; the start-up line says so; a bad token stops it."""
    service = tmp_path / "srv"
    elsewhere = tmp_path / "elsewhere"
    service.mkdir()
    elsewhere.mkdir()
    env_file = service / "csbot.env"
    env_file.write_text(
        f"SLACK_BOT_TOKEN=xoxb-typo\nSLACK_SIGNING_SECRET=abcdefgh1234\nSLACK_API_URL={fake_slack.api_url}\n"
        "DATABASE_URL=sqlite:///csbot.db\n"
    )
    upgraded = csbot(["db", "upgrade"], {"CSBOT_ENV_FILE": str(env_file)}, elsewhere)
    assert upgraded.code == 0, upgraded.output
    assert (service / "csbot.db").exists()
    assert not (elsewhere / "csbot.db").exists()
    done = csbot(["--env-file", str(env_file), "run"], {}, elsewhere)
    assert done.code == 2
    assert done.lines() == [
        f"csbot 0.1.0: settings from {env_file} and the environment; database {service / 'csbot.db'}",
        "csbot: Slack refused auth.test (invalid_auth): SLACK_BOT_TOKEN is wrong: copy the Bot User OAuth "
        "Token (OAuth & Permissions) again",
    ]
    assert "xoxb-typo" not in done.output


def test_run_without_a_database_file_does_not_create_one(fake_slack: FakeSlack, tmp_path: Path) -> None:
    env = {**SLACK, "SLACK_API_URL": fake_slack.api_url}
    done = csbot(["run"], env, tmp_path)
    assert done.code == 2
    db_file = tmp_path.resolve() / "csbot.db"
    assert done.lines() == [
        f"csbot 0.1.0: no .env file read (the environment only); database {db_file}",
        f"csbot: there is no database at {db_file}: run `csbot db upgrade` to create it.",
    ]
    assert not db_file.exists()


def test_run_with_a_bad_app_token_is_one_line(db_url: str, fake_slack: FakeSlack, tmp_path: Path) -> None:
    env = {
        **SLACK,
        "SLACK_API_URL": fake_slack.api_url,
        "DATABASE_URL": db_url,
        "SLACK_APP_TOKEN": "xapp-1-bad",
    }
    done = csbot(["run"], env, tmp_path)
    assert done.code == 2
    assert done.lines()[-1] == (
        "csbot: Socket Mode: Slack refused apps.connections.open (invalid_auth): SLACK_APP_TOKEN is wrong: "
        "generate an app-level token (Basic Information → App-Level Tokens)"
    )


def test_version_and_full_summaries_in_help(tmp_path: Path) -> None:
    version = csbot(["--version"], {}, tmp_path)
    assert version.code == 0
    assert version.lines() == ["csbot 0.1.0"]
    for args in (["--help"], ["import", "--help"], ["db", "--help"], ["outbox", "--help"]):
        done = csbot(args, {}, tmp_path)
        assert done.code == 0
        summaries = done.output.split("Commands:", 1)[1]
        assert "..." not in summaries and "…" not in summaries, done.output
    top = csbot(["--help"], {}, tmp_path).output
    # one line per command: its name, then its whole summary (the column width follows the longest name)
    listed = top.split("Commands:", 1)[1].splitlines()
    rows = {" ".join(line.split()[:1]): " ".join(line.split()[1:]) for line in listed}
    for name, summary in (
        ("doctor", "Check settings, database and Slack; say what to fix."),
        ("run", "Run the bot (Socket Mode or HTTP)."),
        ("scheduler", "Run the scheduler alone."),
        ("metrics", "The director's figures for a week, month or quarter."),
    ):
        assert rows.get(name) == summary, top
