"""Every action_id and callback_id the bot's Block Kit uses, in one place, so
builders and listeners cannot drift apart."""

from __future__ import annotations

from enum import StrEnum


class ActionId(StrEnum):
    """Buttons, selects and menus (block_actions / block_suggestion)."""

    UNDO = "undo"
    # --- /cs log and the account card ---
    LOG_PICK_ACCOUNT = "log_pick_account"  # one button per candidate; suffixed _0.._4 in a message
    LOG_ACCOUNT = "log_account"  # the modal's external_select (block_suggestion)
    LOG_TYPE = "log_type"
    LOG_DATE = "log_date"
    LOG_SENTIMENT = "log_sentiment"
    LOG_TAGS = "log_tags"
    LOG_NOTE = "log_note"
    ACCOUNT_PICK = "account_pick"  # /cs account with several matches; suffixed _0.._4
    ACCOUNT_SHARE = "account_share"  # post the card to the channel
    METRICS_SHARE = "metrics_share"  # post /cs metrics to the channel; value = the figures asked for

    # escalations (PRODUCT.md §5): buttons and the reassign select on the parent message
    ESC_ACK = "esc_ack"
    ESC_RESOLVE = "esc_resolve"
    ESC_REASSIGN = "esc_reassign"
    ESC_ESCALATE = "esc_escalate"
    ESC_NOTE = "esc_note"
    # --- customer health (PRODUCT.md §4): buttons on at-risk alerts; value = account id ---
    ALERT_LOG_TOUCHPOINT = "alert_log_touchpoint"
    ALERT_SNOOZE = "alert_snooze"
    ALERT_OPEN_ESCALATION = "alert_open_escalation"
    # --- the "Open escalation" form opened from an at-risk alert ---
    ESC_FORM_SEVERITY = "esc_form_severity"
    ESC_FORM_OWNER = "esc_form_owner"
    ESC_FORM_SUMMARY = "esc_form_summary"
    # --- the Home tab (PRODUCT.md §2.1) ---
    HOME_LOG = "home_log"  # opens the log form
    HOME_NEW_ESCALATION = "home_new_escalation"  # opens the Open escalation form with an account picker
    HOME_ACCOUNT_MENU = "home_account_menu"  # a desk row's overflow: "log:<id>" / "esc:<id>"


class CallbackId(StrEnum):
    """Modals (view_submission) and shortcuts."""

    # escalations (PRODUCT.md §5)
    ESC_RESOLVE_MODAL = "esc_resolve_modal"
    ESC_NOTE_MODAL = "esc_note_modal"
    ESC_OPEN_MODAL = "esc_open_modal"  # "Open escalation" on an at-risk alert
    # --- /cs log ---
    LOG_MODAL = "log_touchpoint"
    LOG_AS_TOUCHPOINT = "log_as_touchpoint"  # message shortcut (manifest.yml)
