"""The `/cs help` texts (PRODUCT.md §2)."""

from __future__ import annotations

from typing import Any

COMMANDS: list[tuple[str, str, str]] = [
    ("log", "/cs log <account> <type> [date] <note...> [#tag ...] [+|-|~]", "log a touchpoint"),
    ("log", "/cs log", "open the log form"),
    ("escalate", "/cs escalate <account> <sev1|sev2|sev3> [@owner] <summary...>", "open an escalation"),
    ("escalations", "/cs escalations [mine|all]", "open escalations"),
    ("account", "/cs account <account>", "account card: health, ARR, renewal, last touches, escalations"),
    ("risk", "/cs risk [mine|team]", "at-risk accounts now, with reasons"),
    ("metrics", "/cs metrics [week|month|quarter] [segment|@csm]", "the director's figures on demand"),
    ("nps", "/cs nps <account> <0-10> [comment]", "record an NPS response"),
    (
        "renewal",
        "/cs renewal <account> <renewed [amount]|downgraded <amount>|churned>",
        "record a renewal outcome",
    ),
    ("upsell", "/cs upsell <account> <amount> [#product] [note]", "record an expansion"),
    (
        "subscribe",
        "/cs subscribe <alerts|digest> [segment|@csm] [day] [HH:MM] [tz]",
        "route alerts/digests here",
    ),
    ("unsubscribe", "/cs unsubscribe <alerts|digest>", "stop alerts/digests here"),
    ("subscriptions", "/cs subscriptions", "what this channel receives, and when"),
    ("team", "/cs team [add @user csm|director|exec|admin [manager @user] | list]", "who is who (admins)"),
    ("help", "/cs help [command]", "this list, or one command in detail"),
]

# Longer help for single commands, by sub-command.
DETAILS: dict[str, str] = {}

# --- escalations (PRODUCT.md §5) ---
DETAILS["escalate"] = (
    "`/cs escalate <account> <sev1|sev2|sev3> [@owner] <summary...>` — open an escalation.\n"
    "It is posted in the escalations channel; the owner (the account's CSM unless you @-mention "
    "someone) is paged in its thread and by DM. Not acknowledged within the SLA (sev1 15 min, "
    "sev2 1 h, sev3 1 business day): the owner is paged again, then their manager, then the CS execs.\n"
    "Example: `/cs escalate Acme sev1 @casey checkout fails for EU users`"
)
DETAILS["escalations"] = (
    "`/cs escalations [mine|all]` — open escalations with their age, severity, owner, state and "
    "a link to the thread. `mine` (the default): the ones you own; `all`: the team's."
)

DETAILS["subscribe"] = (
    "`/cs subscribe <alerts|digest> [segment|@csm] [day] [HH:MM] [tz]` — route alerts or the weekly digest "
    "to the channel you type it in (directors and admins; the bot must be in the channel).\n"
    "• `alerts`: accounts that newly become at risk, one message a day at HH:MM (default 09:00)\n"
    "• `digest`: the director's metrics, weekly on `day` (default Monday) at HH:MM\n"
    "• filter by a segment (`enterprise`) or a CSM (`@casey`); the time zone defaults to the team's\n"
    "Example: `/cs subscribe digest enterprise mon 09:00 Europe/Paris`. "
    "`/cs subscriptions` shows what a channel gets; `/cs unsubscribe digest` stops it."
)


def usage(sub: str) -> str:
    """The usage line(s) of one sub-command, for error messages."""
    lines = [u for name, u, _ in COMMANDS if name == sub]
    return "\n".join(f"`{u}`" for u in lines)


def help_text(topic: str | None = None) -> str:
    if topic:
        topic = topic.strip().lower().lstrip("/").removeprefix("cs ").strip()
        if topic in DETAILS:
            return DETAILS[topic]
        if any(name == topic for name, _, _ in COMMANDS):
            return "\n".join(f"`{u}` — {what}" for name, u, what in COMMANDS if name == topic)
        return f"There is no `/cs {topic}` command.\n\n" + help_text()
    lines = ["*csbot* — your Customer Success week, in Slack. Commands:"]
    lines += [f"• `{u}` — {what}" for _, u, what in COMMANDS]
    lines.append("Replies are only visible to you. `/cs help <command>` explains one command.")
    return "\n".join(lines)


