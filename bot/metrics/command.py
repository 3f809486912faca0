"""`/cs metrics [week|month|quarter] [segment|@csm]` (PRODUCT.md §6.1): who may see
which figures, and the ephemeral answer with its Share button.

Directors, execs and admins see any scope; a CSM sees their own book (asking
for someone else's, or a segment, is refused naming the roles that may)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlmodel import Session

from bot.accounts.members import role_of
from bot.clock import local_date
from bot.deps import Deps
from bot.errors import BadInput, NotAllowed
from bot.metrics.flow import team_metrics
from bot.metrics.periods import KINDS
from bot.metrics.slack_blocks import metrics_blocks, metrics_text, share_value
from bot.settings import Settings
from bot.slack.answer import Answer
from bot.slack.help import usage
from bot.slack.mentions import mention
from models.db import session_scope
from models.tables import Account

ANY_SCOPE = ("director", "exec", "admin")
SEGMENT_MAX = 100  # the Share button carries the ask in its value (Slack: 2,000 characters)


@dataclass(frozen=True)
class Ask:
    kind: str
    segment: str | None
    csm: str | None


def parse_ask(args: str) -> Ask:
    tokens = args.split()
    kind = "week"
    if tokens and tokens[0].lower() in KINDS:
        kind = tokens.pop(0).lower()
    csm = None
    segment = None
    if len(tokens) == 1 and (found := mention(tokens[0], bare_id=True)) is not None:
        csm = found[0]
    elif tokens:
        if any(mention(t) for t in tokens) or tokens[0].lower() in KINDS:
            raise BadInput(f"Give a period, then a segment or one @CSM.\n{usage('metrics')}")
        segment = " ".join(tokens)
        if len(segment) > SEGMENT_MAX:
            too_long = f"No segment has a name that long ({len(segment)} characters)."
            raise BadInput(f"{too_long}\n{usage('metrics')}")
    return Ask(kind, segment, csm)


def allowed_ask(session: Session, settings: Settings, user_id: str, ask: Ask) -> Ask:
    """The scope the user may see: anything for directors, execs and admins; a
    CSM (or anyone who owns accounts) their own book."""
    role = role_of(session, user_id, settings)
    if role in ANY_SCOPE:
        return ask
    owns = session.execute(select(Account.id).where(Account.csm_slack_id == user_id).limit(1)).first()
    if role != "csm" and owns is None:
        yours = f"your role is *{role}*" if role else "you are not in the team list (`/cs team list`)"
        raise NotAllowed(
            f"Only a *director*, an *exec* or an *admin* can see the team's metrics; {yours}. "
            "Ask an admin to run `/cs team add`."
        )
    if ask.segment is not None or (ask.csm is not None and ask.csm != user_id):
        whose = f"<@{ask.csm}>'s book" if ask.csm else f"the {ask.segment} segment"
        raise NotAllowed(
            f"Only a *director*, an *exec* or an *admin* can see {whose}; your role is *{role or 'csm'}*, "
            "so `/cs metrics` shows your own book."
        )
    return Ask(ask.kind, None, user_id)


def _answer(deps: Deps, user_id: str, ask: Ask, as_of: date, *, shared: bool) -> Answer:
    with session_scope(deps.engine) as session:
        ask = allowed_ask(session, deps.settings, user_id, ask)
        result = team_metrics(
            session, deps.settings, kind=ask.kind, as_of=as_of, segment=ask.segment, csm=ask.csm
        )
    share = None if shared else share_value(ask.kind, as_of.isoformat(), ask.segment, ask.csm)
    return Answer(metrics_text(result), metrics_blocks(result, share=share))


def metrics(deps: Deps, user_id: str, args: str) -> Answer:
    """The figures for the period to date, ephemeral, with a Share button."""
    ask = parse_ask(args)
    return _answer(deps, user_id, ask, local_date(deps.clock.now(), deps.settings.tz), shared=False)


def shared_metrics(deps: Deps, user_id: str, value: str) -> Answer:
    """What the Share button posts: the same figures (same period and as-of day),
    the clicker's role checked again, without a button."""
    try:
        data = json.loads(value)
        ask = Ask(str(data["k"]), data.get("s"), data.get("c"))
        as_of = date.fromisoformat(data["d"])
        if ask.kind not in KINDS:
            raise ValueError(ask.kind)
    except (ValueError, KeyError, TypeError):
        raise BadInput("That Share button is not valid any more: run `/cs metrics` again.") from None
    return _answer(deps, user_id, ask, as_of, shared=True)
