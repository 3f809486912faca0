"""The `csbot` command: run the bot, migrate the database, import data."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

import click

from bot.accounts.import_help import accounts_help
from bot.cli_reports import digest_cmd, metrics_cmd
from bot.cli_support import (
    DB_ONLY,
    IMPORTS,
    SCHEDULER,
    engine_at_head,
    existing_engine,
    fail,
    friendly_errors,
    settings_or_exit,
)
from bot.playground.commands import demo_cmd, playground_cmd
from bot.settings import Settings


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.version_option(package_name="csbot", prog_name="csbot", message="%(prog)s %(version)s")
@click.option(
    "--env-file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="The .env to read (default: CSBOT_ENV_FILE, else ./.env).",
)
@click.pass_context
def main(ctx: click.Context, env_file: Path | None) -> None:
    """csbot: the Slack bot a Customer Success team runs its week on.

    Settings come from the environment over a .env file (see .env.example);
    `csbot doctor` checks them, the database and Slack.
    """
    ctx.ensure_object(dict)["env_file"] = env_file


main.add_command(demo_cmd)  # the demo and the playground (PRODUCT.md §7, §7.1)
main.add_command(playground_cmd)
main.add_command(metrics_cmd)  # the director's figures and the weekly digest (§6.1, §6.2)
main.add_command(digest_cmd)


@main.command(short_help="Run the bot (Socket Mode or HTTP).")
@click.option("--port", type=int, default=None, help="HTTP port (default: PORT, else 3000).")
@friendly_errors
def run(port: int | None) -> None:
    """Run the bot: Socket Mode when SLACK_APP_TOKEN is set, else HTTP at /slack/events."""
    from bot.runner import run_bot

    settings = settings_or_exit(require_slack=True)
    sys.exit(run_bot(settings, port=port))


@main.command(short_help="Check settings, database and Slack; say what to fix.")
@click.pass_context
def doctor(ctx: click.Context) -> None:
    """Check settings, the database and Slack, one line each (✓ or ✗ with the fix).

    Exit 0 only when every check passes. Nothing is written; no database is created.
    """
    from bot.doctor import diagnose

    healthy = diagnose(ctx.ensure_object(dict).get("env_file"), lambda check: click.echo(str(check)))
    click.echo("All checks passed." if healthy else "Fix the ✗ lines above, then run `csbot doctor` again.")
    sys.exit(0 if healthy else 1)


@main.group()
def db() -> None:
    """Database schema: upgrade, current."""


@db.command("upgrade", short_help="Create or upgrade the schema.")
@friendly_errors
def db_upgrade() -> None:
    """Create or upgrade the schema to the latest revision (keeps your data)."""
    from bot.settings import database_location
    from models.db import make_engine
    from models.migrate import head_revision, upgrade

    settings = settings_or_exit(require_slack=False, uses=DB_ONLY)
    engine = make_engine(settings.database_url)
    before, after = upgrade(engine)
    where = database_location(settings.database_url)
    if before == after:
        click.echo(f"Database {where} is already at the latest revision ({after}); nothing to do.")
    else:
        click.echo(f"Upgraded {where} from {before or 'empty'} to {after} (latest is {head_revision()}).")


@db.command("current", short_help="The schema revision and the latest.")
@friendly_errors
def db_current() -> None:
    """Show the database's revision and the latest one (never creates a database)."""
    from models.migrate import current_revision, head_revision

    settings = settings_or_exit(require_slack=False, uses=DB_ONLY)
    engine = existing_engine(settings)
    click.echo(f"database: {current_revision(engine) or 'empty'}; latest: {head_revision()}")


@main.group("import", short_help="Import CSV files: accounts, usage, nps, movements.")
def import_() -> None:
    """Import CSV files: accounts, usage, nps, movements. All or nothing."""


