"""Listeners for Slack's shortcuts surface."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App

from bot.deps import Deps
from bot.slack.action_ids import CallbackId


def register(app: App, deps: Deps) -> None:
    """Feature issues add their listeners here."""
    register_log(app, deps)


# =============================================================================
# "Log as touchpoint" message shortcut -> the log form, pre-filled
# =============================================================================


def register_log(app: App, deps: Deps) -> None:
    import logging

    from bot.touchpoints.flow import open_log_modal, shortcut_prefill

    log = logging.getLogger(__name__)

    @app.shortcut(CallbackId.LOG_AS_TOUCHPOINT)
    def on_log_as_touchpoint(ack: Ack, body: dict[str, Any]) -> None:
        ack()  # sent when this returns; the Slack calls run after, within the trigger's 3 s
        user_id = body["user"]["id"]
        channel_id = (body.get("channel") or {}).get("id", "")

        def work() -> None:
            try:
                note, permalink = shortcut_prefill(deps, channel_id, body.get("message") or {})
                open_log_modal(
                    deps, body["trigger_id"], user_id, note=note, permalink=permalink, channel_id=channel_id
                )
            except Exception:
                log.exception("could not open the log form for %s", user_id)

        deps.executor.submit(work)
