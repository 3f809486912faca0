"""The ephemeral confirmation of a recorded touchpoint, with its Undo button,
and the "which account?" question when a name matches several."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.accounts.matching import AccountRef
from bot.slack.action_ids import ActionId
from bot.slack.elements import button
from bot.slack.escape import escape
from bot.touchpoints.grammar import SENTIMENT_LABELS, TYPE_LABELS
from bot.touchpoints.recording import Recorded
from bot.touchpoints.undo import undo_button

SENTIMENT_EMOJI = {1: ":large_green_circle:", 0: ":white_circle:", -1: ":red_circle:"}
MAX_PICK_BUTTONS = 5


def local_day(when: datetime, tz: ZoneInfo) -> str:
    """'Thu 19 Nov 2026' in the reader's time zone."""
    return when.astimezone(tz).strftime("%a %d %b %Y")


def sentiment_text(sentiment: int) -> str:
    return f"{SENTIMENT_EMOJI.get(sentiment, '')} {SENTIMENT_LABELS.get(sentiment, 'neutral')}".strip()


def log_confirmation(
    rec: Recorded, tz: ZoneInfo, *, ephemeral: bool = True
) -> tuple[str, list[dict[str, Any]]]:
    """(fallback text, blocks) for 'this is what I recorded'. Shown ephemerally to
    the author, the note keeps their @-mentions live (it notifies nobody); a copy
    sent by DM (`ephemeral=False`) keeps none."""
    label = TYPE_LABELS.get(rec.type, rec.type)
    account = escape(rec.account_name)
    day = local_day(rec.occurred_at, tz)
    head = ":white_check_mark: Logged" if rec.created else ":white_check_mark: Already logged"
    text = f"{head}: {label} with {account} on {day} ({SENTIMENT_LABELS.get(rec.sentiment)})"
    fields = [
        {"type": "mrkdwn", "text": f"*Account*\n{account}"},
        {"type": "mrkdwn", "text": f"*Type*\n{label}"},
        {"type": "mrkdwn", "text": f"*Date*\n{day}"},
        {"type": "mrkdwn", "text": f"*Sentiment*\n{sentiment_text(rec.sentiment)}"},
    ]
    if rec.tags:
        fields.append({"type": "mrkdwn", "text": "*Tags*\n" + " ".join(f"`#{escape(t)}`" for t in rec.tags)})
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": f"{head} a touchpoint with *{account}*"}},
        {"type": "section", "fields": fields},
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": "*Note*\n" + escape(rec.note, 2900, keep_mentions=ephemeral)},
        },
    ]
    if rec.permalink:
        blocks.append(
            {
                "type": "context",
                "elements": [{"type": "mrkdwn", "text": f"<{rec.permalink}|Original message>"}],
            }
        )
    blocks.append(
        {
            "type": "actions",
            "block_id": f"log_done_{rec.id}",
            "elements": [undo_button("touchpoint", rec.id)],
        }
    )
    return text, blocks


def pick_value(account_id: int, payload: dict[str, Any]) -> str:
    """A pick button's value: the chosen account and the command as typed (< 2000 chars)."""
    return json.dumps({**payload, "a": account_id}, ensure_ascii=False, separators=(",", ":"))


def account_choice(
    typed: str, candidates: tuple[AccountRef, ...], payload: dict[str, Any]
) -> tuple[str, list[dict[str, Any]]]:
    """'Which account did you mean?' with one button per candidate."""
    shown = candidates[:MAX_PICK_BUTTONS]
    text = f"“{escape(typed)}” matches {len(candidates)} accounts. Which one did you mean?"
    buttons = [
        button(f"{ActionId.LOG_PICK_ACCOUNT}_{i}", ref.name, pick_value(ref.id, payload))
        for i, ref in enumerate(shown)
    ]
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": text}},
        {"type": "actions", "block_id": "log_pick", "elements": buttons},
    ]
    return text, blocks


def account_card_choice(typed: str, candidates: tuple[AccountRef, ...]) -> tuple[str, list[dict[str, Any]]]:
    """`/cs account` with several matches: one button per candidate opens its card."""
    text = f"“{escape(typed)}” matches {len(candidates)} accounts. Which one?"
    buttons = [
        button(f"{ActionId.ACCOUNT_PICK}_{i}", ref.name, str(ref.id))
        for i, ref in enumerate(candidates[:MAX_PICK_BUTTONS])
    ]
    return text, [
        {"type": "section", "text": {"type": "mrkdwn", "text": text}},
        {"type": "actions", "block_id": "account_pick", "elements": buttons},
    ]
