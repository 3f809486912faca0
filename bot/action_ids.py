"""Every action_id and callback_id the bot's Block Kit uses, in one place, so
builders and listeners cannot drift apart."""

from __future__ import annotations

from enum import StrEnum


class ActionId(StrEnum):
    """Buttons, selects and menus (block_actions / block_suggestion)."""

    UNDO = "undo"

    # escalations (issue 6): buttons and the reassign select on the parent message
    ESC_ACK = "esc_ack"
    ESC_RESOLVE = "esc_resolve"
    ESC_REASSIGN = "esc_reassign"
    ESC_ESCALATE = "esc_escalate"
    ESC_NOTE = "esc_note"
    # --- customer health (issue 7): buttons on at-risk alerts; value = account id ---
    ALERT_LOG_TOUCHPOINT = "alert_log_touchpoint"
    ALERT_SNOOZE = "alert_snooze"
    ALERT_OPEN_ESCALATION = "alert_open_escalation"


class CallbackId(StrEnum):
    """Modals (view_submission) and shortcuts."""

    # escalations (issue 6)
    ESC_RESOLVE_MODAL = "esc_resolve_modal"
    ESC_NOTE_MODAL = "esc_note_modal"
