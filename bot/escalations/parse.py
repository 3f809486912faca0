"""Parsing `/cs escalate <account> <sev1|sev2|sev3> [@owner] <summary...>` (PRODUCT.md §2)
into plain values, and the default owner (the account's CSM)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlmodel import Session

from bot.accounts.matching import AccountIndex
from bot.errors import BadInput
from bot.slack.escape import escape
from bot.slack.mentions import mentioned_user
from models.tables import Account

USAGE = "/cs escalate <account> <sev1|sev2|sev3> [@owner] <summary...>"
_SEVERITY = re.compile(r"^sev([123])$", re.IGNORECASE)


# --- parsing `/cs escalate` ------------------------------------------------------------


@dataclass(frozen=True)
class EscalateRequest:
    account_id: int
    account_name: str
    severity: str
    owner_id: str | None  # None: the account's CSM
    summary: str


def parse_escalate(args: str, accounts: AccountIndex) -> EscalateRequest:
    """`<account> <sev> [@owner] <summary>`; the account may be several words.

    Raises BadInput (nothing written) with the right form, or the candidate
    accounts when the name is ambiguous or unknown."""
    form = f"Use: `{USAGE}`, e.g. `/cs escalate Acme sev1 @casey checkout is down for all users`"
    tokens = args.split()
    sev_at = next((i for i, t in enumerate(tokens) if _SEVERITY.match(t)), None)
    if not tokens or sev_at is None:
        raise BadInput(f"Say how severe it is: sev1, sev2 or sev3.\n{form}")
    if sev_at == 0:
        raise BadInput(f"Name the account first.\n{form}")
    account_text = " ".join(tokens[:sev_at])
    severity = tokens[sev_at].lower()
    rest = tokens[sev_at + 1 :]
    owner_id = None
    if rest and rest[0].startswith("<@"):
        owner_id = mentioned_user(rest[0])
        if owner_id is None:
            raise BadInput(
                f"I could not read the owner {escape(repr(rest[0]))}: @-mention one person.\n{form}"
            )
        rest = rest[1:]
    elif rest and rest[0].startswith("@"):
        raise BadInput(
            f"I could not read the owner {escape(repr(rest[0]))}: "
            f"pick the person from Slack's @-mention list.\n{form}"
        )
    summary = " ".join(rest).strip()
    if not summary:
        raise BadInput(f"Add a summary: what is wrong, for whom.\n{form}")
    found = accounts.match(account_text)
    ref = found.unique
    if ref is None:
        if found.candidates:
            names = ", ".join(f"*{escape(c.name)}*" for c in found.candidates)
            raise BadInput(
                f"“{escape(account_text)}” matches several accounts: {names}. Type more of the name."
            )
        close = ", ".join(f"*{escape(c.name)}*" for c in found.suggestions)
        hint = f" Closest: {close}." if close else ""
        raise BadInput(f"No account matches “{escape(account_text)}”.{hint} Nothing was opened.")
    return EscalateRequest(ref.id, ref.name, severity, owner_id, summary)


def default_owner(session: Session, parsed: EscalateRequest) -> str:
    """No @owner typed: the account's CSM owns it; BadInput when the account has none."""
    account = session.get(Account, parsed.account_id)
    owner = account.csm_slack_id if account is not None else None
    if not owner:
        raise BadInput(
            f"*{escape(parsed.account_name)}* has no CSM on record: name the owner, e.g. "
            f"`/cs escalate {escape(parsed.account_name)} {parsed.severity} @someone "
            f"{escape(parsed.summary[:40])}`. "
            "Nothing was opened."
        )
    return owner
