"""Listeners for Slack's actions surface."""

from __future__ import annotations

from slack_bolt import App

from bot.deps import Deps


def register(app: App, deps: Deps) -> None:
    """Feature issues add their listeners here."""
