"""Block Kit for customer health: the at-risk alert (one message per channel
per run), the `/cs risk` list, and the health section of the account card."""

from __future__ import annotations

from datetime import date
from typing import Any

from bot.health.evaluation import AccountHealth
from bot.health.scoring import Reason
from bot.money import format_cents
from bot.slack.action_ids import ActionId
from bot.slack.elements import button
from bot.slack.escape import clip, escape

# Slack allows 50 blocks a message: a header, two blocks per account, and a tail.
MAX_DETAILED = 23
MAX_SECTION = 3000
BAND_ICON = {"green": ":large_green_circle:", "yellow": ":large_yellow_circle:", "red": ":red_circle:"}
SPARK = "▁▂▃▄▅▆▇█"


def _clip(text: str, limit: int = MAX_SECTION) -> str:
    return clip(text, limit)


def headline(item: AccountHealth) -> str:
    """'*Acme* · 32 red · $120k ARR · renews 2027-01-04 · <@U1>'"""
    a, h = item.account, item.health
    parts = [f"*{escape(a.name)}*"]
    if h.score is not None:
        parts.append(f"{BAND_ICON.get(h.band or '', '')} {h.score} {h.band}".strip())
    parts.append(f"{format_cents(a.arr_cents, compact=True)} ARR")
    if a.renewal_date:
        parts.append(f"renews {a.renewal_date:%Y-%m-%d}")
    if a.csm_slack_id:
        parts.append(f"<@{a.csm_slack_id}>")
    return " · ".join(parts)


def reason_lines(reasons: tuple[Reason, ...] | list[Reason], limit: int = 6) -> str:
    """Reasons may quote imported text (an NPS respondent): escaped."""
    return "\n".join(f"• {escape(r.text)}" for r in list(reasons)[:limit])


def alert_buttons(account_id: int) -> dict[str, Any]:
    value = str(account_id)
    return {
        "type": "actions",
        "block_id": f"alert_{account_id}",
        "elements": [
            button(ActionId.ALERT_LOG_TOUCHPOINT, "Log touchpoint", value, style="primary"),
            button(ActionId.ALERT_SNOOZE, "Snooze 7 days", value),
            button(ActionId.ALERT_OPEN_ESCALATION, "Open escalation", value, style="danger"),
        ],
    }


def risk_alert_message(items: list[AccountHealth], *, today: date) -> tuple[str, list[dict[str, Any]]]:
    """The one message a channel gets per run: the accounts that are news,
    in the order given (worst first), each with its reasons and buttons."""
    n = len(items)
    title = f"{n} account{'s' if n != 1 else ''} newly at risk" if n else "No accounts newly at risk"
    text = f"{title}: " + ", ".join(escape(i.account.name) for i in items[:20]) + (" …" if n > 20 else "")
    blocks: list[dict[str, Any]] = [
        {
            "type": "header",
            "text": {"type": "plain_text", "text": f":rotating_light: {title} ({today:%b %d})"},
        }
    ]
    for item in items[:MAX_DETAILED]:
        blocks.append(
            {
                "type": "section",
                "block_id": f"risk_{item.account.id}",
                "text": {
                    "type": "mrkdwn",
                    "text": _clip(f"{headline(item)}\n{reason_lines(item.shown_reasons)}"),
                },
            }
        )
        blocks.append(alert_buttons(item.account.id))
    rest = items[MAX_DETAILED:]
    if rest:
        names = ", ".join(f"{escape(i.account.name)} ({i.health.score})" for i in rest)
        blocks.append(
            {"type": "section", "text": {"type": "mrkdwn", "text": _clip(f"…and {len(rest)} more: {names}")}}
        )
    return text, blocks


def risk_list(items: list[AccountHealth], *, which: str, limit: int = 20) -> tuple[str, list[dict[str, Any]]]:
    """`/cs risk`: the at-risk accounts now, worst first, with reasons."""
    scope = {"mine": "your accounts", "team": "your team's accounts"}.get(which, "all accounts")
    if not items:
        text = f"No at-risk accounts in {scope} right now. :tada:"
        return text, [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]
    total_arr = sum(i.account.arr_cents for i in items)
    title = (
        f"{len(items)} at-risk account{'s' if len(items) != 1 else ''} in {scope} "
        f"({format_cents(total_arr, compact=True)} ARR), worst first"
    )
    blocks: list[dict[str, Any]] = [{"type": "section", "text": {"type": "mrkdwn", "text": f"*{title}*"}}]
    lines = [title]
    for item in items[:limit]:
        body = f"{headline(item)}\n{reason_lines(item.shown_reasons)}"
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": _clip(body)}})
        lines.append(body)
    if len(items) > limit:
        more = f"…and {len(items) - limit} more."
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": more}]})
        lines.append(more)
    return _clip("\n".join(lines), 4000), blocks


def sparkline(scores: list[int | None]) -> str:
    """0-100 scores as ▁▂▃▄▅▆▇█ (a gap for a day without a score)."""
    return "".join(
        " " if s is None else SPARK[min(len(SPARK) - 1, max(0, s) * len(SPARK) // 101)] for s in scores
    )


def trend_text(trend: list[tuple[date, int | None]]) -> str:
    scored = [(d, s) for d, s in trend if s is not None]
    if len(scored) < 2:
        return "30-day trend: not enough history yet"
    change = scored[-1][1] - scored[0][1]  # type: ignore[operator]
    arrow = "↑" if change > 0 else "↓" if change < 0 else "→"
    return (
        f"30-day trend {sparkline([s for _, s in trend])} {arrow} {abs(change)} "
        f"since {scored[0][0]:%m-%d} ({scored[0][1]} → {scored[-1][1]})"
    )


def health_section_blocks(
    score: int | None,
    band: str | None,
    trend: list[tuple[date, int | None]],
    reasons: list[Reason] | tuple[Reason, ...],
    risks: list[Reason] | tuple[Reason, ...] = (),
) -> list[dict[str, Any]]:
    """The account card's health part: score, band, 30-day trend, reasons
    (and the at-risk rules that fire, first). For the account card."""
    if score is None:
        head = "*Health:* not scored yet (no touchpoints, usage, NPS or escalations recorded)"
    else:
        head = f"*Health:* {BAND_ICON.get(band or '', '')} *{score}* ({band})"
        if risks:
            head += " · :warning: *at risk*"
    lines = [head, trend_text(trend)]
    shown: list[Reason] = [r for r in risks if not r.key.startswith("measure:")] + list(reasons)
    if shown:
        lines.append(reason_lines(shown, limit=8))
    return [
        {"type": "section", "block_id": "health", "text": {"type": "mrkdwn", "text": _clip("\n".join(lines))}}
    ]
