"""Listeners for buttons and menus (block_actions)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk.errors import SlackApiError

from bot.deps import Deps
from bot.errors import CsbotError, NotFound
from bot.slack.action_ids import ActionId
from bot.slack.mentions import is_user_id
from bot.touchpoints.undo import perform_undo
from models.db import session_scope


def share_in_channel(respond: Respond, user_id: str, answer_for: Callable[[str], Any]) -> None:
    """A Share button: post the clicker's answer to the channel, saying who shared it;
    a refusal (e.g. a role the clicker lacks) stays private."""
    try:
        answer = answer_for(user_id)
    except CsbotError as exc:
        respond(text=exc.message, response_type="ephemeral", replace_original=False)
        return
    context = {"type": "context", "elements": [{"type": "mrkdwn", "text": f"Shared by <@{user_id}>"}]}
    respond(
        text=answer.text,
        blocks=[*(answer.blocks or []), context],
        response_type="in_channel",
        replace_original=False,
    )


def register(app: App, deps: Deps) -> None:
    @app.action(ActionId.UNDO)
    def on_undo(ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        ack()
        user_id = body["user"]["id"]
        value = body["actions"][0].get("value", "")
        try:
            with session_scope(deps.engine) as session:
                text = perform_undo(session, deps.clock, user_id, value)
        except CsbotError as exc:
            respond(text=exc.message, response_type="ephemeral", replace_original=False)
            return
        respond(text=f":leftwards_arrow_with_hook: {text}", response_type="ephemeral", replace_original=True)
        deps.own_write(user_id)

    register_escalation_actions(app, deps)
    register_home_actions(app, deps)
    register_log(app, deps)
    register_health_actions(app, deps)
    register_metrics(app, deps)
    register_delivery_actions(app, deps)


# =============================================================================
# Escalations (PRODUCT.md §5): the buttons and the reassign select on the parent message.
# A refused click gets an ephemeral sentence (to the clicker only) and changes nothing.
# =============================================================================


def _escalation_id(body: dict[str, Any]) -> int | None:
    from bot.escalations.blocks import escalation_id_from_block

    action = body["actions"][0]
    value = action.get("value")
    if value and str(value).isdigit():
        return int(value)
    return escalation_id_from_block(action.get("block_id", ""))


def _tell(respond: Respond, text: str) -> None:
    respond(text=text, response_type="ephemeral", replace_original=False)


def from_home(body: dict[str, Any]) -> bool:
    """A click on the Home tab: there is no response_url, the desk itself answers."""
    container, view = body.get("container") or {}, body.get("view") or {}
    return container.get("type") == "view" and view.get("type") == "home"


def tell_clicker(deps: Deps, body: dict[str, Any], respond: Respond, text: str) -> None:
    """A refusal for the clicker only: ephemeral where they clicked, or on top of their desk."""
    if from_home(body):
        deps.own_write(body["user"]["id"], notice=text)
    else:
        _tell(respond, text)


def register_escalation_actions(app: App, deps: Deps) -> None:
    from bot.escalations import service as escalations
    from bot.escalations.blocks import note_modal
    from bot.escalations.changes import check_may_resolve
    from bot.slack.action_ids import CallbackId
    from models.tables import Account, Escalation

    def run(body: dict[str, Any], respond: Respond, work: Any) -> None:
        """One change in one transaction; a known error goes back to the clicker only."""
        esc_id = _escalation_id(body)
        if esc_id is None:
            tell_clicker(deps, body, respond, "That button is not valid any more.")
            return
        try:
            with session_scope(deps.engine) as session:
                work(session, esc_id, body["user"]["id"])
        except CsbotError as exc:
            tell_clicker(deps, body, respond, exc.message)
            return
        deps.wake_outbox()
        deps.own_write(body["user"]["id"])

    @app.action(ActionId.ESC_ACK)
    def on_ack(ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        ack()
        run(body, respond, lambda s, i, u: escalations.acknowledge(s, deps.clock, deps.settings, i, u))

    @app.action(ActionId.ESC_ESCALATE)
    def on_escalate(ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        ack()
        run(body, respond, lambda s, i, u: escalations.escalate_now(s, deps.clock, deps.settings, i, u))

    @app.action(ActionId.ESC_REASSIGN)
    def on_reassign(ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        ack()
        new_owner = body["actions"][0].get("selected_user") or ""
        if not is_user_id(new_owner):
            _tell(respond, "Pick the person to reassign it to from the list. Nothing was changed.")
            return
        run(
            body,
            respond,
            lambda s, i, u: escalations.reassign(s, deps.clock, deps.settings, i, u, new_owner),
        )

    def open_modal(body: dict[str, Any], respond: Respond, resolve: bool) -> None:
        esc_id = _escalation_id(body)
        user_id = body["user"]["id"]
        if esc_id is None:
            tell_clicker(deps, body, respond, "That button is not valid any more.")
            return
        try:
            with session_scope(deps.engine) as session:
                esc = session.get(Escalation, esc_id)
                if esc is None:
                    raise NotFound(f"Escalation #{esc_id} does not exist.")
                if resolve:
                    check_may_resolve(session, deps.settings, esc, user_id)
                account = session.get(Account, esc.account_id)
                name = account.name if account else "?"
        except CsbotError as exc:
            tell_clicker(deps, body, respond, exc.message)
            return
        callback = CallbackId.ESC_RESOLVE_MODAL if resolve else CallbackId.ESC_NOTE_MODAL
        view = note_modal(callback, esc_id, name, resolve=resolve)
        deps.client.views_open(trigger_id=body["trigger_id"], view=view)

    @app.action(ActionId.ESC_RESOLVE)
    def on_resolve(ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        ack()
        open_modal(body, respond, resolve=True)

    @app.action(ActionId.ESC_NOTE)
    def on_note(ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        ack()
        open_modal(body, respond, resolve=False)


# =============================================================================
# Customer health (PRODUCT.md §4): the buttons on at-risk alerts. Value = account id.
# =============================================================================


def register_health_actions(app: App, deps: Deps) -> None:
    import logging

    from bot.errors import CsbotError as _CsbotError
    from bot.health.alert_actions import open_escalation_form, open_log_for_alert
    from bot.health.alerts import snooze

    log = logging.getLogger(__name__)

    def _answer(respond: Respond, text: str) -> None:
        # ephemeral to the clicker; the channel's alert message stays as it is
        respond(text=text, response_type="ephemeral", replace_original=False)

    @app.action(ActionId.ALERT_SNOOZE)
    def on_alert_snooze(ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        ack()
        try:
            with session_scope(deps.engine) as session:
                text = snooze(session, deps.clock, body["user"]["id"], body["actions"][0].get("value", ""))
        except _CsbotError as exc:
            text = exc.message
        _answer(respond, text)

    # Log touchpoint -> the log form, the account chosen; Open escalation ->
    # a form whose submission runs the escalate flow (handlers/views.py).
    # Both open after the ack, within the trigger's 3 s; a stale button is answered.
    def open_form(body: dict[str, Any], respond: Respond, opener: Any) -> None:
        user_id = body["user"]["id"]
        value = body["actions"][0].get("value", "")
        channel_id = (body.get("channel") or {}).get("id")

        def work() -> None:
            try:
                opener(deps, body["trigger_id"], user_id, value, channel_id)
            except _CsbotError as exc:
                _answer(respond, exc.message)
            except SlackApiError as exc:  # e.g. expired_trigger_id: Slack's refusal, one line
                log.warning("could not open the form for %s: %s", user_id, exc.response.get("error"))
                _answer(respond, "Sorry, I could not open the form. Please click the button again.")
            except Exception:
                log.exception("could not open the form for %s", user_id)
                _answer(respond, "Sorry, I could not open the form. Please click the button again.")

        deps.executor.submit(work)

    @app.action(ActionId.ALERT_LOG_TOUCHPOINT)
    def on_alert_log(ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        ack()
        open_form(body, respond, open_log_for_alert)

    @app.action(ActionId.ALERT_OPEN_ESCALATION)
    def on_alert_escalate(ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        ack()
        open_form(body, respond, open_escalation_form)


# =============================================================================
# /cs log — the account picker buttons and the form's account search
# =============================================================================


def register_log(app: App, deps: Deps) -> None:
    import re

    from bot.touchpoints.flow import account_options, card_for_button, log_picked

    @app.action(re.compile(rf"^{ActionId.LOG_PICK_ACCOUNT}_\d+$"))
    def on_pick_account(ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        ack()
        user_id = body["user"]["id"]
        value = body["actions"][0].get("value", "")
        try:
            answer = log_picked(deps, user_id, value)
        except CsbotError as exc:
            respond(text=exc.message, response_type="ephemeral", replace_original=False)
            return
        respond(text=answer.text, blocks=answer.blocks, response_type="ephemeral", replace_original=True)
        deps.own_write(user_id)

    @app.options(ActionId.LOG_ACCOUNT)
    def on_account_search(ack: Ack, body: dict[str, Any]) -> None:
        ack(options=account_options(deps, body.get("value", "")))

    @app.action(re.compile(rf"^{ActionId.ACCOUNT_PICK}_\d+$"))
    def on_pick_card(ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        ack()
        try:
            answer = card_for_button(deps, body["user"]["id"], body["actions"][0].get("value", ""))
        except CsbotError as exc:
            respond(text=exc.message, response_type="ephemeral", replace_original=False)
            return
        respond(text=answer.text, blocks=answer.blocks, response_type="ephemeral", replace_original=True)

    @app.action(ActionId.ACCOUNT_SHARE)
    def on_share_card(ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        """The user asked to share their card: it goes to the channel as their command's answer."""
        ack()
        value = body["actions"][0].get("value", "")

        def card(user_id: str) -> Any:
            return card_for_button(deps, user_id, value, shareable=False)

        share_in_channel(respond, body["user"]["id"], card)


