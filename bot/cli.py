"""The `csbot` command: run the bot, migrate the database, import data."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

import click

from bot.cli_support import friendly_errors, settings_or_exit
from bot.playground.commands import demo_cmd, playground_cmd
from bot.settings import Settings


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """csbot: the Slack bot a Customer Success team runs its week on.

    Settings come from the environment and .env (see .env.example).
    """


main.add_command(demo_cmd)  # the demo and the playground (PRODUCT.md §7, §7.1)
main.add_command(playground_cmd)


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


@import_.command("movements")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@friendly_errors
def import_movements_cmd(file: Path) -> None:
    """Add revenue history from FILE (columns: account (name or external_id), date,
    kind new/expansion/contraction/churn/reactivation, amount in dollars; note)."""
    from bot.clock import SystemClock
    from bot.revenue.movements_import import import_movements

    settings = settings_or_exit(require_slack=False)
    engine = _engine_at_head(settings)
    _run_import(
        file, engine, lambda session, stream: import_movements(session, stream, SystemClock(), tz=settings.tz)
    )


@main.command("metrics")
@click.argument("kind", type=click.Choice(["week", "month", "quarter"]), default="week")
@click.option("--as-of", "as_of", default=None, help="YYYY-MM-DD: the period containing it (default today).")
@click.option("--segment", default=None, help="Only accounts of this segment.")
@click.option("--csm", default=None, help="Only this CSM's book (Slack user ID U…).")
@click.option("--json", "as_json", is_flag=True, help="Print the §6.1 JSON object instead of a table.")
@friendly_errors
def metrics_cmd(kind: str, as_of: str | None, segment: str | None, csm: str | None, as_json: bool) -> None:
    """The director's figures (PRODUCT.md §6.1) for the period to date, against the one before."""
    import json
    from datetime import date

    from bot.clock import SystemClock, local_date
    from bot.metrics.flow import team_metrics
    from bot.metrics.terminal import render_table
    from bot.slack.mentions import is_user_id
    from models.db import session_scope

    settings = settings_or_exit(require_slack=False)
    try:
        day = date.fromisoformat(as_of) if as_of else local_date(SystemClock().now(), settings.tz)
    except ValueError:
        click.echo(f"csbot: --as-of {as_of!r} is not a date: use YYYY-MM-DD, e.g. 2026-11-30", err=True)
        sys.exit(2)
    if csm is not None and not is_user_id(csm):
        click.echo(f"csbot: --csm {csm!r} is not a Slack user ID (U…)", err=True)
        sys.exit(2)
    engine = _engine_at_head(settings)
    with session_scope(engine) as session:
        result = team_metrics(session, settings, kind=kind, as_of=day, segment=segment, csm=csm)
    click.echo(json.dumps(result.as_json(), indent=2) if as_json else render_table(result))


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
    from jobs.outbox import dead_rows

    settings = settings_or_exit(require_slack=False)
    rows = dead_rows(_engine_at_head(settings))
    if not rows:
        click.echo("No dead messages: everything queued was delivered or is still being retried.")
        return
    click.echo(f"{len(rows)} message(s) could not be delivered (`csbot outbox retry ID` queues one again):")
    click.echo(f"{'ID':>6}  {'KEY':<32}  {'TARGET':<16}  {'ATTEMPTS':>8}  ERROR")
    for row in rows:
        target, error = _target(row)[:16], row.last_error or ""
        click.echo(f"{row.id:>6}  {row.key[:32]:<32}  {target:<16}  {row.attempts:>8}  {error}")


def _target(row: Any) -> str:
    if row.update_key:
        return f"edit of {row.update_key}"
    where = row.channel or f"DM {row.dm_user}"
    return f"{where} (thread)" if row.thread_key or row.thread_ts else where


@outbox_cmd.command("retry")
@click.argument("row_id", metavar="ID", type=int)
@friendly_errors
def outbox_retry(row_id: int) -> None:
    """Queue the dead message ID again (it is sent by the running bot's worker)."""
    from bot.clock import SystemClock
    from jobs.outbox import requeue

    settings = settings_or_exit(require_slack=False)
    row, requeued = requeue(_engine_at_head(settings), SystemClock(), row_id)
    if row is None:
        click.echo(f"No Outbox message with ID {row_id}; `csbot outbox` lists the dead ones.", err=True)
        sys.exit(1)
    if not requeued:
        click.echo(f"Message {row_id} ({row.key}) is {row.state}, not dead: nothing to retry.", err=True)
        sys.exit(1)
    click.echo(f"Queued message {row_id} ({row.key}) for {_target(row)} again; the bot will send it now.")


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


@main.command("digest")
@click.option("--preview", is_flag=True, help="Print the digest as text; nothing is posted.")
@click.option("--send", is_flag=True, help="Queue the digest for --channel now (once per week and channel).")
@click.option("--channel", metavar="C", help="A channel ID with a digest subscription.")
@click.option("--week", metavar="2026-W48", help="The ISO week (default: the last complete week).")
@click.option("--chart", type=click.Path(dir_okay=False, path_type=Path), help="Write the chart PNG here.")
@friendly_errors
def digest_cmd(preview: bool, send: bool, channel: str | None, week: str | None, chart: Path | None) -> None:
    """Preview the weekly digest (PRODUCT.md §6.2), or queue it for a channel now."""
    from bot.clock import SystemClock
    from bot.digest.commands import digest_command

    code, text = digest_command(
        _engine_at_head,
        lambda: settings_or_exit(require_slack=False),
        SystemClock(),
        preview=preview, send=send, channel=channel, week=week, chart=chart,
    )  # fmt: skip
    click.echo(text, err=code != 0)
    if code:
        sys.exit(code)

if __name__ == "__main__":
    main()