def help_blocks(topic: str | None = None) -> list[dict[str, Any]]:
    return [{"type": "section", "text": {"type": "mrkdwn", "text": help_text(topic)[:3000]}}]


# --- customer health (PRODUCT.md §4) ---------------------------------------------------
DETAILS.update(
    {
        "nps": "`/cs nps <account> <0-10> [comment]` — record an NPS response, e.g. "
        "`/cs nps Acme 4 support is slow`. Anyone may record one; the reply shows the account's "
        "health with it at once, and has Undo for 10 minutes.",
        "renewal": "`/cs renewal <account> <renewed [amount]|downgraded <amount>|churned>` — record a "
        "renewal outcome, e.g. `/cs renewal Acme renewed $120k` (ARR becomes $120k), `/cs renewal Acme "
        "downgraded $10k` (ARR goes down by $10k), `/cs renewal Acme churned`. The renewal date moves one "
        "term on; a churned account leaves the live portfolio. Amounts: `120000`, `120,000`, `$120k`, "
        "`1.2m`. The account's CSM, a director or an admin.",
        "upsell": "`/cs upsell <account> <amount> [#product] [note]` — record an expansion, e.g. "
        "`/cs upsell Acme $24k #premier 20 more seats` (`#premier`: Premier Support & Success). "
        "The account's CSM, a director or an admin.",
        "metrics": "`/cs metrics [week|month|quarter] [segment|@csm]` — the director's figures for the "
        "period to date (default: this week), each with its change against the period before: ARR, "
        "gross and net revenue retention, renewal rate, up-sell, new ARR, NPS, adoption, coverage, "
        "escalation times, at risk, renewals and their forecast. Share posts them to the channel. "
        "Directors, execs and admins see any scope; a CSM sees their own book.",
        "risk": "`/cs risk [mine|team]` — the accounts at risk right now, worst first by ARR, with "
        "their reasons: red (score < 40), renewal within 90 days and not green, or a drop of 20+ points "
        "in 7 days. `mine`: accounts you are CSM of; `team`: yours and your reports'; none: a CSM "
        "sees their own, everyone else the whole portfolio.",
        "team": "`/cs team add @user <csm|director|exec|admin> [manager @user]` — add or change "
        "someone (directors and admins; only an admin makes an admin). `/cs team list` — who is who.",
    }
)

# --- /cs help log ---------------------------------------------------------
DETAILS["log"] = "\n".join(
    [
        "*`/cs log <account> <type> [date] <note...> [#tag ...] [+|-|~]`* — log a touchpoint",
        "• *account*: the name as in csbot, several words are fine; a prefix or a near miss works too "
        "(if it fits several accounts I ask which one).",
        "• *type*: call, meeting, email, qbr, ebr, exec-sponsor, onboarding, training, nps-followup, "
        "escalation-review, renewal-discussion, other (aliases: phone, mtg, mail, exec, kickoff, nps, "
        "renewal, …).",
        "• *date* (optional, default today, in your Slack time zone, never in the future): "
        "`today`, `yesterday`, a weekday (`tue` = the most recent Tuesday; today's own name means today), "
        "`2026-11-20`, `11/20`, `3d` (3 days ago).",
        "• *note*: what happened. *#tags* anywhere in the note. *sentiment* last: "
        "`+` positive, `~` neutral (default), `-` negative.",
        "",
        "*Examples*",
        "`/cs log Acme call talked through the renewal quote #renewal +`",
        "`/cs log Globex Health qbr yesterday adoption down in EMEA, exec asked for a plan #adoption -`",
        "`/cs log initech email 11/18 sent the onboarding checklist ~`",
        "",
        "`/cs log` with nothing after it opens a form. On any message, *More actions → Log as touchpoint* "
        "opens the same form with the message and its link filled in. Every log answers with an Undo "
        "button (10 minutes).",
    ]
)
