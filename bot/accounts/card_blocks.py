"""The account card (`/cs account`, and the escalation parent message):
ARR, segment, CSM, renewal and days left, last touchpoints, open escalations.

`extra_blocks` is the hook for sections other features add (the health score
(PRODUCT.md §4) goes right after the header)."""

from __future__ import annotations

from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from bot.accounts.card import AccountCard
from bot.money import format_cents
from bot.slack.action_ids import ActionId
from bot.slack.elements import button
from bot.slack.escape import escape, readable
from bot.touchpoints.confirmation import SENTIMENT_EMOJI, local_day
from bot.touchpoints.grammar import TYPE_LABELS


def renewal_text(renewal: date | None, today: date) -> str:
    if renewal is None:
        return "not set"
    days = (renewal - today).days
    when = renewal.strftime("%d %b %Y")
    if days > 0:
        return f"{when} ({days} day{'s' if days != 1 else ''} left)"
    if days == 0:
        return f"{when} (today)"
    return f"{when} ({-days} day{'s' if days != -1 else ''} ago)"


def account_card_blocks(
    card: AccountCard,
    *,
    tz: ZoneInfo,
    today: date,
    extra_blocks: list[dict[str, Any]] | None = None,
    shareable: bool = True,
) -> tuple[str, list[dict[str, Any]]]:
    """(fallback text, blocks). `today` is the reader's local date. `shareable`
    adds the Share button (ephemeral cards); a shared copy has none."""
    esc = card.open_escalations
    fields = [
        {"type": "mrkdwn", "text": f"*ARR*\n{format_cents(card.arr_cents)}"},
        {"type": "mrkdwn", "text": f"*Segment*\n{escape(card.segment or '—')}"},
        {
            "type": "mrkdwn",
            "text": f"*CSM*\n{f'<@{card.csm_slack_id}>' if card.csm_slack_id else 'unassigned'}",
        },
        {"type": "mrkdwn", "text": f"*Renewal*\n{renewal_text(card.renewal_date, today)}"},
        {"type": "mrkdwn", "text": f"*Open escalations*\n{esc}" + (" :rotating_light:" if esc else "")},
    ]
    if card.stage:
        fields.append({"type": "mrkdwn", "text": f"*Stage*\n{escape(card.stage)}"})
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": readable(card.name)[:150]}},
        *(extra_blocks or []),
        {"type": "section", "fields": fields},
        {"type": "divider"},
    ]
    if card.touchpoints:
        lines = [
            f"{SENTIMENT_EMOJI.get(tp.sentiment, '')} {local_day(tp.occurred_at, tz)} · "
            f"*{TYPE_LABELS.get(tp.type, tp.type)}* by <@{tp.author_slack_id}>"
            + (f" — {escape(tp.note[:120])}" if tp.note else "")
            for tp in card.touchpoints
        ]
        blocks.append(
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": f"*Last {len(lines)} touchpoints*\n" + "\n".join(lines)},
            }
        )
    else:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": "*No touchpoints yet.*"}})
    if shareable:
        blocks.append(
            {
                "type": "actions",
                "block_id": "account_card_actions",
                "elements": [button(ActionId.ACCOUNT_SHARE, "Share in channel", str(card.id))],
            }
        )
    text = (
        f"{escape(card.name)}: ARR {format_cents(card.arr_cents)}, "
        f"renewal {renewal_text(card.renewal_date, today)}, "
        f"{esc} open escalation{'s' if esc != 1 else ''}"
    )
    return text, blocks
