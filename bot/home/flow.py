"""The Home tab as each person's desk (PRODUCT.md §2.1): which view a person
gets (by their role), what goes on it, and publishing it.

Published with `views.publish` and the `hash` of the view last seen, so a
build that raced another one (two replicas, a click and a write) does not
overwrite a newer desk blindly: Slack answers `hash_conflict`, and we rebuild
from the database and publish once more without the hash — the rebuilt view is
at least as new as the one that won. Rebuilt after the person's own writes in
the background (deps.executor), so no ack waits for it."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from slack_sdk.errors import SlackApiError
from sqlmodel import Session, select

from bot.accounts.members import role_of
from bot.clock import local_date
from bot.home import blocks as b
from bot.home import queries as q
from bot.home.figures import FigureCache, FiguresSource, at_risk_by_csm, figure_blocks, week_metrics
from bot.metrics import period_containing
from bot.settings import Settings
from models.db import read_scope
from models.tables import Member

if TYPE_CHECKING:
    from bot.deps import Deps

log = logging.getLogger(__name__)

RENEWAL_DAYS = 90
UNTOUCHED_DAYS = 30
TEAM_ROLES = ("director", "exec", "admin")


@dataclass(frozen=True)
class Book:
    """A person's own accounts, sorted into the desk's lists."""

    at_risk: list[q.BookAccount]
    renewals: list[q.BookAccount]
    untouched: list[q.BookAccount]
    escalations: list[q.OpenEscalation]

    @property
    def empty(self) -> bool:
        return not (self.at_risk or self.renewals or self.untouched or self.escalations)


def load_book(session: Session, user_id: str, now: datetime, today: date) -> Book:
    """Two statements whatever the size of the book."""
    accounts = q.book(session, user_id)
    at_risk = sorted(
        (a for a in accounts if a.at_risk), key=lambda a: (-q.risk_weight(a.score, a.arr_cents), a.name)
    )
    horizon = today + timedelta(days=RENEWAL_DAYS)
    renewals = sorted(
        (a for a in accounts if a.renewal_date and today <= a.renewal_date <= horizon),
        key=lambda a: (a.renewal_date, a.name),
    )
    stale = now - timedelta(days=UNTOUCHED_DAYS)
    untouched = sorted(
        (a for a in accounts if a.last_touch is None or a.last_touch < stale),
        key=lambda a: (a.last_touch is not None, a.last_touch or now, a.name),
    )
    return Book(at_risk, renewals, untouched, q.escalations_for(session, user_id))


def book_blocks(book: Book, now: datetime, today: date) -> list[dict[str, Any]]:
    return [
        *b.escalation_blocks(book.escalations, now),
        b.divider(),
        *b.at_risk_blocks(book.at_risk),
        b.divider(),
        *b.renewal_blocks(book.renewals),
        b.divider(),
        *b.untouched_blocks(book.untouched, today),
    ]


def team_blocks(
    session: Session, settings: Settings, now: datetime, today: date, figures: FiguresSource = week_metrics
) -> list[dict[str, Any]]:
    """The director's view: the figures, at-risk ARR by CSM, escalations by severity
    and age, this quarter's renewals at risk."""
    quarter = period_containing("quarter", today, settings.tz)
    renewals = q.renewals_at_risk(session, quarter.start, quarter.end, limit=b.LINES_PER_LIST)
    metrics = figures(session, settings, today)
    return [
        *figure_blocks(metrics),
        b.divider(),
        *b.csm_risk_blocks(at_risk_by_csm(metrics)),
        b.divider(),
        *b.severity_blocks(q.escalations_by_severity(session, now), now),
        b.divider(),
        *b.renewals_at_risk_blocks(renewals, today, quarter.label()),
    ]


def admins_of(session: Session, settings: Settings) -> list[str]:
    """Who can add someone to the team (`/cs team add`): CSBOT_ADMINS and admin members."""
    found = list(settings.admins)
    for (slack_id,) in session.execute(
        select(Member.slack_id).where(Member.role == "admin").order_by(Member.slack_id)
    ):
        if slack_id not in found:
            found.append(slack_id)
    return found


def desk_view(
    session: Session,
    settings: Settings,
    now: datetime,
    user_id: str,
    *,
    notice: str | None = None,
    figures: FiguresSource = week_metrics,
) -> dict[str, Any]:
    """The Home tab for `user_id` as the database stands at `now` (the director's
    figures from `figures`: computed, or kept a few minutes by a FigureCache)."""
    today = local_date(now, settings.tz)
    role = role_of(session, user_id, settings)
    top = [b.notice_block(notice)] if notice else []
    if role is None:
        return b.home_view(top + b.starter_blocks(admins_of(session, settings)))
    if role in TEAM_ROLES:
        blocks = [
            b.header("Your team today"),
            b.desk_buttons(),
            *top,
            *team_blocks(session, settings, now, today, figures),
        ]
        book = load_book(session, user_id, now, today)
        if not book.empty:
            blocks += [b.divider(), b.header("Your own book"), *book_blocks(book, now, today)]
    else:
        book = load_book(session, user_id, now, today)
        blocks = [b.header("Your desk"), b.desk_buttons(), *top, *book_blocks(book, now, today)]
    return b.home_view([*blocks, b.footer()])


# --- publishing ---------------------------------------------------------------------


class HomeState:
    """What this process keeps between publishes: the hash of the Home view each
    person was last published (for the next publish to send), and the director's
    figures for a few minutes."""

    def __init__(self, figures: FigureCache) -> None:
        self.figures = figures
        self._lock = threading.Lock()
        self._by_user: dict[str, str] = {}

    def get(self, user_id: str) -> str | None:
        with self._lock:
            return self._by_user.get(user_id)

    def put(self, user_id: str, value: str | None) -> None:
        with self._lock:
            if value:
                self._by_user[user_id] = value
            else:
                self._by_user.pop(user_id, None)


def publish_home(
    deps: Deps, user_id: str, *, seen_hash: str | None = None, notice: str | None = None
) -> dict[str, Any]:
    """Build and publish `user_id`'s desk; a stale hash is retried once, rebuilt, without it."""
    state: HomeState = deps.home
    known = seen_hash or state.get(user_id)
    for attempt in (1, 2):
        with read_scope(deps.engine) as session:  # never holds up a writer
            view = desk_view(
                session, deps.settings, deps.clock.now(), user_id, notice=notice, figures=state.figures
            )
        args: dict[str, Any] = {"user_id": user_id, "view": view}
        if known and attempt == 1:
            args["hash"] = known
        try:
            response = deps.client.views_publish(**args)
        except SlackApiError as exc:
            if attempt == 1 and exc.response.get("error") == "hash_conflict":
                log.info("home of %s was published meanwhile; publishing it again", user_id)
                continue
            raise
        published = response.get("view") or {}
        state.put(user_id, published.get("hash"))
        return published
    raise AssertionError("unreachable")


def refresh_home_later(deps: Deps, user_id: str, *, notice: str | None = None) -> None:
    """After the person's own write: rebuild their desk off the request thread
    (the figures are computed afresh: the write may have moved them)."""
    state: HomeState | None = deps.home
    if state is not None:
        state.figures.clear()

    def work() -> None:
        try:
            publish_home(deps, user_id, notice=notice)
        except Exception:  # a desk that could not be rebuilt is rebuilt when next opened
            log.warning("could not refresh the home of %s", user_id, exc_info=True)

    try:
        deps.executor.submit(work)
    except RuntimeError:  # shutting down: the desk is rebuilt when next opened
        log.info("not refreshing the home of %s: shutting down", user_id)
