"""The forms the Home tab's buttons open: the log form and the Open escalation
form, the same ones the at-risk alert's buttons open (so one submission path
writes, whichever surface the click came from)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.errors import BadInput
from bot.health.alert_actions import open_escalation_form, open_log_for_alert, open_new_escalation_form
from bot.slack.action_ids import ActionId
from bot.touchpoints.flow import open_log_modal

if TYPE_CHECKING:
    from bot.deps import Deps


def open_home_form(deps: Deps, trigger_id: str, user_id: str, action_id: str, value: str) -> None:
    """Open the form a Home button names; a stale button raises BadInput / NotFound."""
    if action_id == ActionId.HOME_LOG:
        open_log_modal(deps, trigger_id, user_id)
    elif action_id == ActionId.HOME_NEW_ESCALATION:
        open_new_escalation_form(deps, trigger_id)
    elif action_id == ActionId.HOME_ACCOUNT_MENU:
        kind, _, account = value.partition(":")
        if kind == "log":
            open_log_for_alert(deps, trigger_id, user_id, account, None)
        elif kind == "esc":
            open_escalation_form(deps, trigger_id, user_id, account, None)
        else:
            raise BadInput("That menu is not valid any more: open the Home tab again.")
    else:
        raise BadInput("That button is not valid any more: open the Home tab again.")
