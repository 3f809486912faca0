"""The weekly digest message (PRODUCT.md §6.2), one small function per block.

Every figure is in the text; the chart in the thread only adds to it. Lists that can
grow with the portfolio (CSMs, risks, renewals) are cut to fit Slack's limits (50
blocks, 3,000 characters a section, 2,000 a field) with "… and N more" and the
command that shows them all."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bot.digest.format import FIELD_GROUPS, FIGURES, duration, figure_line, money
from bot.digest.table import csm_table_text, escape

MAX_SECTION = 3000
MAX_HEADER = 150
TOP_RISKS = 10
TOP_RENEWALS = 8
BAND_EMOJI = {"green": ":large_green_circle:", "yellow": ":large_yellow_circle:", "red": ":red_circle:"}
BANDS = ("green", "yellow", "red")
_MENTION = re.compile(r"&lt;@([UW][A-Z0-9]+)&gt;")
ALL_CSMS = "`/cs metrics week` shows every CSM."
ALL_RISKS = "`/cs risk team` lists every account at risk."
ALL_RENEWALS = "`csbot metrics week --json` lists every renewal."


@dataclass(frozen=True)
class DigestView:
    """What the message shows besides the metrics: who the CSMs are, and the chart's state."""

    names: Mapping[str, str]  # CSM slack id -> display name (for the table)
    chart_note: str  # "Chart in the thread: …" or "The chart is missing this week: …"


# Names and reasons come from imports and people: escaped whole, so `<!channel>` in an
# account name shows as typed instead of pinging the channel (LESSONS.md).


def _mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text}


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": _mrkdwn(text)}


def _fit(lines: Sequence[str], head: str, more: str, limit: int = MAX_SECTION) -> str:
    """`head` and as many of `lines` as fit in `limit` characters, then '… and N more'."""
    for shown in range(len(lines), -1, -1):
        parts = [head, *lines[:shown]]
        if shown < len(lines):
            parts.append(f"… and {len(lines) - shown} more. {more}")
        text = "\n".join(parts)
        if len(text) <= limit:
            return text
    return head[:limit]


def is_quiet(metrics: Any) -> bool:
    """Nothing happened in the week: no touchpoints, escalations or revenue changes."""
    f = metrics.figures

    def zero(name: str) -> bool:
        fig = f.get(name)
        return fig is None or not fig.value

    moved = any(
        not zero(n) for n in ("escalations_opened", "escalations_resolved", "upsell_cents", "new_arr_cents")
    )
    touched = any(row.touchpoints for row in metrics.by_csm)
    return not moved and not touched


def header_block(metrics: Any) -> dict[str, Any]:
    text = f"Weekly digest · {metrics.period.label()}"
    return {"type": "header", "text": {"type": "plain_text", "text": text[:MAX_HEADER], "emoji": True}}


def scope_block(metrics: Any) -> dict[str, Any]:
    # the scope is "all", "segment <name>" or a CSM's mention: the mention stays live
    scope = "all accounts" if metrics.scope == "all" else _MENTION.sub(r"<@\1>", escape(metrics.scope))
    p = metrics.period
    text = f"Scope: {scope} · week {p.start:%a %d %b} – {p.end:%a %d %b} ({p.tz})"
    return {"type": "context", "elements": [_mrkdwn(text)]}


def quiet_block() -> dict[str, Any]:
    return _section(
        ":zzz: *A quiet week:* no touchpoints, escalations or revenue changes were recorded. "
        "The standing figures are below."
    )


def figure_blocks(metrics: Any) -> list[dict[str, Any]]:
    """The figures as fields (at most 10 a section), each with ▲/▼ and the change."""
    blocks = []
    for group in FIELD_GROUPS:
        fields = []
        for name in group:
            label = FIGURES[name][0]
            line = figure_line(name, metrics.figures.get(name))
            if name == "nps" and (count := metrics.figures.get("nps_responses")) and count.value is not None:
                line += f" ({count.value:.0f} responses)"
            fields.append(_mrkdwn(f"*{label}*\n{escape(line)}"[:2000]))
        blocks.append({"type": "section", "fields": fields})
    return blocks


def csm_table_block(metrics: Any, view: DigestView) -> dict[str, Any]:
    if not metrics.by_csm:
        return _section("*By CSM:* no accounts have a CSM in this scope.")
    return _section(csm_table_text(metrics.by_csm, view.names, more_hint=ALL_CSMS))


def _risk_line(row: Any) -> str:
    band = BAND_EMOJI.get(row.band or "", ":white_circle:")
    score = f" {row.score}" if row.score is not None else ""
    owner = f" · <@{row.csm}>" if row.csm else ""
    reasons = "; ".join(row.reasons[:3]) or "at risk"
    name = escape(row.name)
    return f"{band}{score} *{name}* · {money(row.arr_cents)}{owner}\n      {escape(reasons)}"


