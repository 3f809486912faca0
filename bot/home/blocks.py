"""Block Kit for the Home tab (PRODUCT.md §2.1), one small function per part of
the desk. Every list is cut to a size that keeps the whole view within Slack's
100 blocks, and says how many it left out and where to see them."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from bot.escalations.blocks import SEVERITY_EMOJI, actions_block_id, escalation_buttons, format_duration
from bot.home.queries import BookAccount, CsmRisk, OpenEscalation, RenewalsAtRisk, SeverityAges
from bot.money import format_cents
from bot.slack.action_ids import ActionId
from bot.slack.elements import button
from bot.slack.escape import escape_entities

MAX_VIEW_BLOCKS = 100
MAX_SECTION = 3000
BAND_ICON = {"green": ":large_green_circle:", "yellow": ":large_yellow_circle:", "red": ":red_circle:"}
# How many rows each list shows before "… and N more"
AT_RISK_ROWS = 8
ESCALATION_ROWS = 10  # two blocks each (the line, its buttons)
LINES_PER_LIST = 15


def escape(text: str) -> str:
    """Text not from the bot (names, summaries, reasons) cannot ping or link."""
    return escape_entities(text)


def header(text: str) -> dict[str, Any]:
    return {"type": "header", "text": {"type": "plain_text", "text": text[:150]}}


def section(text: str, **extra: Any) -> dict[str, Any]:
    clipped = text if len(text) <= MAX_SECTION else text[: MAX_SECTION - 1] + "…"
    return {"type": "section", "text": {"type": "mrkdwn", "text": clipped}, **extra}


def context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text[:3000]}]}


def divider() -> dict[str, Any]:
    return {"type": "divider"}


def more(n: int, where: str) -> list[dict[str, Any]]:
    """'… and 12 more: `/cs risk`', or nothing when the list was shown whole."""
    return [context(f"… and {n} more: {where}")] if n > 0 else []


def notice_block(text: str) -> dict[str, Any]:
    """A sentence for the person at the top of their desk (a refused click from Home)."""
    return section(f":warning: {text}", block_id="home_notice")


def health_label(score: int | None, band: str | None) -> str:
    if score is None:
        return "not scored yet"
    return f"{BAND_ICON.get(band or '', '')} {score} {band or ''}".strip()


def desk_buttons() -> dict[str, Any]:
    """The two things a CSM starts most often: the log form and a new escalation."""
    return {
        "type": "actions",
        "block_id": "home_actions",
        "elements": [
            button(ActionId.HOME_LOG, "Log a touchpoint", "log", style="primary"),
            button(ActionId.HOME_NEW_ESCALATION, "New escalation", "escalate"),
        ],
    }


def account_menu(account_id: int) -> dict[str, Any]:
    """One row's actions (overflow): the at-risk alert's own forms."""
    return {
        "type": "overflow",
        "action_id": ActionId.HOME_ACCOUNT_MENU,
        "options": [
            {"text": {"type": "plain_text", "text": "Log touchpoint"}, "value": f"log:{account_id}"},
            {"text": {"type": "plain_text", "text": "Open escalation"}, "value": f"esc:{account_id}"},
        ],
    }


# --- a CSM's book -------------------------------------------------------------------


def at_risk_blocks(accounts: list[BookAccount]) -> list[dict[str, Any]]:
    """Their accounts at risk, worst first, each with its band and top reason."""
    if not accounts:
        return [section("*At risk*\nNone of your accounts is at risk. :tada:")]
    arr = sum(a.arr_cents for a in accounts)
    blocks = [section(f"*At risk* — {len(accounts)} accounts, {format_cents(arr, compact=True)} ARR")]
    for a in accounts[:AT_RISK_ROWS]:
        arr_text = format_cents(a.arr_cents, compact=True)
        line = f"*{escape(a.name)}* · {health_label(a.score, a.band)} · {arr_text} ARR"
        if a.renewal_date:
            line += f" · renews {a.renewal_date:%Y-%m-%d}"
        if a.reasons:
            line += f"\n{escape(a.reasons[0])}"
        blocks.append(section(line, block_id=f"home_risk_{a.id}", accessory=account_menu(a.id)))
    return blocks + more(len(accounts) - AT_RISK_ROWS, "`/cs risk`")


def lines_block(title: str, lines: list[str], *, where: str, empty: str) -> list[dict[str, Any]]:
    """A titled list in one section (as many lines as fit), then '… and N more'."""
    if not lines:
        return [section(f"*{title}*\n{empty}")]
    shown: list[str] = []
    size = len(title) + 4
    for line in lines[:LINES_PER_LIST]:
        if size + len(line) + 1 > MAX_SECTION - 10:
            break
        shown.append(line)
        size += len(line) + 1
    return [section(f"*{title}*\n" + "\n".join(shown)), *more(len(lines) - len(shown), where)]


def renewal_blocks(accounts: list[BookAccount]) -> list[dict[str, Any]]:
    """Renewals in the next 90 days: date, ARR, band."""
    lines = [
        f"• {a.renewal_date:%Y-%m-%d} · *{escape(a.name)}* · {format_cents(a.arr_cents, compact=True)} · "
        f"{health_label(a.score, a.band)}"
        for a in accounts
    ]
    return lines_block(
        "Renewals in the next 90 days", lines, where="`/cs account <name>`", empty="No renewals due."
    )


def escalation_line(e: OpenEscalation, now: datetime) -> str:
    state = "waiting for acknowledgement" if e.status == "open" else e.status
    return (
        f"{SEVERITY_EMOJI.get(e.severity, '')} *{e.severity.upper()}* · *{escape(e.account_name)}* — "
        f"{escape(e.summary[:200])}\n#{e.id} · owner <@{e.owner}> · {state} · "
        f"open {format_duration(now - e.opened_at)}"
    )


def escalation_blocks(escalations: list[OpenEscalation], now: datetime) -> list[dict[str, Any]]:
    """Open escalations, each with the buttons of its thread's parent message (same ids, same checks)."""
    if not escalations:
        return [section("*Open escalations*\nNone. :white_check_mark:")]
    blocks = [section(f"*Open escalations* — {len(escalations)}")]
    for e in escalations[:ESCALATION_ROWS]:
        blocks.append(section(escalation_line(e, now), block_id=f"home_esc_{e.id}"))
        elements = escalation_buttons(e.id, e.status)
        if elements:
            blocks.append({"type": "actions", "block_id": actions_block_id(e.id), "elements": elements})
    return blocks + more(len(escalations) - ESCALATION_ROWS, "`/cs escalations mine`")


