"""The at-risk alert's Log touchpoint and Open escalation buttons: from a click
to the log form, and to a form whose submission runs the escalate
flow. No slack_bolt here; handlers/actions.py and handlers/views.py stay thin."""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from bot.accounts.matching import AccountRef
from bot.delivery.outbox import enqueue
from bot.deps import Deps
from bot.errors import CsbotError
from bot.escalations.blocks import (
    MAX_SUMMARY,
    OPEN_ACCOUNT_BLOCK,
    OPEN_OWNER_BLOCK,
    OPEN_SEVERITY_BLOCK,
    OPEN_SUMMARY_BLOCK,
    open_escalation_modal,
    opened_confirmation,
)
from bot.escalations.flow import policy_of
from bot.escalations.policy import SEVERITIES
from bot.escalations.service import Opened, open_escalation
from bot.health.alerts import account_from_button
from bot.slack.action_ids import ActionId
from bot.slack.mentions import is_user_id
from bot.touchpoints.flow import open_log_modal
from models.db import session_scope
from models.tables import Account, Outbox

log = logging.getLogger(__name__)


# --- Log touchpoint ---------------------------------------------------------------


def open_log_for_alert(
    deps: Deps, trigger_id: str, user_id: str, value: str, channel_id: str | None
) -> dict[str, Any]:
    """The log form with the alert's account chosen; the confirmation goes back to
    the alert's channel (ephemeral). Raises BadInput / NotFound for a stale button."""
    with session_scope(deps.engine) as session:
        account = account_from_button(session, value)
        ref = AccountRef(id=account.id or 0, name=account.name)
    return open_log_modal(deps, trigger_id, user_id, account=ref, channel_id=channel_id or None)


# --- Open escalation --------------------------------------------------------------


def open_escalation_form(
    deps: Deps, trigger_id: str, user_id: str, value: str, channel_id: str | None
) -> dict[str, Any]:
    """The Open escalation form for the alert's account, owner preset to its CSM.
    (`channel_id` is unused: the opener's confirmation goes by DM, with a link.)"""
    with session_scope(deps.engine) as session:
        account = account_from_button(session, value)
        account_id, name, csm = account.id or 0, account.name, account.csm_slack_id
    policy = policy_of(deps)
    slas = {sev: policy.sla[sev].describe() for sev in SEVERITIES}
    view = open_escalation_modal(account_id, name, csm=csm, slas=slas)
    response = deps.client.views_open(trigger_id=trigger_id, view=view)
    return response.get("view") or view


def open_new_escalation_form(deps: Deps, trigger_id: str) -> dict[str, Any]:
    """The same form with an account picker first (the Home tab's New escalation)."""
    policy = policy_of(deps)
    slas = {sev: policy.sla[sev].describe() for sev in SEVERITIES}
    view = open_escalation_modal(None, "", csm=None, slas=slas)
    response = deps.client.views_open(trigger_id=trigger_id, view=view)
    return response.get("view") or view


@dataclass(frozen=True)
class EscalationForm:
    account_id: int
    severity: str
    owner: str | None  # None: the account's CSM
    summary: str


def _value(values: dict[str, Any], block: str, action: str) -> dict[str, Any]:
    return (values.get(block) or {}).get(action) or {}


def read_escalation_form(view: dict[str, Any]) -> EscalationForm | dict[str, str]:
    """The submitted form, or {block_id: error} to show on the form."""
    values = (view.get("state") or {}).get("values") or {}
    errors: dict[str, str] = {}
    try:
        meta = json.loads(view.get("private_metadata") or "{}")
        account_id = int(meta["account_id"]) if "account_id" in meta else 0
    except (ValueError, KeyError, TypeError, AttributeError):
        return {OPEN_SUMMARY_BLOCK: "This form is not valid any more: click Open escalation again."}
    if not account_id:  # opened without an account: the picker says which
        picked = _value(values, OPEN_ACCOUNT_BLOCK, ActionId.LOG_ACCOUNT).get("selected_option") or {}
        value = str(picked.get("value", ""))
        if not value.isdigit():
            errors[OPEN_ACCOUNT_BLOCK] = "Pick an account from the list."
        else:
            account_id = int(value)
    severity = str(
        (_value(values, OPEN_SEVERITY_BLOCK, ActionId.ESC_FORM_SEVERITY).get("selected_option") or {}).get(
            "value", ""
        )
    )
    if severity not in SEVERITIES:
        errors[OPEN_SEVERITY_BLOCK] = "Pick a severity: sev1, sev2 or sev3."
    owner = _value(values, OPEN_OWNER_BLOCK, ActionId.ESC_FORM_OWNER).get("selected_user") or None
    if owner is not None and not is_user_id(str(owner)):
        errors[OPEN_OWNER_BLOCK] = "Pick the owner from the list."
    summary = (_value(values, OPEN_SUMMARY_BLOCK, ActionId.ESC_FORM_SUMMARY).get("value") or "").strip()
    if not summary:
        errors[OPEN_SUMMARY_BLOCK] = "Add a summary: what is wrong, for whom."
    elif len(summary) > MAX_SUMMARY:
        errors[OPEN_SUMMARY_BLOCK] = f"Keep the summary under {MAX_SUMMARY} characters."
    if errors:
        return errors
    return EscalationForm(account_id, severity, owner, summary)


def submit_escalation_form(
    deps: Deps, user_id: str, form: EscalationForm, *, view_id: str
) -> Opened | dict[str, str] | None:
    """Open the escalation the form describes and queue the opener's confirmation
    (by DM), all in one transaction; or return the errors to show (nothing written).

    The confirmation's Outbox key names the view, so the same form submitted twice
    (a double click) opens one escalation: the second returns None. Its unique key
    also settles two submissions racing on PostgreSQL: one of them rolls back."""
    claim = f"esc-form:{view_id or uuid.uuid4().hex}:opened"
    try:
        with session_scope(deps.engine) as session:
            if session.exec(select(Outbox.id).where(Outbox.key == claim)).first() is not None:
                return None
            account = session.get(Account, form.account_id)
            owner = form.owner or (account.csm_slack_id if account is not None else None)
            if account is not None and not owner:
                return {
                    OPEN_OWNER_BLOCK: f"{account.name} has no CSM on record: pick who owns this escalation."
                }
            opened = open_escalation(
                session,
                deps.clock,
                account_id=form.account_id,
                severity=form.severity,
                summary=form.summary,
                owner=owner or "",
                opened_by=user_id,
                channel=deps.settings.escalation_channel,
                policy=policy_of(deps),
            )
            text = opened_confirmation(
                opened.escalation_id,
                opened.severity,
                opened.account_name,
                opened.owner,
                opened.channel,
                opened.sla,
            )
            text += " <{permalink}|Open it>"
            enqueue(
                session,
                deps.clock,
                key=claim,
                text=text,
                blocks=[{"type": "section", "text": {"type": "mrkdwn", "text": text}}],
                dm_user=user_id,
                permalink_of=f"esc:{opened.escalation_id}:parent",
            )
    except CsbotError as exc:
        return {OPEN_SUMMARY_BLOCK: exc.message[:500]}
    except IntegrityError:
        log.info("escalation form %s submitted twice at once; opened once", view_id)
        return None
    deps.wake_outbox()
    return opened
