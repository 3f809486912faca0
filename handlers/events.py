"""Listeners for the Events API."""

from __future__ import annotations

from typing import Any

from slack_bolt import App

from bot.deps import Deps
from bot.home.view import home_view


def register(app: App, deps: Deps) -> None:
    @app.event("app_home_opened")
    def on_home_opened(event: dict[str, Any]) -> None:
        user = event.get("user")
        if event.get("tab", "home") != "home" or not isinstance(user, str) or not user:
            return  # another tab, or an event without its user: nothing to publish
        deps.client.views_publish(user_id=user, view=home_view(user, deps))
