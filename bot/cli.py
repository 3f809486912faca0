"""The `csbot` command: run the bot, migrate the database, import data."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO, TypeVar

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
    from bot.accounts.importer import import_accounts
    from bot.clock import SystemClock

    settings = settings_or_exit(require_slack=False)
    engine = _engine_at_head(settings)
    resolver = _resolve_csm_emails(file, settings)
    _run_import(
        file,
        engine,
        lambda session, stream: import_accounts(
            session,
            stream,
            SystemClock(),
            resolve_email=resolver,
            progress=lambda m: click.echo(m, err=True),
        ),
    )


def _run_import(file: Path, engine: Any, run: Callable[[Any, TextIO], Any]) -> None:
    """Every `csbot import`: run the importer on FILE in one transaction; print every
    rejected row (and exit 1, nothing written), or the ignored columns and the counts."""
    from bot.accounts.csv_import import ImportRejected
    from models.db import session_scope

    try:
        with file.open(newline="", encoding="utf-8") as stream, session_scope(engine) as session:
            result = run(session, stream)
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


# --- customer health (PRODUCT.md §4): csbot import usage|nps ------------------------------


def _import_health_file(file: Path, kind: str) -> None:
    """Same shape as `import accounts`: all or nothing, every bad row listed."""
    from bot.accounts.health_import import import_nps, import_usage
    from bot.clock import SystemClock

    settings = settings_or_exit(require_slack=False)
    engine = _engine_at_head(settings)
    importer = {"usage": import_usage, "nps": import_nps}[kind]
    _run_import(file, engine, lambda session, stream: importer(session, stream, SystemClock()))


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


def _resolve_csm_emails(file: Path, settings: Settings) -> Callable[[str], str | None] | None:
    """Look up the file's CSM emails in Slack (users.lookupByEmail, once each) before
    the import's transaction opens; None without a bot token (the rows then say so)."""
    if settings.slack_bot_token is None:
        return None
    from slack_sdk.errors import SlackApiError

    from bot.accounts.importer import csm_emails
    from bot.app import build_client

    try:
        with file.open(newline="", encoding="utf-8") as stream:
            emails = sorted(csm_emails(stream))
    except UnicodeDecodeError:
        return None  # the import itself reports it
    if not emails:
        return None
    click.echo(f"Looking up {len(emails):,} CSM email(s) in Slack…", err=True)
    client = build_client(settings)
    found: dict[str, str | None] = {}
    for email in emails:
        try:
            found[email] = client.users_lookupByEmail(email=email)["user"]["id"]
        except SlackApiError as exc:
            error = exc.response.get("error", "unknown_error")
            if error != "users_not_found":
                click.echo(
                    f"csbot: Slack refused users.lookupByEmail ({error}); check SLACK_BOT_TOKEN and its "
                    "users:read.email scope. Nothing was written.",
                    err=True,
                )
                sys.exit(1)
            found[email] = None
        except OSError as exc:
            click.echo(f"csbot: could not reach Slack ({exc}). Nothing was written.", err=True)
            sys.exit(1)
    return found.get


# --- delivery and scheduling (PRODUCT.md §6.3) ------------------------------------------


@main.group("outbox", invoke_without_command=True)
@click.pass_context
@friendly_errors
def outbox_cmd(ctx: click.Context) -> None:
    """List the messages that could not be delivered (dead Outbox rows)."""
    if ctx.invoked_subcommand is not None:
        return
    from bot.delivery.dead_letters import dead_rows, describe_target

    settings = settings_or_exit(require_slack=False)
    rows = dead_rows(_engine_at_head(settings))
    if not rows:
        click.echo("No dead messages: everything queued was delivered or is still being retried.")
        return
    click.echo(f"{len(rows)} message(s) could not be delivered (`csbot outbox retry ID` queues one again):")
    click.echo(f"{'ID':>6}  {'KEY':<32}  {'TARGET':<16}  {'ATTEMPTS':>8}  ERROR")
    for row in rows:
        target, error = describe_target(row)[:16], row.last_error or ""
        click.echo(f"{row.id:>6}  {row.key[:32]:<32}  {target:<16}  {row.attempts:>8}  {error}")


@outbox_cmd.command("retry")
@click.argument("row_id", metavar="ID", type=int)
@friendly_errors
def outbox_retry(row_id: int) -> None:
    """Queue the dead message ID again, with the dead messages that wait for it
    (its thread page, its edits); the running bot's worker sends them."""
    from bot.clock import SystemClock
    from bot.delivery.dead_letters import requeue_in, requeued_text
    from models.db import session_scope

    settings = settings_or_exit(require_slack=False)
    with session_scope(_engine_at_head(settings)) as session:
        done = requeue_in(session, SystemClock(), row_id)
    row = done.row
    if row is None:
        click.echo(f"No Outbox message with ID {row_id}; `csbot outbox` lists the dead ones.", err=True)
        sys.exit(1)
    if not done.requeued:
        click.echo(f"Message {row_id} ({row.key}) is {row.state}, not dead: nothing to retry.", err=True)
        sys.exit(1)
    click.echo(requeued_text(done))


@main.command("scheduler")
@click.option(
    "--lock-retry",
    type=click.FloatRange(min=0.1),
    default=15.0,
    show_default=True,
    help="Seconds between a standby's tries of the leader lock.",
)
@click.option(
    "--jobs",
    "job_modules",
    multiple=True,
    metavar="MODULE",
    help="Also run the jobs of MODULE (a module with job_specs(settings, engine)); repeatable.",
)
@friendly_errors
def scheduler_cmd(lock_retry: float, job_modules: tuple[str, ...]) -> None:
    """Run the scheduler alone (one acts at a time; the others wait as standbys)."""
    import signal

    from bot.clock import SystemClock
    from bot.logs import configure_logging
    from jobs.registry import load_specs
    from jobs.scheduler import SchedulerService

    settings = settings_or_exit(require_slack=False)
    configure_logging(settings.log_level)
    engine = _engine_at_head(settings)
    service = SchedulerService(
        engine, SystemClock(), lambda: load_specs(settings, engine, job_modules), retry_seconds=lock_retry
    )
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: service.request_stop())
    service.run_forever()


if __name__ == "__main__":
    main()
