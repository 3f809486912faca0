"""Block Kit for escalations: the parent message in the escalations channel
(its buttons follow the state), the Resolve / Add note modals, and the
`/cs escalations` list."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from bot.money import format_cents
from bot.slack.action_ids import ActionId, CallbackId
from bot.slack.elements import button
from bot.slack.escape import escape, readable

SEVERITY_EMOJI = {"sev1": ":red_circle:", "sev2": ":large_orange_circle:", "sev3": ":large_yellow_circle:"}
STATUS_LABEL = {
    "open": ":rotating_light: Open — waiting for acknowledgement",
    "acknowledged": ":eyes: Acknowledged",
    "resolved": ":white_check_mark: Resolved",
}
NOTE_BLOCK, NOTE_INPUT = "note", "note_input"


@dataclass(frozen=True)
class EscalationCard:
    """Everything the parent message shows, in plain values."""

    id: int
    severity: str
    status: str
    summary: str
    account_name: str
    arr_cents: int
    renewal_date: date | None
    health_score: int | None
    health_band: str | None
    owner: str
    opened_by: str
    opened_at: datetime
    sla: str
    paged: tuple[str, ...]  # who has been paged above the owner
    last_action: str | None  # "Acknowledged by <@U…>", …
    last_action_at: datetime | None
    resolution: str | None = None
    time_to_ack: timedelta | None = None
    time_to_resolve: timedelta | None = None


def slack_time(at: datetime) -> str:
    """A time every reader sees in their own Slack time zone."""
    epoch = int(at.timestamp())
    fallback = at.strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{epoch}^{{date_short_pretty}} {{time}}|{fallback}>"


def format_duration(delta: timedelta) -> str:
    """12 min, 2 h 5 min, 3 d 4 h: short and readable."""
    minutes = max(0, int(delta.total_seconds() // 60))
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


def parent_text(card: EscalationCard) -> str:
    """The notification / fallback text of the parent message."""
    return (
        f"{card.severity.upper()} escalation: {escape(card.account_name)} — {escape(card.summary, 200)} "
        f"({card.status}, owner <@{card.owner}>)"
    )


def escalation_parent(card: EscalationCard) -> list[dict[str, Any]]:
    """The parent message: severity, account facts, summary, people, status, buttons."""
    emoji = SEVERITY_EMOJI.get(card.severity, ":rotating_light:")
    header = f"{card.severity.upper()} escalation — {readable(card.account_name)}"
    renewal = card.renewal_date.isoformat() if card.renewal_date else "not set"
    status = STATUS_LABEL.get(card.status, card.status)
    fields = [
        f"*Severity*\n{emoji} {card.severity.upper()}",
        f"*Status*\n{status}",
        f"*Owner*\n<@{card.owner}>",
        f"*Opened by*\n<@{card.opened_by}> {slack_time(card.opened_at)}",
        f"*ARR*\n{format_cents(card.arr_cents)}",
        f"*Renewal*\n{renewal}",
    ]
    if card.health_score is not None:  # only when a health snapshot exists
        band = f" ({card.health_band})" if card.health_band else ""
        fields.append(f"*Health*\n{card.health_score}{band}")
    if card.paged:
        fields.append("*Paged up the chain*\n" + ", ".join(f"<@{u}>" for u in card.paged))
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": header[:150]}},
        {
            "type": "section",
            "block_id": "summary",
            "text": {"type": "mrkdwn", "text": escape(card.summary, 2900)},
        },
        {
            "type": "section",
            "block_id": "facts",
            "fields": [{"type": "mrkdwn", "text": f[:2000]} for f in fields],
        },
    ]
    if card.status == "resolved":
        lines = [f"*Resolution:* {escape(card.resolution, 1980) or '—'}"]
        if card.time_to_ack is not None and card.time_to_resolve is not None:
            lines.append(
                f"Time to acknowledge {format_duration(card.time_to_ack)} · "
                f"time to resolve {format_duration(card.time_to_resolve)}"
            )
        blocks.append(
            {
                "type": "section",
                "block_id": "resolution",
                "text": {"type": "mrkdwn", "text": "\n".join(lines)},
            }
        )
    context = [f"#{card.id}"]
    if card.status == "open":
        context.append(f"acknowledge within {card.sla}")
    if card.last_action and card.last_action_at:
        context.append(f"{card.last_action} {slack_time(card.last_action_at)}")
    blocks.append(
        {"type": "context", "block_id": "last", "elements": [{"type": "mrkdwn", "text": " · ".join(context)}]}
    )
    actions = escalation_buttons(card.id, card.status)
    if actions:
        block_id = actions_block_id(card.id, _revision(card))
        blocks.append({"type": "actions", "block_id": block_id, "elements": actions})
    return blocks


def _revision(card: EscalationCard) -> str:
    """Changes whenever the message does. Slack asks for new block_ids on chat.update
    for blocks that carry inputs: a client keeps a stale Reassign selection otherwise.
    Derived from the card, not random, so delivering the same update twice is one update."""
    state = [card.status, card.owner, card.paged, card.last_action, str(card.last_action_at), card.resolution]
    return hashlib.sha1(json.dumps(state, default=str).encode()).hexdigest()[:10]


def actions_block_id(escalation_id: int, revision: str | None = None) -> str:
    base = f"esc:{escalation_id}:actions"
    return f"{base}:{revision}" if revision else base


def escalation_id_from_block(block_id: str) -> int | None:
    """The escalation of an actions block, with or without its revision suffix."""
    parts = block_id.split(":")
    if len(parts) in (3, 4) and parts[0] == "esc" and parts[2] == "actions" and parts[1].isdigit():
        return int(parts[1])
    return None


def escalation_buttons(escalation_id: int, status: str) -> list[dict[str, Any]]:
    """Buttons follow the state: no Acknowledge once acknowledged, none once resolved."""
    if status == "resolved":
        return []
    value = str(escalation_id)
    elements = []
    if status == "open":
        elements.append(button(ActionId.ESC_ACK, "Acknowledge", value, style="primary"))
    elements.append(button(ActionId.ESC_RESOLVE, "Resolve", value))
    escalate = button(ActionId.ESC_ESCALATE, "Escalate", value, style="danger")
    escalate["confirm"] = {
        "title": {"type": "plain_text", "text": "Page the next level?"},
        "text": {"type": "plain_text", "text": "This pages the next person up the chain now."},
        "confirm": {"type": "plain_text", "text": "Escalate"},
        "deny": {"type": "plain_text", "text": "Cancel"},
    }
    elements.append(escalate)
    elements.append(button(ActionId.ESC_NOTE, "Add note", value))
    elements.append(
        {
            "type": "users_select",
            "action_id": ActionId.ESC_REASSIGN,
            "placeholder": {"type": "plain_text", "text": "Reassign to…"},
        }
    )
    return elements


def note_modal(
    callback_id: CallbackId, escalation_id: int, account_name: str, *, resolve: bool
) -> dict[str, Any]:
    """The Resolve (resolution note) or Add note modal."""
    title = "Resolve escalation" if resolve else "Add a note"
    label = "Resolution" if resolve else "Note"
    hint = (
        "What fixed it, and what the customer was told. Posted in the escalation thread."
        if resolve
        else "Posted in the escalation thread."
    )
    return {
        "type": "modal",
        "callback_id": callback_id,
        "private_metadata": json.dumps({"escalation_id": escalation_id}),
        "title": {"type": "plain_text", "text": title},
        "submit": {"type": "plain_text", "text": "Resolve" if resolve else "Post note"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": f"Escalation #{escalation_id} — *{escape(account_name, 2900)}*",
                },
            },
            {
                "type": "input",
                "block_id": NOTE_BLOCK,
                "label": {"type": "plain_text", "text": label},
                "hint": {"type": "plain_text", "text": hint},
                "element": {
                    "type": "plain_text_input",
                    "action_id": NOTE_INPUT,
                    "multiline": True,
                    "max_length": 2500,
                },
            },
        ],
    }


@dataclass(frozen=True)
class ListedEscalation:
    id: int
    severity: str
    account_name: str
    summary: str
    owner: str
    status: str
    age: timedelta
    link: str | None


def escalation_list(title: str, rows: list[ListedEscalation], more: int = 0) -> list[dict[str, Any]]:
    """`/cs escalations`: one line per open escalation, most severe first."""
    blocks: list[dict[str, Any]] = [{"type": "section", "text": {"type": "mrkdwn", "text": f"*{title}*"}}]
    for row in rows:
        link = f"<{row.link}|thread>" if row.link else "thread not posted yet"
        text = (
            f"{SEVERITY_EMOJI.get(row.severity, '')} *{row.severity.upper()}* · "
            f"*{escape(row.account_name, 300)}* — "
            f"{escape(row.summary[:150])}\n#{row.id} · owner <@{row.owner}> · {row.status} · "
            f"open {format_duration(row.age)} · {link}"
        )
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": text[:3000]}})
    if more:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": f"…and {more} more."}]})
    return blocks


# --- "Open escalation" from an at-risk alert: the form that runs the escalate flow ---

OPEN_SEVERITY_BLOCK, OPEN_OWNER_BLOCK, OPEN_SUMMARY_BLOCK = "esc_severity", "esc_owner", "esc_summary"
OPEN_ACCOUNT_BLOCK = "esc_account"
MAX_SUMMARY = 2900


def account_picker_block() -> dict[str, Any]:
    """The account search of the log form (same action id, so the same options
    listener answers it), for a form opened without an account."""
    return {
        "type": "input",
        "block_id": OPEN_ACCOUNT_BLOCK,
        "label": {"type": "plain_text", "text": "Account"},
        "element": {
            "type": "external_select",
            "action_id": ActionId.LOG_ACCOUNT,
            "placeholder": {"type": "plain_text", "text": "Search accounts"},
            "min_query_length": 0,
        },
    }


def open_escalation_modal(
    account_id: int | None,
    account_name: str,
    *,
    csm: str | None,
    slas: dict[str, str],
) -> dict[str, Any]:
    """The form behind an alert's Open escalation button: severity (with its SLA),
    owner (the account's CSM unless changed) and summary. Submitting it opens the
    escalation exactly as `/cs escalate` does. Without an account (the Home tab's
    New escalation) it starts with an account picker and the owner defaults to
    the picked account's CSM."""
    severity_options = [
        {
            "text": {"type": "plain_text", "text": f"{sev.upper()} · acknowledge within {slas[sev]}"[:75]},
            "value": sev,
        }
        for sev in slas
    ]
    owner_el: dict[str, Any] = {
        "type": "users_select",
        "action_id": ActionId.ESC_FORM_OWNER,
        "placeholder": {"type": "plain_text", "text": "Who owns it?"},
    }
    if csm:
        owner_el["initial_user"] = csm
    owner_hint = (
        "The account's CSM unless you pick someone else. They are paged in the thread and by DM."
        if csm or account_id is None
        else "This account has no CSM on record: pick who owns it."
    )
    account_block = (
        account_picker_block()
        if account_id is None
        else {
            "type": "section",
            "block_id": "account",
            "text": {"type": "mrkdwn", "text": f"Escalation for *{escape(account_name, 2900)}*"},
        }
    )
    meta = {"account_id": account_id} if account_id is not None else {}
    return {
        "type": "modal",
        "callback_id": CallbackId.ESC_OPEN_MODAL,
        "private_metadata": json.dumps(meta),
        "title": {"type": "plain_text", "text": "Open escalation"},
        "submit": {"type": "plain_text", "text": "Open escalation"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            account_block,
            {
                "type": "input",
                "block_id": OPEN_SEVERITY_BLOCK,
                "label": {"type": "plain_text", "text": "Severity"},
                "element": {
                    "type": "static_select",
                    "action_id": ActionId.ESC_FORM_SEVERITY,
                    "placeholder": {"type": "plain_text", "text": "How severe is it?"},
                    "options": severity_options,
                },
            },
            {
                "type": "input",
                "block_id": OPEN_OWNER_BLOCK,
                "optional": True,
                "label": {"type": "plain_text", "text": "Owner"},
                "hint": {"type": "plain_text", "text": owner_hint},
                "element": owner_el,
            },
            {
                "type": "input",
                "block_id": OPEN_SUMMARY_BLOCK,
                "label": {"type": "plain_text", "text": "Summary"},
                "hint": {"type": "plain_text", "text": "What is wrong, for whom. Shown on the escalation."},
                "element": {
                    "type": "plain_text_input",
                    "action_id": ActionId.ESC_FORM_SUMMARY,
                    "multiline": True,
                    "max_length": MAX_SUMMARY,
                },
            },
        ],
    }


def opened_confirmation(
    escalation_id: int, severity: str, account_name: str, owner: str, channel: str, sla: str
) -> str:
    """What the opener is told (`/cs escalate` and the alert's form say the same): only what
    is true when it is said — the page is queued; a follow-up comes if Slack refuses it."""
    return (
        f":rotating_light: Escalation #{escalation_id} opened: {severity.upper()} for "
        f"*{escape(account_name)}*, owner <@{owner}>. Its page is queued for <#{channel}>: the owner "
        f"will be paged in its thread and by DM, and must acknowledge within {sla}. "
        "I'll tell you if the page fails."
    )
