"""The log form (modal): account picker searching the index, type, date,
sentiment, tags and note. Used by `/cs log` with no arguments, the "Log as
touchpoint" message shortcut and other features' "Log touchpoint" buttons."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from bot.accounts.matching import AccountRef
from bot.slack.action_ids import ActionId, CallbackId
from bot.slack.escape import readable
from bot.touchpoints.grammar import SENTIMENT_LABELS, TYPE_LABELS, TYPES

B_ACCOUNT, B_TYPE, B_DATE, B_SENTIMENT, B_TAGS, B_NOTE = (
    "log_account_block",
    "log_type_block",
    "log_date_block",
    "log_sentiment_block",
    "log_tags_block",
    "log_note_block",
)
MAX_MODAL_NOTE = 2900


def _plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text}


def _option(text: str, value: str) -> dict[str, Any]:
    return {"text": _plain(text[:75]), "value": value}


TYPE_OPTIONS = [_option(TYPE_LABELS[t], t) for t in TYPES]
SENTIMENT_OPTIONS = [_option(SENTIMENT_LABELS[s].capitalize(), str(s)) for s in (1, 0, -1)]


def account_option(ref: AccountRef) -> dict[str, Any]:
    return _option(readable(ref.name), str(ref.id))  # an imported name: its Slack tokens as they read


def log_modal(
    *,
    today: date,
    account: AccountRef | None = None,
    type: str | None = None,
    note: str = "",
    permalink: str | None = None,
    channel_id: str | None = None,
) -> dict[str, Any]:
    """The modal view. `today` is the user's local date (the date picker's default)."""
    account_el: dict[str, Any] = {
        "type": "external_select",
        "action_id": ActionId.LOG_ACCOUNT,
        "placeholder": _plain("Search accounts"),
        "min_query_length": 0,
    }
    if account is not None:
        account_el["initial_option"] = account_option(account)
    type_el: dict[str, Any] = {
        "type": "static_select",
        "action_id": ActionId.LOG_TYPE,
        "placeholder": _plain("Call, meeting, QBR…"),
        "options": TYPE_OPTIONS,
    }
    if type in TYPE_LABELS:
        type_el["initial_option"] = _option(TYPE_LABELS[type], type)
    note_el: dict[str, Any] = {
        "type": "plain_text_input",
        "action_id": ActionId.LOG_NOTE,
        "multiline": True,
        "max_length": MAX_MODAL_NOTE,
        "placeholder": _plain("What happened?"),
    }
    if note:
        note_el["initial_value"] = note[:MAX_MODAL_NOTE]
    blocks: list[dict[str, Any]] = [
        {"type": "input", "block_id": B_ACCOUNT, "label": _plain("Account"), "element": account_el},
        {"type": "input", "block_id": B_TYPE, "label": _plain("Type"), "element": type_el},
        {
            "type": "input",
            "block_id": B_DATE,
            "label": _plain("Date"),
            "element": {
                "type": "datepicker",
                "action_id": ActionId.LOG_DATE,
                "initial_date": today.isoformat(),
            },
        },
        {
            "type": "input",
            "block_id": B_SENTIMENT,
            "label": _plain("Sentiment"),
            "element": {
                "type": "static_select",
                "action_id": ActionId.LOG_SENTIMENT,
                "options": SENTIMENT_OPTIONS,
                "initial_option": SENTIMENT_OPTIONS[1],
            },
        },
        {"type": "input", "block_id": B_NOTE, "label": _plain("Note"), "element": note_el},
        {
            "type": "input",
            "block_id": B_TAGS,
            "optional": True,
            "label": _plain("Tags"),
            "hint": _plain("Separated by spaces or commas, e.g. renewal pricing"),
            "element": {"type": "plain_text_input", "action_id": ActionId.LOG_TAGS},
        },
    ]
    if permalink:
        blocks.append(
            {"type": "context", "elements": [{"type": "mrkdwn", "text": f"From <{permalink}|this message>"}]}
        )
    metadata = json.dumps({"permalink": permalink, "channel": channel_id}, separators=(",", ":"))
    return {
        "type": "modal",
        "callback_id": CallbackId.LOG_MODAL,
        "title": _plain("Log a touchpoint"),
        "submit": _plain("Log"),
        "close": _plain("Cancel"),
        "private_metadata": metadata,
        "blocks": blocks,
    }
