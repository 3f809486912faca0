"""The ARR ledger (PRODUCT.md §6.0): the one way ARR changes.

Every write that changes an account's ARR — the accounts import, `csbot import
movements`, `/cs upsell`, `/cs renewal`, and the Undo of any of them — calls
`apply` (or `undo`), which writes the movements and, in the same transaction,
sets Account.arr_cents to the sum of the account's live movements. Retention
figures are computed from the movements, so ARR on any past day is known.

A handful of statements per call (one more per 5,000 accounts touched, as SQLite
caps the parameters of a statement), so an import of 10,000 accounts costs about
as many round trips as one up-sell."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime

from sqlalchemy import bindparam, func, insert, select, update
from sqlmodel import Session

from models.tables import MOVEMENT_KINDS, MOVEMENT_SOURCES, Account, ArrMovement

POSITIVE = ("new", "expansion", "reactivation")
NEGATIVE = ("contraction", "churn")
CHURNED = "churned"
REACTIVATED_STAGE = "onboarding"  # money back into a churned account starts a new contract
CHUNK = 5000


class LedgerError(ValueError):
    """A movement the ledger refuses (wrong sign, ARR below zero); the message says which."""


@dataclass(frozen=True)
class Move:
    """One movement to write. `amount_cents` is signed (the kind gives the sign)."""

    account_id: int
    kind: str
    amount_cents: int
    effective_date: date
    source: str
    effective_at: datetime | None = None
    ref: str | None = None
    product: str | None = None
    note: str | None = None
    who: str | None = None


def kind_for_change(stage: str | None, delta: int, *, first: bool = False) -> str:
    """What a change of ARR by `delta` is: `new` for an account's first revenue,
    `reactivation` for money back into a churned account, else expansion/contraction."""
    if delta < 0:
        return "contraction"
    if first:
        return "new"
    return "reactivation" if stage == CHURNED else "expansion"


def _check(move: Move) -> None:
    if move.kind not in MOVEMENT_KINDS:
        raise LedgerError(f"unknown movement kind {move.kind!r} (one of {', '.join(MOVEMENT_KINDS)})")
    if move.source not in MOVEMENT_SOURCES:
        raise LedgerError(f"unknown movement source {move.source!r}")
    if move.kind in POSITIVE and move.amount_cents <= 0:
        raise LedgerError(f"a {move.kind} movement adds ARR: its amount must be above zero")
    if move.kind in NEGATIVE and move.amount_cents >= 0:
        raise LedgerError(f"a {move.kind} movement removes ARR: its amount must be below zero")


def current(session: Session, account_ids: Iterable[int]) -> dict[int, tuple[int, str | None]]:
    """account id -> (arr_cents, stage), the rows locked for the change (PostgreSQL)."""
    out: dict[int, tuple[int, str | None]] = {}
    for chunk in _chunks(sorted(set(account_ids))):
        rows = session.execute(
            select(Account.id, Account.arr_cents, Account.stage)
            .where(Account.id.in_(chunk))
            .with_for_update()
        )
        out.update({i: (int(arr or 0), stage) for i, arr, stage in rows})
    return out


def _chunks(ids: list[int]) -> list[list[int]]:
    """IN lists of at most CHUNK ids (SQLite caps the parameters of one statement)."""
    return [ids[i : i + CHUNK] for i in range(0, len(ids), CHUNK)]


def apply(session: Session, moves: Sequence[Move], *, now: datetime) -> list[Move]:
    """Write `moves` and keep each account's ARR equal to its ledger sum.

    A churn leaves the account at stage `churned` (out of the live portfolio);
    a reactivation brings it back at `onboarding`. Raises LedgerError, writing
    nothing, if a move has the wrong sign or would take an account below zero."""
    if not moves:
        return []
    for move in moves:
        _check(move)
    state = current(session, (m.account_id for m in moves))
    missing = {m.account_id for m in moves} - set(state)
    if missing:
        raise LedgerError(f"no account with id {min(missing)}")
    rows = []
    stages: dict[int, str | None] = {}
    running = {i: arr for i, (arr, _) in state.items()}
    for move in moves:
        running[move.account_id] += move.amount_cents
    if any(total < 0 for total in running.values()):
        raise LedgerError("ARR cannot go below $0: the contraction is larger than the account's ARR")
    for move in moves:
        stage = stages.get(move.account_id, state[move.account_id][1])
        rows.append(
            {
                "account_id": move.account_id,
                "kind": move.kind,
                "amount_cents": move.amount_cents,
                "effective_date": move.effective_date,
                "effective_at": move.effective_at,
                "source": move.source,
                "ref": move.ref,
                "product": move.product,
                "note": move.note,
                "stage_before": stage,
                "recorded_by": move.who,
                "created_at": now,
                "deleted_at": None,
            }
        )
        if move.kind == "churn":
            stages[move.account_id] = CHURNED
        elif move.kind == "reactivation" or (move.kind in POSITIVE and stage == CHURNED):
            stages[move.account_id] = REACTIVATED_STAGE
    session.execute(insert(ArrMovement.__table__), rows)  # type: ignore[attr-defined]
    _set_stages(session, {i: s for i, s in stages.items() if s != state[i][1]}, now)
    _add(session, {i: running[i] - state[i][0] for i in state}, now)
    return list(moves)


def undo(session: Session, ref: str, *, now: datetime) -> set[int]:
    """Remove the live movements `ref` wrote; each account gets back the ARR (the
    ledger sum without them) and the stage it had before the first of them.
    Raises LedgerError, changing nothing, when that would leave ARR below zero."""
    found = session.execute(
        select(ArrMovement.id, ArrMovement.account_id, ArrMovement.stage_before, ArrMovement.amount_cents)
        .where(ArrMovement.ref == ref, ArrMovement.deleted_at.is_(None))
        .order_by(ArrMovement.id)
    ).all()
    if not found:
        return set()
    state = current(session, (r.account_id for r in found))  # lock the accounts
    after = dict.fromkeys(state, 0)
    for row in found:
        after[row.account_id] -= int(row.amount_cents)
    if any(state[i][0] + d < 0 for i, d in after.items()):
        raise LedgerError(
            "undoing this would take the account's ARR below $0: ARR has gone down since; correct it instead"
        )
    session.execute(
        update(ArrMovement).where(ArrMovement.id.in_([r.id for r in found])).values(deleted_at=now)
    )
    before: dict[int, str | None] = {}
    deltas: dict[int, int] = {}
    for row in found:
        before.setdefault(row.account_id, row.stage_before)
        deltas[row.account_id] = deltas.get(row.account_id, 0) - int(row.amount_cents)
    _set_stages(session, before, now)
    _add(session, deltas, now)
    return set(before)


def _add(session: Session, deltas: dict[int, int], now: datetime) -> None:
    """arr_cents += the change, for every account at once (one executemany): with
    the movements written in the same transaction, ARR stays the ledger sum."""
    rows = [{"aid": i, "delta": d} for i, d in sorted(deltas.items()) if d]
    if rows:
        table = Account.__table__  # type: ignore[attr-defined]
        session.execute(
            update(table)
            .where(table.c.id == bindparam("aid"))
            .values(arr_cents=table.c.arr_cents + bindparam("delta"), updated_at=now),
            rows,
        )
    _expire(session, deltas.keys())


def _expire(session: Session, ids: Iterable[int]) -> None:
    wanted = set(ids)
    for obj in list(session.identity_map.values()):
        if isinstance(obj, Account) and obj.id in wanted:
            session.expire(obj, ["arr_cents", "stage", "updated_at"])


def resync(session: Session, account_ids: Iterable[int], *, now: datetime) -> None:
    """Account.arr_cents := the sum of its live movements, in one statement (repairs;
    `apply` and `undo` keep it so incrementally)."""
    ids = sorted(set(account_ids))
    total = (
        select(func.coalesce(func.sum(ArrMovement.amount_cents), 0))
        .where(ArrMovement.account_id == Account.id, ArrMovement.deleted_at.is_(None))
        .scalar_subquery()
    )
    for chunk in _chunks(ids):
        session.execute(
            update(Account).where(Account.id.in_(chunk)).values(arr_cents=total, updated_at=now),
            execution_options={"synchronize_session": False},
        )
    _expire(session, ids)


def _set_stages(session: Session, stages: dict[int, str | None], now: datetime) -> None:
    by_stage: dict[str | None, list[int]] = {}
    for account_id, stage in stages.items():
        by_stage.setdefault(stage, []).append(account_id)
    for stage, ids in by_stage.items():  # a few distinct stages: a few statements
        for chunk in _chunks(sorted(ids)):
            session.execute(
                update(Account).where(Account.id.in_(chunk)).values(stage=stage, updated_at=now),
                execution_options={"synchronize_session": False},
            )


def ledger_sums(session: Session) -> dict[int, int]:
    """account id -> the sum of its live movements (checks and tests)."""
    rows = session.execute(
        select(ArrMovement.account_id, func.sum(ArrMovement.amount_cents))
        .where(ArrMovement.deleted_at.is_(None))
        .group_by(ArrMovement.account_id)
    )
    return {i: int(total) for i, total in rows}


def with_ref(moves: Sequence[Move], ref: str) -> list[Move]:
    return [replace(m, ref=ref) for m in moves]
