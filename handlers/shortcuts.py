"""Listeners for Slack's shortcuts surface."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App

from bot.action_ids import CallbackId
from bot.deps import Deps


def register(app: App, deps: Deps) -> None:
    """Feature issues add their listeners here."""
    register_log(app, deps)  # issue 4


# =============================================================================
# issue 4: "Log as touchpoint" message shortcut -> the log form, pre-filled
# =============================================================================


def register_log(app: App, deps: Deps) -> None:
    from bot.log_flow import open_log_modal, shortcut_prefill

    @app.shortcut(CallbackId.LOG_AS_TOUCHPOINT)
    def on_log_as_touchpoint(ack: Ack, body: dict[str, Any]) -> None:
        ack()
        user_id = body["user"]["id"]
        channel_id = (body.get("channel") or {}).get("id", "")
        note, permalink = shortcut_prefill(deps, channel_id, body.get("message") or {})
        open_log_modal(
            deps, body["trigger_id"], user_id, note=note, permalink=permalink, channel_id=channel_id
        )
