"""Slack listeners, one module per surface, each with `register(app, deps)`."""

from __future__ import annotations

from slack_bolt import App

from bot.deps import Deps


def register_all(app: App, deps: Deps) -> None:
    from handlers import actions, commands, events, shortcuts, views

    for module in (commands, actions, views, shortcuts, events):
        module.register(app, deps)
