"""`/cs nps`, `/cs renewal`, `/cs upsell` (PRODUCT.md §2): parse what was
typed, check the role, write one row and its audit line, and return the
confirmation with its Undo button. Nothing is written on bad input or refusal."""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session

from bot import audit
from bot.accounts.matching import AccountIndex, AccountRef, MatchKind
from bot.accounts.members import role_of
from bot.clock import Clock
from bot.errors import BadInput, NotAllowed, NotFound
from bot.money import AmountTooLarge, format_cents, parse_dollars
from bot.settings import Settings
from bot.slack.escape import escape
from bot.slack.help import usage
from bot.touchpoints.undo import undo_button
from models.tables import Account, Expansion, NpsResponse, RenewalEvent

OUTCOMES = ("renewed", "churned", "downgraded")
_SCORE = re.compile(r"^(10|[0-9])$")


@dataclass(frozen=True)
class Confirmation:
    text: str
    blocks: list[dict[str, Any]]


def _tokens(args: str) -> list[str]:
    try:
        return shlex.split(args)
    except ValueError:  # an unbalanced quote: split on spaces
        return args.split()


def resolve_account(index: AccountIndex, text: str) -> AccountRef:
    """The one account `text` names, or a sentence saying why not (never creates one)."""
    match = index.match(text)
    if match.unique is not None:
        return match.unique
    if match.candidates:
        names = ", ".join(f"*{escape(c.name)}*" for c in match.candidates)
        raise BadInput(f"Several accounts match “{escape(text)}”: {names}. Type more of the name.")
    hint = ""
    if match.suggestions:
        hint = " Did you mean " + " or ".join(f"*{escape(s.name)}*" for s in match.suggestions) + "?"
    raise NotFound(f"No account matches “{escape(text)}”.{hint}")


def split_at_value(
    index: AccountIndex, tokens: list[str], is_value: Callable[[str], bool]
) -> tuple[str, int] | None:
    """Where the account name ends: the first token after it that `is_value`.
    An account whose name holds such a token ('Route 66') wins when the
    longer prefix names an account exactly."""
    splits = [i for i in range(1, len(tokens)) if is_value(tokens[i])]
    for i in splits:
        name = " ".join(tokens[:i])
        if index.match(name).kind in (MatchKind.EXACT, MatchKind.NORMALIZED):
            return name, i
    if splits:
        return " ".join(tokens[: splits[0]]), splits[0]
    return None


def _is_amount(token: str) -> bool:
    try:
        parse_dollars(token)
    except AmountTooLarge:
        return True  # an amount, refused with its own sentence when parsed
    except ValueError:
        return False
    return True


def _confirmation(text: str, kind: str, row_id: int, extra: str | None = None) -> Confirmation:
    text = escape(text)  # names, comments and notes in it are foreign; its own markup is only *bold*
    blocks: list[dict[str, Any]] = [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]
    if extra:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": extra[:3000]}]})
    blocks.append({"type": "actions", "elements": [undo_button(kind, row_id)]})
    return Confirmation(text + (f"\n{extra}" if extra else ""), blocks)


def _save(
    session: Session, clock: Clock, user_id: str, row: Any, action: str, entity: str, **detail: Any
) -> int:
    """Write the new row and its audit line; the row's id (for the Undo button)."""
    session.add(row)
    session.flush()
    audit.record(session, clock.now(), user_id, action, entity, row.id, detail)
    return int(row.id)


def _account_to_change(
    session: Session, settings: Settings, index: AccountIndex, user_id: str, name: str, doing: str
) -> Account:
    """The account `name` names, once the user may record `doing` on it."""
    ref = resolve_account(index, name)
    account = session.get(Account, ref.id)
    if account is None:
        raise NotFound(f"No account matches “{name}”.")
    _require_account_role(session, settings, user_id, account, doing)
    return account


