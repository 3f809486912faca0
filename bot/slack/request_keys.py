"""Every write a Slack request causes happens once (PRODUCT.md §2), across
retries, replays, replicas and restarts.

A request carries a key that stays the same when it is delivered again (its
trigger_id, its view id, or the signature of a slash command). Between `begin(key)`
and `end()` (bot/slack/once.py, around each dispatch) the first transaction that
writes anything also inserts the key into `slackrequest` (unique), in the same
commit. A second delivery finds the key — before its listener runs, or at its own
first commit, which then rolls back (AlreadyHandled) — writes nothing, and is
answered what the first was (stored when the first finished). A request that wrote
nothing stores no key, so a refused or read-only request can simply be sent again.

The key is only seen by sessions opened on the thread that handles the request (a
context variable); work handed to an executor thread (Slack calls after the ack) is
not counted, and must not write."""

from __future__ import annotations

import hashlib
import logging
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, event, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from models.tables import SlackRequest

log = logging.getLogger(__name__)

# At least Slack's five-minute signature window; a day covers a restart too.
KEEP_KEYS = timedelta(days=1)
_TABLE = SlackRequest.__table__  # type: ignore[attr-defined]


class AlreadyHandled(BaseException):  # noqa: N818 - a signal, not an error
    """Raised out of the commit of a second delivery (it rolls back). A
    BaseException so that no `except Exception` inside a flow swallows it."""


@dataclass
class _Claim:
    key: str
    now: datetime
    claimed: bool = False


_current: ContextVar[_Claim | None] = ContextVar("csbot_request_key", default=None)


def key_for_command(body: dict[str, Any], headers: dict[str, Any] | None = None) -> str | None:
    """A slash command: its trigger_id (the same in every delivery of it), else the
    signature and timestamp it was signed with."""
    trigger = body.get("trigger_id")
    if isinstance(trigger, str) and trigger:
        return f"cmd:{trigger}"
    return _signed_key(headers)


def key_for_interaction(body: dict[str, Any], headers: dict[str, Any] | None = None) -> str | None:
    """A button or menu (block_actions): the click's trigger_id, else its action_ts in
    its container; a form (view_submission): the view id — a form is submitted once."""
    if body.get("type") == "view_submission":
        view = body.get("view")
        if isinstance(view, dict) and isinstance(view.get("id"), str) and view["id"]:
            return f"view:{view['id']}"
    trigger = body.get("trigger_id")
    if isinstance(trigger, str) and trigger:
        return f"trigger:{trigger}"
    actions = body.get("actions")
    if isinstance(actions, list) and actions and isinstance(actions[0], dict):
        ts = actions[0].get("action_ts")
        container = body.get("container") if isinstance(body.get("container"), dict) else {}
        where = container.get("message_ts") or container.get("view_id") or ""
        if isinstance(ts, str) and ts:
            return f"action:{where}:{ts}"
    return _signed_key(headers)


def _signed_key(headers: dict[str, Any] | None) -> str | None:
    if not headers:
        return None
    sig, ts = _header(headers, "x-slack-signature"), _header(headers, "x-slack-request-timestamp")
    if not sig or not ts:
        return None
    return "sig:" + hashlib.sha256(f"{ts}:{sig}".encode()).hexdigest()


def _header(headers: dict[str, Any], name: str) -> str | None:
    value = headers.get(name)
    if isinstance(value, list | tuple):
        value = value[0] if value else None
    return value if isinstance(value, str) else None


@dataclass
class Pending:
    """The key of the request being handled on this thread; `claimed` once it is in
    the database with the request's first write."""

    claim: _Claim
    token: Any
    ended: bool = False

    @property
    def claimed(self) -> bool:
        return self.claim.claimed


def stored_answer(engine: Engine, key: str) -> tuple[dict[str, Any] | None] | None:
    """(answer,) when a request with this key has written already (answer None while
    the first delivery is still running or died before storing it); None otherwise."""
    with engine.connect() as conn:
        row = conn.execute(select(_TABLE.c.answer).where(_TABLE.c.key == key)).first()
        conn.rollback()
    return (row[0],) if row is not None else None


def begin(key: str, now: datetime) -> Pending:
    """Handle a request under `key` on this thread until `end`."""
    claim = _Claim(key=key, now=now)
    return Pending(claim=claim, token=_current.set(claim))


def end(pending: Pending) -> None:
    """Stop handling under the key (again: nothing)."""
    if pending.ended:
        return
    pending.ended = True
    try:
        _current.reset(pending.token)
    except ValueError:  # reset from another context: clear it instead
        _current.set(None)


def store_answer(
    engine: Engine, key: str, answer: dict[str, Any] | None, now: datetime | None = None
) -> None:
    """What a second delivery is answered with. With `now`, keys older than
    KEEP_KEYS go in the same transaction (an indexed DELETE, nearly always of
    nothing), so the table stays small without a job of its own."""
    if answer is None:
        return
    try:
        with engine.begin() as conn:
            conn.execute(update(_TABLE).where(_TABLE.c.key == key).values(answer=answer))
            if now is not None:
                conn.execute(delete(_TABLE).where(_TABLE.c.created_at < now - KEEP_KEYS))
    except Exception:  # the write is done; a later duplicate gets the generic answer
        log.warning("could not store the answer of request %s", key[:40], exc_info=True)


def prune_request_keys(engine: Engine, now: datetime, keep: timedelta = KEEP_KEYS) -> int:
    """Forget keys older than `keep` (one statement); returns how many."""
    with engine.begin() as conn:
        return int(conn.execute(delete(_TABLE).where(_TABLE.c.created_at < now - keep)).rowcount or 0)


# --- the hook: the key goes in with the first transaction that writes -------------


@event.listens_for(Session, "before_flush")
def _note_writes(session: Session, _context: Any, _instances: Any) -> None:
    if _current.get() is None:
        return
    if session.new or session.deleted or any(session.is_modified(o) for o in session.dirty):
        session.info["csbot_wrote"] = True


@event.listens_for(Session, "do_orm_execute")
def _note_statement_writes(state: Any) -> None:
    if _current.get() is not None and (state.is_insert or state.is_update or state.is_delete):
        state.session.info["csbot_wrote"] = True


@event.listens_for(Session, "before_commit")
def _claim_with_the_write(session: Session) -> None:
    claim = _current.get()
    if claim is None or claim.claimed:
        return
    session.flush()
    if not session.info.get("csbot_wrote"):
        return
    conn = session.connection()
    insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    stmt = (
        insert(_TABLE)
        .values(key=claim.key, created_at=claim.now)
        .on_conflict_do_nothing()
        .returning(_TABLE.c.key)
    )
    if conn.execute(stmt).first() is None:  # (rowcount is not reliable here on every driver)
        raise AlreadyHandled(claim.key)
    session.info["csbot_claim"] = claim


@event.listens_for(Session, "after_commit")
def _claimed(session: Session) -> None:
    claim = session.info.pop("csbot_claim", None)
    session.info.pop("csbot_wrote", None)
    if claim is not None:
        claim.claimed = True


@event.listens_for(Session, "after_rollback")
def _not_claimed(session: Session) -> None:
    session.info.pop("csbot_claim", None)
    session.info.pop("csbot_wrote", None)
