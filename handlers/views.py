"""Listeners for Slack's views surface."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App

from bot.deps import Deps
from bot.slack.action_ids import CallbackId


def register(app: App, deps: Deps) -> None:
    """Feature issues add their listeners here."""
    register_escalation_views(app, deps)
    register_log(app, deps)
    register_alert_escalation_view(app, deps)


# =============================================================================
# Escalations (PRODUCT.md §5): the Resolve and Add note modals. A refusal or an empty
# note is shown on the modal's field (response_action=errors); nothing is written.
# =============================================================================


def register_escalation_views(app: App, deps: Deps) -> None:
    import json

    from bot.errors import CsbotError
    from bot.escalations import service as escalations
    from bot.escalations.blocks import NOTE_BLOCK, NOTE_INPUT
    from bot.slack.action_ids import CallbackId
    from models.db import session_scope

    def submitted(ack: Ack, body: dict[str, Any], resolve: bool) -> None:
        view = body["view"]
        user_id = body["user"]["id"]
        try:
            esc_id = int(json.loads(view.get("private_metadata") or "{}")["escalation_id"])
        except (ValueError, KeyError, TypeError):
            ack(response_action="errors", errors={NOTE_BLOCK: "This form is not valid any more."})
            return
        note = ((view["state"]["values"].get(NOTE_BLOCK) or {}).get(NOTE_INPUT) or {}).get("value") or ""
        try:
            with session_scope(deps.engine) as session:
                if resolve:
                    escalations.resolve(session, deps.clock, deps.settings, esc_id, user_id, note)
                else:
                    escalations.add_note(session, deps.clock, esc_id, user_id, note)
        except CsbotError as exc:
            ack(response_action="errors", errors={NOTE_BLOCK: exc.message[:500]})
            return
        ack()
        deps.wake_outbox()
        deps.own_write(user_id)

    @app.view(CallbackId.ESC_RESOLVE_MODAL)
    def on_resolve(ack: Ack, body: dict[str, Any]) -> None:
        submitted(ack, body, resolve=True)

    @app.view(CallbackId.ESC_NOTE_MODAL)
    def on_note(ack: Ack, body: dict[str, Any]) -> None:
        submitted(ack, body, resolve=False)


# =============================================================================
# the log form's submission
# =============================================================================


def register_log(app: App, deps: Deps) -> None:
    import logging

    from bot.errors import CsbotError
    from bot.touchpoints.flow import FormEntry, confirm_form_entry, read_log_form, record_form_entry
    from bot.touchpoints.form import B_ACCOUNT

    log = logging.getLogger(__name__)

    @app.view(CallbackId.LOG_MODAL)
    def on_log_submit(ack: Ack, body: dict[str, Any]) -> None:
        user_id = body["user"]["id"]
        view = body["view"]
        entry = read_log_form(deps, user_id, view)
        if not isinstance(entry, FormEntry):
            ack(response_action="errors", errors=entry)
            return
        # Written before the form closes, so a failure is shown on it, never lost.
        try:
            rec = record_form_entry(deps, user_id, entry, view_id=view.get("id", ""))
        except CsbotError as exc:
            ack(response_action="errors", errors={B_ACCOUNT: exc.message[:150]})
            return
        ack()

        def confirm() -> None:  # a Slack call: after the ack, off the request thread
            try:
                confirm_form_entry(deps, user_id, entry, rec)
            except Exception:
                log.exception("could not confirm the log form of %s", user_id)

        deps.executor.submit(confirm)
        deps.own_write(user_id)


# =============================================================================
# At-risk alert -> Open escalation (PRODUCT.md §4 × §5): the form's submission runs
# the escalate flow. Invalid input is shown on the form and nothing is written.
# =============================================================================


def register_alert_escalation_view(app: App, deps: Deps) -> None:
    from bot.health.alert_actions import read_escalation_form, submit_escalation_form

    @app.view(CallbackId.ESC_OPEN_MODAL)
    def on_open_escalation(ack: Ack, body: dict[str, Any]) -> None:
        form = read_escalation_form(body["view"])
        if isinstance(form, dict):
            ack(response_action="errors", errors=form)
            return
        opened = submit_escalation_form(deps, body["user"]["id"], form, view_id=body["view"].get("id", ""))
        if isinstance(opened, dict):
            ack(response_action="errors", errors=opened)
            return
        ack()  # closes the form; the parent message, the pages and the opener's DM go out via the Outbox
        deps.own_write(body["user"]["id"])
