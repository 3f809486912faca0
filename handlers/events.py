"""Listeners for the Events API."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import App

from bot.deps import Deps
from bot.home.figures import FigureCache
from bot.home.flow import HomeState, publish_home, refresh_home_later

log = logging.getLogger(__name__)


def register(app: App, deps: Deps) -> None:
    deps.home = HomeState(FigureCache(deps.clock.now))
    deps.on_own_write = lambda user_id, notice=None: refresh_home_later(deps, user_id, notice=notice)

    @app.event("app_home_opened")
    def on_home_opened(event: dict[str, Any]) -> None:
        # The desk is built and published after the ack (PRODUCT.md §2.1), with the
        # hash of the view the person has open, if any.
        user_id = event.get("user")
        if event.get("tab", "home") != "home" or not isinstance(user_id, str) or not user_id:
            return  # another tab, or an event without its user: nothing to publish
        view = event.get("view")
        seen = view.get("hash") if isinstance(view, dict) else None

        def work() -> None:
            try:
                publish_home(deps, user_id, seen_hash=seen)
            except Exception:
                log.exception("could not publish the home of %s", user_id)

        deps.executor.submit(work)
