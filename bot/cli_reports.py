"""`csbot metrics` and `csbot digest`: the director's figures (PRODUCT.md §6.1) and
the weekly digest (§6.2) at a terminal, computed by the same functions as Slack."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from bot.cli_support import METRICS, engine_at_head, friendly_errors, settings_or_exit


@click.command("metrics", short_help="The director's figures for a week, month or quarter.")
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

    settings = settings_or_exit(require_slack=False, uses=METRICS)
    try:
        day = date.fromisoformat(as_of) if as_of else local_date(SystemClock().now(), settings.tz)
    except ValueError:
        click.echo(f"csbot: --as-of {as_of!r} is not a date: use YYYY-MM-DD, e.g. 2026-11-30", err=True)
        sys.exit(2)
    if csm is not None and not is_user_id(csm):
        click.echo(f"csbot: --csm {csm!r} is not a Slack user ID (U…)", err=True)
        sys.exit(2)
    engine = engine_at_head(settings)
    with session_scope(engine) as session:
        result = team_metrics(session, settings, kind=kind, as_of=day, segment=segment, csm=csm)
    click.echo(json.dumps(result.as_json(), indent=2) if as_json else render_table(result))


@click.command("digest", short_help="Preview the weekly digest, or queue it for a channel.")
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
        engine_at_head,
        lambda: settings_or_exit(require_slack=False, uses=METRICS),
        SystemClock(),
        preview=preview, send=send, channel=channel, week=week, chart=chart,
    )  # fmt: skip
    click.echo(text, err=code != 0)
    if code:
        sys.exit(code)