def untouched_blocks(accounts: list[BookAccount], today: date) -> list[dict[str, Any]]:
    """Accounts with no touchpoint in 30 days, the longest-forgotten first."""
    lines = []
    for a in accounts:
        when = (
            f"last touch {(today - a.last_touch.date()).days} days ago" if a.last_touch else "never touched"
        )
        lines.append(f"• *{escape(a.name)}* — {when} · {format_cents(a.arr_cents, compact=True)} ARR")
    return lines_block(
        "Not touched in 30 days",
        lines,
        where="`/cs account <name>`",
        empty="Every account touched. :raised_hands:",
    )


# --- the director's team view --------------------------------------------------------


def csm_risk_blocks(rows: list[CsmRisk]) -> list[dict[str, Any]]:
    lines = [
        f"• {f'<@{r.csm}>' if r.csm else 'no CSM'} — {format_cents(r.arr_cents, compact=True)} "
        f"in {r.accounts} account{'s' if r.accounts != 1 else ''}"
        for r in rows
    ]
    return lines_block(
        "At-risk ARR by CSM", lines, where="`/cs risk all`", empty="No account is at risk. :tada:"
    )


def severity_blocks(rows: list[SeverityAges], now: datetime) -> list[dict[str, Any]]:
    lines = []
    for r in rows:
        total = r.waiting + r.acknowledged
        oldest = f" · oldest {format_duration(now - r.oldest)}" if r.oldest else ""
        lines.append(
            f"• {SEVERITY_EMOJI.get(r.severity, '')} *{r.severity.upper()}* — {total} open "
            f"({r.waiting} waiting, {r.acknowledged} acknowledged) · under a day {r.under_day} · "
            f"1–7 days {r.under_week} · over a week {r.older}{oldest}"
        )
    return lines_block(
        "Open escalations by severity and age",
        lines,
        where="`/cs escalations all`",
        empty="None. :white_check_mark:",
    )


def renewals_at_risk_blocks(found: RenewalsAtRisk, today: date, quarter: str) -> list[dict[str, Any]]:
    title = f"Renewals at risk in {quarter}"
    if found.count:
        title += f" — {found.count}, {format_cents(found.arr_cents, compact=True)} ARR"
    lines = []
    for r in found.rows:
        due = " (past due)" if r.renewal_date < today else ""
        csm = f" · <@{r.csm}>" if r.csm else ""
        lines.append(
            f"• {r.renewal_date:%Y-%m-%d}{due} · *{escape(r.name)}* · "
            f"{format_cents(r.arr_cents, compact=True)} · {health_label(r.score, r.band)}{csm}"
        )
    blocks = lines_block(
        title, lines, where="`/cs risk all`", empty="No at-risk account renews this quarter."
    )
    cut = found.count - len(found.rows)
    if cut > 0 and not any(b["type"] == "context" for b in blocks):
        blocks += more(cut, "`/cs risk all`")
    return blocks


# --- someone the bot does not know yet -------------------------------------------------


def starter_blocks(admins: list[str]) -> list[dict[str, Any]]:
    """What the bot is, three commands to start with, and who to ask to be added."""
    ask = ", ".join(f"<@{a}>" for a in admins[:10]) if admins else "an admin of csbot"
    return [
        header("Welcome to csbot"),
        section(
            "csbot runs a Customer Success team's day in Slack: log what happened with a customer "
            "in one line, see an account's health, and open escalations whose owners are paged "
            "until someone acts."
        ),
        section(
            "*Three commands to start with*\n"
            "• `/cs log acme call yesterday renewal talk, champion leaving -` — log a touchpoint "
            "(`/cs log` alone opens the form)\n"
            "• `/cs account acme` — the account's health, ARR, renewal and last touches\n"
            "• `/cs help` — every command"
        ),
        section(
            f"*Your desk is empty because you are not on the team list yet.* Ask {ask} to add you "
            "with `/cs team add @you csm` (or director, exec, admin); `/cs team list` shows who is who."
        ),
    ]


def footer() -> dict[str, Any]:
    return context("csbot — Customer Success in Slack · `/cs help` for every command")


def home_view(blocks: list[dict[str, Any]]) -> dict[str, Any]:
    """The Home tab view, cut to Slack's 100 blocks should the parts ever add up past it."""
    if len(blocks) > MAX_VIEW_BLOCKS:
        blocks = blocks[: MAX_VIEW_BLOCKS - 1] + [
            context("… the rest did not fit: `/cs risk`, `/cs escalations`")
        ]
    return {"type": "home", "blocks": blocks}