def risks_block(metrics: Any) -> dict[str, Any]:
    risks = metrics.at_risk
    if not risks:
        return _section("*At risk:* no account is at risk. :tada:")
    total = sum(r.arr_cents for r in risks)
    head = f"*At risk:* {len(risks)} accounts, {money(total)} ARR — worst first"
    lines = [_risk_line(r) for r in risks[:TOP_RISKS]]
    more = len(risks) - len(lines)
    text = _fit(lines, head, ALL_RISKS)
    if more and "… and" not in text:
        text += f"\n… and {more} more. {ALL_RISKS}"
    return _section(text[:MAX_SECTION])


def renewals_block(metrics: Any) -> dict[str, Any]:
    """Renewals in the next 90 days by band, the forecast, and the next few by date."""
    renewals = metrics.renewals
    forecast = metrics.figures.get("renewal_forecast_cents")
    if not renewals:
        return _section("*Renewals, next 90 days:* none due.")
    count: Counter[str] = Counter()
    arr: defaultdict[str, int] = defaultdict(int)
    for r in renewals:
        band = r.band if r.band in BANDS else "unscored"
        count[band] += 1
        arr[band] += r.arr_cents
    bands = " · ".join(
        f"{BAND_EMOJI.get(b, ':white_circle:')} {b} {count[b]} ({money(arr[b])})"
        for b in (*BANDS, "unscored")
        if count[b]
    )
    f = metrics.figures
    n = f["renewals_90d_count"].value if f.get("renewals_90d_count") else None
    total = f["renewals_90d_arr_cents"].value if f.get("renewals_90d_arr_cents") else None
    n = len(renewals) if n is None else int(n)
    due = money(sum(r.arr_cents for r in renewals) if total is None else total)
    expected = f"; forecast {money(forecast.value)}" if forecast and forecast.value is not None else ""
    head = f"*Renewals, next 90 days:* {n} worth {due}{expected}\n{bands}"
    lines = [
        f"• {r.renewal_date:%a %d %b} *{escape(r.name)}* {money(r.arr_cents)} "
        f"{BAND_EMOJI.get(r.band or '', ':white_circle:')}"
        for r in renewals[:TOP_RENEWALS]
    ]
    text = _fit(lines, head, ALL_RENEWALS)
    if len(renewals) > TOP_RENEWALS and "… and" not in text:
        text += f"\n… and {len(renewals) - TOP_RENEWALS} more. {ALL_RENEWALS}"
    return _section(text[:MAX_SECTION])


def escalations_block(metrics: Any) -> dict[str, Any]:
    f = metrics.figures
    opened = f.get("escalations_opened")
    resolved = f.get("escalations_resolved")
    n_open = int(opened.value or 0) if opened else 0
    n_resolved = int(resolved.value or 0) if resolved else 0
    if not n_open and not n_resolved:
        return _section("*Escalations:* no escalations this week.")
    parts = [f"*Escalations:* {n_open} opened, {n_resolved} resolved"]
    for name, what in (("median_tta_seconds", "to acknowledge"), ("median_ttr_seconds", "to resolve")):
        fig = f.get(name)
        if fig is not None and fig.value is not None:
            parts.append(f"median time {what} {duration(fig.value)}")
    return _section(" · ".join(parts))


def chart_note_block(view: DigestView) -> dict[str, Any]:
    return {"type": "context", "elements": [_mrkdwn(view.chart_note)]}


def digest_blocks(metrics: Any, view: DigestView) -> list[dict[str, Any]]:
    """The whole message: at most 13 blocks whatever the portfolio size."""
    blocks = [header_block(metrics), scope_block(metrics)]
    if is_quiet(metrics):
        blocks.append(quiet_block())
    blocks += figure_blocks(metrics)
    blocks += [
        {"type": "divider"},
        csm_table_block(metrics, view),
        risks_block(metrics),
        renewals_block(metrics),
        escalations_block(metrics),
        chart_note_block(view),
    ]
    return blocks


def digest_fallback_text(metrics: Any) -> str:
    """The notification text (and what screen readers say first)."""
    arr = figure_line("arr_cents", metrics.figures.get("arr_cents"))
    risk = len(metrics.at_risk)
    return f"Weekly digest {metrics.period.label()}: ARR {arr}, {risk} accounts at risk."


def blocks_as_text(blocks: Sequence[dict[str, Any]]) -> str:
    """The message as a person reads it in a terminal (`csbot digest --preview`)."""
    out: list[str] = []
    for block in blocks:
        kind = block.get("type")
        if kind == "header":
            title = block["text"]["text"]
            out += [title, "=" * len(title)]
        elif kind == "divider":
            out.append("-" * 40)
        elif kind == "context":
            out.append(" ".join(e.get("text", "") for e in block["elements"]))
        elif kind == "section":
            if "text" in block:
                out.append(block["text"]["text"])
            for field in block.get("fields", []):
                label, _, value = field["text"].partition("\n")
                out.append(f"{label.strip('*')}: {value}")
        out.append("")
    text = "\n".join(out).strip() + "\n"
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