@import_.command("accounts", epilog=accounts_help(), short_help="Upsert accounts from a CRM export.")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@friendly_errors
def import_accounts_cmd(file: Path) -> None:
    """Upsert accounts from FILE, keyed on external_id, else name.

    FILE is a CSV export (comma, semicolon, tab or | separated; UTF-8, with or
    without a BOM) with a header row; columns in any order, named as below or by
    one of their other names (case, spaces and punctuation do not matter).
    """
    from bot.accounts.importer import import_accounts
    from bot.clock import SystemClock

    settings = settings_or_exit(require_slack=False, uses=IMPORTS)
    engine = engine_at_head(settings)
    resolver = _resolve_csm_emails(file, settings)
    _run_import(
        file,
        engine,
        lambda session, stream: import_accounts(
            session,
            stream,
            SystemClock(),
            tz=settings.tz,
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
        with file.open(newline="", encoding="utf-8-sig") as stream, session_scope(engine) as session:
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

    settings = settings_or_exit(require_slack=False, uses=IMPORTS)
    engine = engine_at_head(settings)
    importer = {"usage": import_usage, "nps": import_nps}[kind]
    _run_import(file, engine, lambda session, stream: importer(session, stream, SystemClock()))


@import_.command("usage", short_help="Upsert usage snapshots.")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@friendly_errors
def import_usage_cmd(file: Path) -> None:
    """Upsert usage snapshots from FILE, keyed on account + date.

    Columns: account (name or external_id), date (YYYY-MM-DD), active_users,
    licensed_users, optional feature_adoption_pct (0-100). Delimiter and header
    names are matched as for `csbot import accounts`.
    """
    _import_health_file(file, "usage")


@import_.command("nps", short_help="Upsert NPS responses.")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@friendly_errors
def import_nps_cmd(file: Path) -> None:
    """Upsert NPS responses from FILE, keyed on account + date + respondent.

    Columns: account (name or external_id), date (YYYY-MM-DD), score (0-10),
    optional respondent, comment. Delimiter and header names are matched as for
    `csbot import accounts`.
    """
    _import_health_file(file, "nps")


@import_.command("movements", short_help="Add revenue history (ARR movements).")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@friendly_errors
def import_movements_cmd(file: Path) -> None:
    """Add revenue history from FILE (columns: account (name or external_id), date,
    kind new/expansion/contraction/churn/reactivation, amount in dollars; note)."""
    from bot.clock import SystemClock
    from bot.revenue.movements_import import import_movements

    settings = settings_or_exit(require_slack=False, uses=IMPORTS)
    engine = engine_at_head(settings)
    _run_import(
        file, engine, lambda session, stream: import_movements(session, stream, SystemClock(), tz=settings.tz)
    )


def _startup_line(settings: Settings) -> None:
    from bot.settings import startup_line

    click.echo(startup_line(settings), err=True)


def _resolve_csm_emails(file: Path, settings: Settings) -> Callable[[str], str | None] | None:
    """Look up the file's CSM emails in Slack (users.lookupByEmail, once each) before
    the import's transaction opens; None without a bot token (the rows then say so)."""
    if settings.slack_bot_token is None:
        return None
    from bot.accounts.importer import csm_emails
    from bot.app import build_client
    from bot.slack.lookup import LookupFailed, lookup_emails

    try:
        with file.open(newline="", encoding="utf-8-sig") as stream:
            emails = sorted(csm_emails(stream))
    except UnicodeDecodeError:
        return None  # the import itself reports it
    if not emails:
        return None
    click.echo(f"Looking up {len(emails):,} CSM email(s) in Slack…", err=True)
    try:
        found = lookup_emails(build_client(settings, retries=False), emails)
    except LookupFailed as exc:
        fail(f"{exc}. Nothing was written.", 1)
    except OSError as exc:
        fail(f"could not reach Slack ({exc}). Nothing was written.", 1)
    return found.get


# --- delivery and scheduling (PRODUCT.md §6.3) ------------------------------------------


@main.group("outbox", invoke_without_command=True, short_help="Undelivered messages; retry one.")
@click.pass_context
@friendly_errors
def outbox_cmd(ctx: click.Context) -> None:
    """List the messages that could not be delivered (dead Outbox rows)."""
    if ctx.invoked_subcommand is not None:
        return
    from bot.delivery.dead_letters import dead_rows, describe_target

    settings = settings_or_exit(require_slack=False, uses=DB_ONLY)
    rows = dead_rows(engine_at_head(settings))
    if not rows:
        click.echo("No dead messages: everything queued was delivered or is still being retried.")
        return
    click.echo(f"{len(rows)} message(s) could not be delivered (`csbot outbox retry ID` queues one again):")
    click.echo(f"{'ID':>6}  {'KEY':<32}  {'TARGET':<16}  {'ATTEMPTS':>8}  ERROR")
    for row in rows:
        target, error = describe_target(row)[:16], row.last_error or ""
        click.echo(f"{row.id:>6}  {row.key[:32]:<32}  {target:<16}  {row.attempts:>8}  {error}")


@outbox_cmd.command("retry", short_help="Queue a dead message again, with what waits for it.")
@click.argument("row_id", metavar="ID", type=int)
@friendly_errors
def outbox_retry(row_id: int) -> None:
    """Queue the dead message ID again, with the dead messages that wait for it
    (its thread page, its edits); the running bot's worker sends them."""
    from bot.clock import SystemClock
    from bot.delivery.dead_letters import requeue_in, requeued_text
    from models.db import session_scope

    settings = settings_or_exit(require_slack=False, uses=DB_ONLY)
    with session_scope(engine_at_head(settings)) as session:
        done = requeue_in(session, SystemClock(), row_id)
    row = done.row
    if row is None:
        click.echo(f"No Outbox message with ID {row_id}; `csbot outbox` lists the dead ones.", err=True)
        sys.exit(1)
    if not done.requeued:
        click.echo(f"Message {row_id} ({row.key}) is {row.state}, not dead: nothing to retry.", err=True)
        sys.exit(1)
    click.echo(requeued_text(done))


@main.command("scheduler", short_help="Run the scheduler alone.")
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

    settings = settings_or_exit(require_slack=False, uses=SCHEDULER)
    _startup_line(settings)
    configure_logging(settings.log_level)
    engine = engine_at_head(settings)
    service = SchedulerService(
        engine, SystemClock(), lambda: load_specs(settings, engine, job_modules), retry_seconds=lock_retry
    )
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: service.request_stop())
    service.run_forever()


if __name__ == "__main__":
    main()
