"""Listeners for Slack's views surface."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App

from bot.action_ids import CallbackId
from bot.deps import Deps


def register(app: App, deps: Deps) -> None:
    """Feature issues add their listeners here."""
    register_log(app, deps)  # issue 4


# =============================================================================
# issue 4: the log form's submission
# =============================================================================


def register_log(app: App, deps: Deps) -> None:
    import logging

    from bot.log_flow import FormEntry, read_log_form, record_form_entry

    log = logging.getLogger(__name__)

    @app.view(CallbackId.LOG_MODAL)
    def on_log_submit(ack: Ack, body: dict[str, Any]) -> None:
        user_id = body["user"]["id"]
        view = body["view"]
        entry = read_log_form(deps, user_id, view)
        if not isinstance(entry, FormEntry):
            ack(response_action="errors", errors=entry)
            return
        ack()  # closes the form; the write and the confirmation follow off the request thread

        def work() -> None:
            try:
                record_form_entry(deps, user_id, entry, view_id=view.get("id", ""))
            except Exception:
                log.exception("could not record the log form of %s", user_id)

        deps.executor.submit(work)
