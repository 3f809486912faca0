"""`/cs metrics` in Block Kit (PRODUCT.md §6.1): a header naming the period and
scope, the figures as section fields (value, ▲/▼ change against the previous
period, "n/a — why"), the per-CSM table as text that stays legible on a phone,
and the Share button. Within Slack's limits (10 fields a section, 3,000
characters a text, 50 blocks)."""

from __future__ import annotations

import json
import re
from typing import Any

from bot.metrics.format import figure_line
from bot.metrics.result import FIGURE_NAMES, Metrics
from bot.money import format_cents
from bot.slack.action_ids import ActionId
from bot.slack.elements import button
from bot.slack.escape import escape_entities

FIELDS_PER_SECTION = 10
_MENTION = re.compile(r"(<@[UW][A-Z0-9]+>)")


def mrkdwn_escape(text: str) -> str:
    """Names and segments show as typed: Slack's three control characters escaped,
    only the bot's own `<@U…>` mentions left live (never `<!channel>`)."""
    parts = _MENTION.split(text)
    return "".join(
        part if i % 2 else escape_entities(part)
        for i, part in enumerate(parts)
    )


CSM_ROWS = 25


def share_value(kind: str, as_of: str, segment: str | None, csm: str | None) -> str:
    return json.dumps({"k": kind, "d": as_of, "s": segment, "c": csm}, separators=(",", ":"))


def _field(name: str, m: Metrics) -> dict[str, str]:
    label, shown, change = figure_line(name, m.figures[name])
    text = f"*{label}*\n{shown}" + (f"  {change}" if change else "")
    return {"type": "mrkdwn", "text": text[:2000]}


def _csm_table(m: Metrics) -> str:
    lines = ["CSM · accounts · ARR · coverage · touches · at risk · open esc"]
    for r in m.by_csm[:CSM_ROWS]:
        cov = "n/a" if r.coverage is None else f"{r.coverage * 100:.0f}%"
        who = r.csm if r.csm == "unassigned" else f"<@{r.csm}>"
        lines.append(
            f"{who} · {r.accounts} · {format_cents(r.arr_cents, compact=True)} · {cov} · {r.touchpoints} · "
            f"{r.at_risk} · {r.open_escalations}"
        )
    if len(m.by_csm) > CSM_ROWS:
        lines.append(f"… and {len(m.by_csm) - CSM_ROWS} more: `csbot metrics`")
    return "\n".join(lines)[:3000]


def metrics_text(m: Metrics) -> str:
    """The fallback text (notifications, screen readers): every figure in words."""
    parts = [f"Metrics for {m.period.label()} ({mrkdwn_escape(m.scope)})"]
    for name in FIGURE_NAMES:
        label, shown, change = figure_line(name, m.figures[name])
        parts.append(f"{label}: {shown}" + (f" ({change})" if change else ""))
    return "\n".join(parts)


def metrics_blocks(m: Metrics, *, share: str | None) -> list[dict[str, Any]]:
    """The message; `share` is the Share button's value (None: a shared copy, no button)."""
    scope = "everyone" if m.scope == "all" else mrkdwn_escape(m.scope)
    span = f"{m.period.start:%b} {m.period.start.day} – {m.period.end:%b} {m.period.end.day}"
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": f"Metrics · {m.period.label()}"[:150]}},
        {
            "type": "context",
            "elements": [
                {
                    "type": "mrkdwn",
                    "text": f"{span} ({m.period.tz}) · {scope} · change against the {m.period.kind} before",
                }
            ],
        },
    ]
    names = list(FIGURE_NAMES)
    for i in range(0, len(names), FIELDS_PER_SECTION):
        blocks.append(
            {"type": "section", "fields": [_field(n, m) for n in names[i : i + FIELDS_PER_SECTION]]}
        )
    if m.past_due:
        due = ", ".join(
            f"{mrkdwn_escape(r.name)} ({r.renewal_date:%b} {r.renewal_date.day})" for r in m.past_due[:10]
        )
        more = f" … and {len(m.past_due) - 10} more" if len(m.past_due) > 10 else ""
        blocks.append(
            {
                "type": "context",
                "elements": [{"type": "mrkdwn", "text": f"Renewals due, no outcome yet: {due}{more}"[:3000]}],
            }
        )
    if m.by_csm:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": _csm_table(m)}})
    if share is not None:
        blocks.append(
            {"type": "actions", "elements": [button(ActionId.METRICS_SHARE, "Share in channel", share)]}
        )
    return blocks
