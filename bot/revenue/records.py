"""`/cs nps`, `/cs renewal`, `/cs upsell` (PRODUCT.md §2, §6.0): parse what was
typed, check the role, write the row (renewals and up-sells through the ARR
ledger) and its audit line, and return the confirmation with its Undo button.
Nothing is written on bad input or refusal."""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlmodel import Session

from bot import audit
from bot.accounts.matching import AccountIndex, AccountRef, MatchKind
from bot.accounts.members import role_of
from bot.clock import Clock, local_date
from bot.errors import BadInput, NotAllowed, NotFound
from bot.money import AmountTooLarge, format_cents, parse_dollars
from bot.revenue import outcomes
from bot.revenue.ledger import LedgerError
from bot.settings import Settings
from bot.slack.escape import escape
from bot.slack.help import usage
from bot.touchpoints.undo import undo_button
from models.tables import Account, NpsResponse

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
        raise NotFound(f"No account matches “{escape(name)}”.")
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
    text = f":white_check_mark: Recorded NPS *{score}* ({kind}) for *{escape(ref.name)}*" + (
        f": “{escape(comment)}”" if comment else "."
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


def _today(clock: Clock, settings: Settings) -> date:
    return local_date(clock.now(), settings.tz)


def _amount(text: str, command: str) -> int:
    try:
        return parse_dollars(text)
    except ValueError as exc:
        raise BadInput(f"{exc}.\n{usage(command)}") from None


def record_renewal(
    session: Session, clock: Clock, settings: Settings, index: AccountIndex, user_id: str, args: str
) -> Confirmation:
    """`/cs renewal <account> renewed [amount] | downgraded <amount> | churned [amount]` (§6.0):
    the outcome's movements go through the ledger, the renewal date moves one term on."""
    tokens = _tokens(args)
    split = split_at_value(index, tokens, lambda t: t.lower() in OUTCOMES)
    if split is None:
        raise BadInput(
            "Give the account and the outcome, e.g. `/cs renewal Acme renewed $120k`, "
            "`/cs renewal Acme downgraded $10k` or `/cs renewal Acme churned`.\n" + usage("renewal")
        )
    name, i = split
    outcome = tokens[i].lower()
    amount_text = " ".join(tokens[i + 1 :])
    cents = _amount(amount_text, "renewal") if amount_text else None
    if outcome == "downgraded" and not cents:
        raise BadInput(
            f"Say how much ARR went down by, e.g. `/cs renewal Acme downgraded $10k`.\n{usage('renewal')}"
        )
    account = _account_to_change(session, settings, index, user_id, name, "record a renewal")
    if account.stage == "churned":
        raise BadInput(
            f"*{escape(account.name)}* has already churned. Money back in is an up-sell: `/cs upsell`."
        )
    try:
        result = outcomes.record_outcome(
            session, account, outcome, cents, who=user_id, now=clock.now(), today=_today(clock, settings)
        )
    except LedgerError as exc:
        why = str(exc)
        raise BadInput(f"{why[:1].upper()}{why[1:]}. Nothing was recorded.\n{usage('renewal')}") from None
    event = result.event
    assert event.id is not None
    audit.record(
        session,
        clock.now(),
        user_id,
        "renewal.create",
        "renewalevent",
        event.id,
        {
            "account_id": account.id,
            "outcome": outcome,
            "arr_before": result.arr_before,
            "arr_after": result.arr_after,
        },
    )
    before, after = format_cents(result.arr_before), format_cents(result.arr_after)
    nxt = f" Next renewal *{result.renewal_date:%Y-%m-%d}*." if result.renewal_date else ""
    if outcome == "churned":
        text = (
            f":white_check_mark: Recorded: *{escape(account.name)}* churned: *{before}* ARR lost. "
            "It leaves the live portfolio (alerts, coverage, renewals) and keeps its history."
        )
        if cents is not None and cents != result.arr_before:
            text += f" You typed {format_cents(cents)}; the churn recorded is the whole ARR, {before}."
    elif outcome == "downgraded":
        down = format_cents(result.arr_before - result.arr_after)
        text = (
            f":white_check_mark: Recorded: *{escape(account.name)}* downgraded by *{down}*: "
            f"ARR now *{after}* (was {before}).{nxt}"
        )
    else:
        change = result.arr_after - result.arr_before
        how = (
            "" if not change else f" (was {before}: {'+' if change > 0 else '−'}{format_cents(abs(change))})"
        )
        text = f":white_check_mark: Recorded: *{escape(account.name)}* renewed at *{after}* ARR{how}.{nxt}"
    return _confirmation(text, "renewal", event.id)


def record_upsell(
    session: Session, clock: Clock, settings: Settings, index: AccountIndex, user_id: str, args: str
) -> Confirmation:
    """`/cs upsell <account> <amount> [#product] [note]`: an expansion movement
    (a reactivation when the account had churned). `#premier` is a sale of
    Premier Support & Success."""
    tokens = _tokens(args)
    split = split_at_value(index, tokens, _is_amount)
    if split is None:
        raise BadInput(
            "Give the account and the amount, e.g. `/cs upsell Acme $24k #premier 20 more seats`.\n"
            + usage("upsell")
        )
    name, i = split
    cents = parse_dollars(tokens[i])
    if cents <= 0:
        raise BadInput(f"An up-sell amount must be more than $0.\n{usage('upsell')}")
    rest = tokens[i + 1 :]
    product = None
    if rest and rest[0].startswith("#") and len(rest[0]) > 1:
        product = rest[0][1:].lower()
        rest = rest[1:]
    note = " ".join(rest) or None
    account = _account_to_change(session, settings, index, user_id, name, "record an up-sell")
    was_churned = account.stage == "churned"
    row = outcomes.record_upsell(
        session,
        account,
        cents,
        product=product,
        note=note,
        who=user_id,
        now=clock.now(),
        today=_today(clock, settings),
    )
    assert row.id is not None
    audit.record(
        session,
        clock.now(),
        user_id,
        "upsell.create",
        "expansion",
        row.id,
        {"account_id": account.id, "amount_cents": cents, "product": product},
    )
    session.refresh(account)
    what = "a reactivation" if was_churned else "an up-sell"
    tag = (
        f" (#{escape(product)}{': Premier Support & Success' if product == outcomes.PREMIER else ''})"
        if product
        else ""
    )
    text = (
        f":white_check_mark: Recorded {what} of *{format_cents(cents)}* for *{escape(account.name)}*{tag}"
        + (f": {escape(note)}" if note else "")
        + f". ARR now *{format_cents(account.arr_cents)}*."
    )
    return _confirmation(text, "upsell", row.id)
