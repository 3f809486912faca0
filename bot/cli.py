"""The `csbot` command: run the bot, migrate the database, import data."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from bot.errors import SettingsError
from bot.settings import Settings, load_settings

F = TypeVar("F", bound=Callable[..., Any])


def settings_or_exit(require_slack: bool) -> Settings:
    """Load settings, or print the one line that names the problem and exit 2."""
    try:
        return load_settings(require_slack=require_slack)
    except SettingsError as exc:
        click.echo(f"csbot: {exc}", err=True)
        sys.exit(2)


def friendly_errors(fn: F) -> F:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except SettingsError as exc:
            click.echo(f"csbot: {exc}", err=True)
            sys.exit(2)

    return wrapper  # type: ignore[return-value]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """csbot: the Slack bot a Customer Success team runs its week on.

    Settings come from the environment and .env (see .env.example).
    """


@main.command()
@click.option("--port", type=int, default=None, help="HTTP port (default: PORT, else 3000).")
@friendly_errors
def run(port: int | None) -> None:
    """Run the bot: Socket Mode when SLACK_APP_TOKEN is set, else HTTP at /slack/events."""
    from bot.runner import run_bot

    settings = settings_or_exit(require_slack=True)
    sys.exit(run_bot(settings, port=port))


@main.group()
def db() -> None:
    """Database schema commands."""


@db.command("upgrade")
@friendly_errors
def db_upgrade() -> None:
    """Create or upgrade the schema to the latest revision (keeps your data)."""
    from models.db import make_engine
    from models.migrate import head_revision, upgrade

    settings = settings_or_exit(require_slack=False)
    engine = make_engine(settings.database_url)
    before, after = upgrade(engine)
    where = engine.url.render_as_string(hide_password=True)
    if before == after:
        click.echo(f"Database {where} is already at the latest revision ({after}); nothing to do.")
    else:
        click.echo(f"Upgraded {where} from {before or 'empty'} to {after} (latest is {head_revision()}).")


@db.command("current")
@friendly_errors
def db_current() -> None:
    """Show the database's revision and the latest one."""
    from models.db import make_engine
    from models.migrate import current_revision, head_revision

    settings = settings_or_exit(require_slack=False)
    engine = make_engine(settings.database_url)
    click.echo(f"database: {current_revision(engine) or 'empty'}; latest: {head_revision()}")


@main.group("import")
def import_() -> None:
    """Import CSV files (UTF-8, header row, any column order). All or nothing."""


@import_.command("accounts")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@friendly_errors
def import_accounts_cmd(file: Path) -> None:
    """Upsert accounts from FILE (columns: name, arr, external_id, segment, csm,
    renewal_date, contract_start, stage, licensed_users)."""
    from bot.clock import SystemClock
    from bot.importer import ImportRejected, import_accounts

    settings = settings_or_exit(require_slack=False)
    engine = _engine_at_head(settings)
    resolver = _email_resolver(settings)
    from models.db import session_scope

    try:
        with file.open(newline="", encoding="utf-8") as stream, session_scope(engine) as session:
            result = import_accounts(
                session,
                stream,
                SystemClock(),
                resolve_email=resolver,
                progress=lambda m: click.echo(m, err=True),
            )
    except ImportRejected as exc:
        click.echo(f"Rejected {file.name}: {len(exc.errors)} bad row(s); nothing was written.", err=True)
        for error in exc.errors:
            click.echo(f"  {error}", err=True)
        sys.exit(1)
    except UnicodeDecodeError:
        click.echo(f"Rejected {file.name}: it is not UTF-8 text; nothing was written.", err=True)
        sys.exit(1)
    if result.ignored_columns:
        click.echo(f"Ignored unknown column(s): {', '.join(result.ignored_columns)}", err=True)
    click.echo(f"Imported {file.name}: {result.summary()}.")


# --- customer health (issue 7): csbot import usage|nps ------------------------------


def _import_health_file(file: Path, kind: str) -> None:
    """Same shape as `import accounts`: all or nothing, every bad row listed."""
    from bot.clock import SystemClock
    from bot.importer import ImportRejected, import_nps, import_usage
    from models.db import session_scope

    settings = settings_or_exit(require_slack=False)
    engine = _engine_at_head(settings)
    run = {"usage": import_usage, "nps": import_nps}[kind]
    try:
        with file.open(newline="", encoding="utf-8") as stream, session_scope(engine) as session:
            result = run(session, stream, SystemClock())
    except ImportRejected as exc:
        click.echo(f"Rejected {file.name}: {len(exc.errors)} bad row(s); nothing was written.", err=True)
        for error in exc.errors:
            click.echo(f"  {error}", err=True)
        sys.exit(1)
    except UnicodeDecodeError:
        click.echo(f"Rejected {file.name}: it is not UTF-8 text; nothing was written.", err=True)
        sys.exit(1)
    if result.ignored_columns:
        click.echo(f"Ignored unknown column(s): {', '.join(result.ignored_columns)}", err=True)
    click.echo(f"Imported {file.name}: {result.summary()}.")


@import_.command("usage")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@friendly_errors
def import_usage_cmd(file: Path) -> None:
    """Upsert usage snapshots from FILE (columns: account (name or external_id),
    date, active_users, licensed_users, feature_adoption_pct)."""
    _import_health_file(file, "usage")


@import_.command("nps")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@friendly_errors
def import_nps_cmd(file: Path) -> None:
    """Upsert NPS responses from FILE (columns: account (name or external_id),
    date, score 0-10, respondent, comment)."""
    _import_health_file(file, "nps")


def _engine_at_head(settings: Settings) -> Any:
    from models.db import make_engine
    from models.migrate import is_current

    engine = make_engine(settings.database_url)
    if not is_current(engine):
        click.echo("csbot: the database schema is not up to date: run `csbot db upgrade` first.", err=True)
        sys.exit(2)
    return engine


def _email_resolver(settings: Settings) -> Callable[[str], str | None] | None:
    """users.lookupByEmail, one call per distinct email; None without a bot token."""
    if settings.slack_bot_token is None:
        return None
    from slack_sdk.errors import SlackApiError

    from bot.app import build_client

    client = build_client(settings)

    @functools.cache
    def resolve(email: str) -> str | None:
        try:
            return client.users_lookupByEmail(email=email)["user"]["id"]
        except SlackApiError as exc:
            if exc.response.get("error") == "users_not_found":
                return None
            raise

    return resolve


if __name__ == "__main__":
    main()
