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
    ("metrics", "/cs metrics [week|month|quarter]", "the digest figures on demand"),
    ("nps", "/cs nps <account> <0-10> [comment]", "record an NPS response"),
    ("renewal", "/cs renewal <account> <renewed|churned|downgraded> <amount>", "record a renewal outcome"),
    ("upsell", "/cs upsell <account> <amount> [note]", "record an expansion"),
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

# Longer help for single commands; other issues add their own entries.
DETAILS: dict[str, str] = {}


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


# --- issue 4: /cs help log ---------------------------------------------------------
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
