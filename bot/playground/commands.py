"""`csbot demo` and `csbot playground` (PRODUCT.md §7, §7.1), registered on the `csbot`
group by bot/cli.py. The assembly they start lives in the composition root (bot/runner.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import click


@click.command("demo")
@click.option(
    "--db",
    "db_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("csbot-demo.db"),
    show_default=True,
    help="The demo's own SQLite file (re-created on every run; never DATABASE_URL).",
)
def demo_cmd(db_path: Path) -> None:
    """Load a sample portfolio into a database of its own and print what the alerts
    and the digest would post. No Slack, no token."""
    from bot.runner import run_demo

    sys.exit(run_demo(db_path, click.echo))


@click.command("playground")
@click.option("--port", type=int, default=3000, show_default=True, help="Port of the page on 127.0.0.1.")
@click.option("--fresh", is_flag=True, help="Start again from the sample portfolio (drops its data).")
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    help="Where the playground keeps its own database (csbot-playground.db; never DATABASE_URL).",
)
def playground_cmd(port: int, fresh: bool, data_dir: Path) -> None:
    """The whole bot on this machine, with no Slack workspace: a local Slack page at
    http://127.0.0.1:PORT/, a sample team and portfolio, and a clock you can move."""
    from bot.runner import run_playground

    sys.exit(run_playground(data_dir, port=port, fresh=fresh, echo=click.echo))
