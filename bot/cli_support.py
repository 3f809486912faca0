"""What every `csbot` command shares: settings loaded (only those the command uses) or
one line naming the problem, and database, Slack and settings failures ended in one
line with exit 2 (no tracebacks for a person's mistakes)."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any, NoReturn, TypeVar

import click

from bot.errors import SettingsError
from bot.settings import DEFAULT_DATABASE_URL, Settings, load_settings, setting_names

F = TypeVar("F", bound=Callable[..., Any])


# The settings each command reads (PRODUCT.md §7): a command checks only these, so a
# malformed signing secret never stops `csbot db current` or an import.
DB_ONLY = ("DATABASE_URL", "CSBOT_LOG_LEVEL")
IMPORTS = (*DB_ONLY, "SLACK_BOT_TOKEN", "SLACK_API_URL", "CSBOT_TZ")
SCHEDULER = tuple(n for n in setting_names() if n not in ("SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "PORT"))


def settings_or_exit(require_slack: bool, uses: tuple[str, ...] | None = None) -> Settings:
    """Load settings, or print the one line that names the problem and exit 2."""
    ctx = click.get_current_context()
    obj = ctx.ensure_object(dict)
    try:
        settings = load_settings(require_slack=require_slack, uses=uses, env_file=obj.get("env_file"))
    except SettingsError as exc:
        click.echo(f"csbot: {exc}", err=True)
        sys.exit(2)
    obj["settings"] = settings
    return settings


def friendly_errors(fn: F) -> F:
    """Settings, database and Slack failures end a command with one line and exit 2."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from urllib.error import URLError

        from slack_sdk.errors import SlackApiError, SlackClientError
        from sqlalchemy.exc import SQLAlchemyError

        try:
            return fn(*args, **kwargs)
        except SettingsError as exc:
            fail(str(exc))
        except SQLAlchemyError as exc:
            from bot.failures import database_error_line

            settings = click.get_current_context().ensure_object(dict).get("settings")
            fail(database_error_line(exc, settings.database_url if settings else DEFAULT_DATABASE_URL))
        except (SlackApiError, SlackClientError, URLError, ConnectionError, TimeoutError) as exc:
            from bot.failures import slack_exception_line

            fail(slack_exception_line(exc))
        except OSError as exc:  # a file: unreadable, a folder, no space left
            fail(f"{exc.strerror or exc}: {exc.filename or ''}".rstrip(": "))

    return wrapper  # type: ignore[return-value]


def fail(line: str, code: int = 2) -> NoReturn:
    click.echo(f"csbot: {line}", err=True)
    sys.exit(code)

# The figures read the team's zone, its cost and the scorecard's forecast rates.
METRICS = (*DB_ONLY, "CSBOT_TZ", "CSBOT_TEAM_COST", "CSBOT_SCORECARD")


def existing_engine(settings: Settings) -> Any:
    """An engine on a database that exists: a check never creates a SQLite file."""
    from bot.settings import sqlite_file
    from models.db import make_engine

    file = sqlite_file(settings.database_url)
    if file is not None and not file.exists():
        fail(f"there is no database at {file}: run `csbot db upgrade` to create it (or fix DATABASE_URL)")
    return make_engine(settings.database_url)


def engine_at_head(settings: Settings) -> Any:
    from models.migrate import is_current

    engine = existing_engine(settings)
    if not is_current(engine):
        fail("the database schema is not up to date: run `csbot db upgrade` first.")
    return engine