def record_nps(
    session: Session, clock: Clock, index: AccountIndex, user_id: str, args: str
) -> tuple[Confirmation, int]:
    """`/cs nps <account> <0-10> [comment]` (anyone may record one)."""
    tokens = _tokens(args)
    split = split_at_value(index, tokens, lambda t: bool(_SCORE.match(t)))
    if split is None:
        raise BadInput(
            "Give the account and a score from 0 to 10, e.g. `/cs nps Acme 9 loves the new reports`.\n"
            + usage("nps")
        )
    name, i = split
    ref = resolve_account(index, name)
    score = int(tokens[i])
    comment = " ".join(tokens[i + 1 :]) or None
    now = clock.now()
    row = NpsResponse(
        account_id=ref.id,
        responded_at=now,
        score=score,
        respondent=None,
        comment=comment,
        recorded_by=user_id,
        created_at=now,
    )
    row_id = _save(session, clock, user_id, row, "nps.create", "npsresponse", account_id=ref.id, score=score)
    kind = "promoter" if score >= 9 else "passive" if score >= 7 else "detractor"
    text = f":white_check_mark: Recorded NPS *{score}* ({kind}) for *{ref.name}*" + (
        f": “{comment}”" if comment else "."
    )
    return _confirmation(text, "nps", row_id), ref.id


def _require_account_role(
    session: Session, settings: Settings, user_id: str, account: Account, doing: str
) -> None:
    """Renewals and up-sells: the account's CSM, a director or an admin."""
    if account.csm_slack_id == user_id:
        return
    role = role_of(session, user_id, settings)
    if role in ("director", "admin"):
        return
    yours = f"your role is *{role}*" if role else "you are not in the team list (`/cs team list`)"
    csm = f" (<@{account.csm_slack_id}>)" if account.csm_slack_id else ""
    raise NotAllowed(
        f"Only {escape(account.name)}'s CSM{csm}, a *director* or an *admin* can {doing}; {yours}. "
        "Nothing was recorded."
    )


def record_renewal(
    session: Session, clock: Clock, settings: Settings, index: AccountIndex, user_id: str, args: str
) -> Confirmation:
    """`/cs renewal <account> <renewed|churned|downgraded> <amount>`."""
    tokens = _tokens(args)
    split = split_at_value(index, tokens, lambda t: t.lower() in OUTCOMES)
    if split is None or split[1] + 1 >= len(tokens):
        raise BadInput(
            "Give the account, the outcome and the amount, e.g. `/cs renewal Acme renewed $120k`.\n"
            + usage("renewal")
        )
    name, i = split
    outcome = tokens[i].lower()
    amount_text = " ".join(tokens[i + 1 :])
    try:
        cents = parse_dollars(amount_text)
    except ValueError as exc:
        raise BadInput(f"{exc}.\n{usage('renewal')}") from None
    account = _account_to_change(session, settings, index, user_id, name, "record a renewal")
    now = clock.now()
    row = RenewalEvent(
        account_id=account.id,
        outcome=outcome,
        amount_cents=cents,
        occurred_at=now,
        recorded_by=user_id,
        created_at=now,
    )
    row_id = _save(
        session,
        clock,
        user_id,
        row,
        "renewal.create",
        "renewalevent",
        account_id=account.id,
        outcome=outcome,
        amount_cents=cents,
    )
    verb = {"renewed": "renewed for", "churned": "churned", "downgraded": "downgraded by"}[outcome]
    text = f":white_check_mark: Recorded: *{account.name}* {verb} *{format_cents(cents)}*."
    if outcome == "churned":
        text = f":white_check_mark: Recorded: *{account.name}* churned (*{format_cents(cents)}* ARR lost)."
    return _confirmation(text, "renewal", row_id)


def record_upsell(
    session: Session, clock: Clock, settings: Settings, index: AccountIndex, user_id: str, args: str
) -> Confirmation:
    """`/cs upsell <account> <amount> [note]`."""
    tokens = _tokens(args)
    split = split_at_value(index, tokens, _is_amount)
    if split is None:
        raise BadInput(
            f"Give the account and the amount, e.g. `/cs upsell Acme $24k 20 more seats`.\n{usage('upsell')}"
        )
    name, i = split
    cents = parse_dollars(tokens[i])
    if cents <= 0:
        raise BadInput(f"An up-sell amount must be more than $0.\n{usage('upsell')}")
    note = " ".join(tokens[i + 1 :]) or None
    account = _account_to_change(session, settings, index, user_id, name, "record an up-sell")
    now = clock.now()
    row = Expansion(
        account_id=account.id,
        amount_cents=cents,
        note=note,
        occurred_at=now,
        recorded_by=user_id,
        created_at=now,
    )
    row_id = _save(
        session, clock, user_id, row, "upsell.create", "expansion", account_id=account.id, amount_cents=cents
    )
    text = f":white_check_mark: Recorded an up-sell of *{format_cents(cents)}* for *{account.name}*" + (
        f": {note}" if note else "."
    )
    return _confirmation(text, "upsell", row_id)