# =============================================================================
# The Home tab (PRODUCT.md §2.1): Log a touchpoint, New escalation, and each desk
# row's menu open the same forms as the at-risk alert's buttons. The escalation
# buttons on the desk are the thread's own (ESC_* above).
# =============================================================================


def register_home_actions(app: App, deps: Deps) -> None:
    import logging

    from bot.home.forms import open_home_form

    log = logging.getLogger(__name__)

    def opener(ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        ack()
        action = body["actions"][0]
        value = action.get("value") or (action.get("selected_option") or {}).get("value") or ""
        user_id = body["user"]["id"]

        def work() -> None:  # within the trigger's 3 s, off the request thread
            try:
                open_home_form(deps, body["trigger_id"], user_id, action["action_id"], value)
            except CsbotError as exc:
                tell_clicker(deps, body, respond, exc.message)
            except SlackApiError as exc:  # e.g. expired_trigger_id: Slack's refusal, one line
                log.warning("could not open the form for %s: %s", user_id, exc.response.get("error"))
                tell_clicker(deps, body, respond, "Sorry, I could not open the form. Please click again.")
            except Exception:
                log.exception("could not open the form for %s", user_id)
                tell_clicker(deps, body, respond, "Sorry, I could not open the form. Please click again.")

        deps.executor.submit(work)

    for action_id in (ActionId.HOME_LOG, ActionId.HOME_NEW_ESCALATION, ActionId.HOME_ACCOUNT_MENU):
        app.action(action_id)(opener)


# =============================================================================
# /cs metrics — the Share button (PRODUCT.md §6.1)
# =============================================================================


def register_metrics(app: App, deps: Deps) -> None:
    from bot.metrics.command import shared_metrics

    @app.action(ActionId.METRICS_SHARE)
    def on_share_metrics(ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        """`/cs metrics` shared: the same figures go to the channel, with who shared them."""
        ack()
        value = body["actions"][0].get("value", "")
        share_in_channel(respond, body["user"]["id"], lambda user_id: shared_metrics(deps, user_id, value))


# =============================================================================
# Delivery (PRODUCT.md §6.3): Retry on the admins' DM about undelivered messages.
# =============================================================================


def register_delivery_actions(app: App, deps: Deps) -> None:
    from bot.delivery.dead_letters import retry_from_button

    @app.action(ActionId.OUTBOX_RETRY)
    def on_outbox_retry(ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        ack()
        value = str(body["actions"][0].get("value", ""))
        try:
            with session_scope(deps.engine) as session:
                text = retry_from_button(session, deps.clock, deps.settings, body["user"]["id"], value)
        except CsbotError as exc:
            respond(text=exc.message, response_type="ephemeral", replace_original=False)
            return
        deps.wake_outbox()
        respond(text=text, response_type="ephemeral", replace_original=False)
