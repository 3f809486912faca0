"""Every action_id and callback_id the bot's Block Kit uses, in one place, so
builders and listeners cannot drift apart."""

from __future__ import annotations

from enum import StrEnum


class ActionId(StrEnum):
    """Buttons, selects and menus (block_actions / block_suggestion)."""

    UNDO = "undo"
    # --- issue 4: /cs log and the account card ---
    LOG_PICK_ACCOUNT = "log_pick_account"  # one button per candidate; suffixed _0.._4 in a message
    LOG_ACCOUNT = "log_account"  # the modal's external_select (block_suggestion)
    LOG_TYPE = "log_type"
    LOG_DATE = "log_date"
    LOG_SENTIMENT = "log_sentiment"
    LOG_TAGS = "log_tags"
    LOG_NOTE = "log_note"
    ACCOUNT_PICK = "account_pick"  # /cs account with several matches; suffixed _0.._4
    ACCOUNT_SHARE = "account_share"  # post the card to the channel


class CallbackId(StrEnum):
    """Modals (view_submission) and shortcuts."""

    # --- issue 4 ---
    LOG_MODAL = "log_touchpoint"
    LOG_AS_TOUCHPOINT = "log_as_touchpoint"  # message shortcut (manifest.yml)
