"""What every `csbot` command shares: settings loaded or one line naming the problem."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
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
