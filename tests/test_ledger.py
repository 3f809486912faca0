"""The ARR ledger (PRODUCT.md §6.0): every write that changes ARR keeps
Account.arr_cents equal to the sum of the account's live movements — the
accounts import, `csbot import movements`, up-sells, renewal outcomes and their
Undo — checked on named cases and on random sequences (hypothesis)."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete
from sqlmodel import Session, select

from bot.accounts.csv_import import ImportRejected
from bot.accounts.importer import import_accounts
from bot.clock import ManualClock
from bot.revenue import ledger, outcomes
from bot.revenue.movements_import import import_movements
from models.tables import Account, ArrMovement, AuditLog, Expansion, RenewalEvent

NOW = datetime(2026, 11, 20, 15, tzinfo=UTC)


def _moves(session: Session) -> list[tuple[str, str, int, date, str]]:
    rows = session.exec(select(ArrMovement, Account.name).join(Account).order_by(ArrMovement.id)).all()
    return [
        (name, m.kind, m.amount_cents, m.effective_date, m.source) for m, name in rows if m.deleted_at is None
    ]


def _arr(session: Session) -> dict[str, tuple[int, str | None]]:
    session.expire_all()
    return {a.name: (a.arr_cents, a.stage) for a in session.exec(select(Account))}


def _consistent(session: Session) -> None:
    sums = ledger.ledger_sums(session)
    for account in session.exec(select(Account)):
        assert account.arr_cents == sums.get(account.id, 0), account.name
        assert account.arr_cents >= 0


def test_accounts_import_writes_new_and_changed_arr_as_movements(session: Session) -> None:
    clock = ManualClock(NOW)
    first = "name,arr,contract_start\nAcme,120000,2025-03-01\nBeta,50000,\nGamma,0,\n"
    import_accounts(session, io.StringIO(first), clock, tz="America/New_York")
    # Acme dated its contract start; Beta today in New York (10:00 there); Gamma has no ARR: no movement
    assert _moves(session) == [
        ("Acme", "new", 12_000_000, date(2025, 3, 1), "import"),
        ("Beta", "new", 5_000_000, date(2026, 11, 20), "import"),
    ]
    clock.advance(days=1)
    again = "name,arr\nAcme,150000\nBeta,50000\nGamma,1000\n"
    result = import_accounts(session, io.StringIO(again), clock)
    assert (result.updated, result.unchanged) == (2, 1)
    assert _moves(session)[2:] == [
        ("Acme", "expansion", 3_000_000, date(2026, 11, 21), "import"),
        ("Gamma", "new", 100_000, date(2026, 11, 21), "import"),
    ]
    clock.advance(days=1)
    import_accounts(session, io.StringIO("name,arr,stage\nAcme,100000,mature\nBeta,0,churned\n"), clock)
    assert _moves(session)[4:] == [
        ("Acme", "contraction", -5_000_000, date(2026, 11, 22), "import"),
        ("Beta", "churn", -5_000_000, date(2026, 11, 22), "import"),
    ]
    session.commit()
    assert _arr(session) == {"Acme": (10_000_000, "mature"), "Beta": (0, "churned"), "Gamma": (100_000, None)}
    _consistent(session)


MOVEMENTS = """account,date,kind,amount,note
Acme,2025-01-15,new,"100,000",first contract
ACME-EXT,2026-01-15,expansion,20000,
Beta,2025-06-01,new,50000,
Beta,2026-06-01,churn,50000,lost to a competitor
Beta,2026-09-01,reactivation,30000,
"""


def test_import_movements_is_all_or_nothing_and_idempotent(session: Session) -> None:
    clock = ManualClock(NOW)
    for name, ext in (("Acme", "ACME-EXT"), ("Beta", None)):
        session.add(Account(name=name, external_id=ext, arr_cents=0, created_at=NOW, updated_at=NOW))
    session.commit()
    result = import_movements(session, io.StringIO(MOVEMENTS), clock)
    assert (result.created, result.unchanged) == (5, 0)
    assert _moves(session) == [
        ("Acme", "new", 10_000_000, date(2025, 1, 15), "movements"),
        ("Acme", "expansion", 2_000_000, date(2026, 1, 15), "movements"),
        ("Beta", "new", 5_000_000, date(2025, 6, 1), "movements"),
        ("Beta", "churn", -5_000_000, date(2026, 6, 1), "movements"),
        ("Beta", "reactivation", 3_000_000, date(2026, 9, 1), "movements"),
    ]
    session.commit()
    assert _arr(session) == {"Acme": (12_000_000, None), "Beta": (3_000_000, "onboarding")}
    # the same export again: nothing changes
    again = import_movements(session, io.StringIO(MOVEMENTS), clock)
    assert (again.created, again.unchanged) == (0, 5)
    assert len(_moves(session)) == 5
    # one bad file: every bad row named, nothing written
    bad = (
        "account,date,kind,amount\nAcme,2026-13-01,expansion,10\nNobody,2026-01-01,new,10\n"
        "Acme,2026-01-02,refund,10\nAcme,2026-01-03,expansion,-5\nAcme,2027-01-01,expansion,5\n"
        "Beta,2026-10-01,contraction,40000\nAcme,2026-02-01,expansion,1\n"
    )
    with pytest.raises(ImportRejected) as caught:
        import_movements(session, io.StringIO(bad), clock)
    reasons = [str(e) for e in caught.value.errors]
    assert [r.split(":")[0] for r in reasons] == ["line 2", "line 3", "line 4", "line 5", "line 6", "line 7"]
    assert "no account has the name or external_id 'Nobody'" in reasons[1]
    assert "kind 'refund' is not one of" in reasons[2]
    assert "is in the future" in reasons[4]
    assert "below $0" in reasons[5]
    session.rollback()
    assert len(_moves(session)) == 5
    _consistent(session)


def _account(session: Session, name: str, dollars: int, **kw: object) -> Account:
    acc = Account(name=name, arr_cents=0, created_at=NOW, updated_at=NOW, **kw)
    session.add(acc)
    session.flush()
    assert acc.id is not None
    if dollars:
        ledger.apply(
            session, [ledger.Move(acc.id, "new", dollars * 100, date(2025, 1, 1), "import")], now=NOW
        )
    session.refresh(acc)
    return acc


def test_renewals_move_the_date_one_term_and_undo_restores_everything(session: Session) -> None:
    acc = _account(
        session,
        "Acme",
        100_000,
        stage="renewing",
        renewal_date=date(2026, 12, 1),
        contract_start=date(2024, 12, 1),
    )
    today = date(2026, 11, 20)
    # renewed at a higher amount: the difference is an expansion; two-year term -> two years on
    result = outcomes.record_outcome(session, acc, "renewed", 12_000_000, who="U1", now=NOW, today=today)
    session.refresh(acc)
    assert (acc.arr_cents, acc.renewal_date, acc.contract_start) == (
        12_000_000,
        date(2028, 12, 1),
        date(2026, 12, 1),
    )
    assert (result.event.due_date, result.event.arr_due_cents) == (date(2026, 12, 1), 10_000_000)
    outcomes.undo_outcome(session, result.event, now=NOW + timedelta(minutes=1))
    session.refresh(acc)
    assert (acc.arr_cents, acc.renewal_date, acc.contract_start, acc.stage) == (
        10_000_000,
        date(2026, 12, 1),
        date(2024, 12, 1),
        "renewing",
    )
    # churned: the whole ARR, stage churned; undo brings it back
    churn = outcomes.record_outcome(session, acc, "churned", None, who="U1", now=NOW, today=today)
    session.refresh(acc)
    assert (acc.arr_cents, acc.stage, acc.renewal_date) == (0, "churned", date(2026, 12, 1))
    outcomes.undo_outcome(session, churn.event, now=NOW)
    session.refresh(acc)
    assert (acc.arr_cents, acc.stage) == (10_000_000, "renewing")
    # an up-sell into a churned account is a reactivation; its undo puts the account back as churned
    outcomes.record_outcome(session, acc, "churned", None, who="U1", now=NOW, today=today)
    session.refresh(acc)
    back = outcomes.record_upsell(
        session, acc, 500_000, product=None, note=None, who="U1", now=NOW, today=today
    )
    session.refresh(acc)
    assert (acc.arr_cents, acc.stage) == (500_000, "onboarding")
    assert _moves(session)[-1][1] == "reactivation"
    outcomes.undo_upsell(session, back, now=NOW)
    session.refresh(acc)
    assert (acc.arr_cents, acc.stage) == (0, "churned")
    _consistent(session)


def test_undo_that_would_take_arr_below_zero_is_refused(session: Session) -> None:
    acc = _account(session, "Acme", 100, stage="mature")
    upsell = outcomes.record_upsell(
        session, acc, 5_000, product=None, note=None, who="U1", now=NOW, today=NOW.date()
    )
    session.refresh(acc)
    outcomes.record_outcome(session, acc, "downgraded", 12_000, who="U1", now=NOW, today=NOW.date())
    session.refresh(acc)
    assert acc.arr_cents == 3_000
    with pytest.raises(ledger.LedgerError, match="below \\$0"):
        outcomes.undo_upsell(session, upsell, now=NOW)
    session.refresh(acc)
    assert acc.arr_cents == 3_000 and upsell.deleted_at is None
    _consistent(session)


def test_term_arithmetic() -> None:
    assert outcomes.next_term(date(2026, 1, 31), None) == date(2027, 1, 31)
    assert outcomes.next_term(date(2026, 3, 31), date(2025, 12, 31)) == date(2026, 6, 30)  # a quarter
    assert outcomes.next_term(date(2026, 3, 10), date(2026, 1, 1)) == date(2026, 5, 17)  # 68 days
    assert outcomes.next_term(date(2028, 2, 29), date(2027, 2, 28)) == date(2029, 3, 1)  # 366 days


def test_the_ledger_refuses_wrong_signs_and_arr_below_zero(session: Session) -> None:
    acc = _account(session, "Acme", 100)
    with pytest.raises(ledger.LedgerError, match="must be above zero"):
        ledger.apply(session, [ledger.Move(acc.id, "expansion", -5, date(2026, 1, 1), "upsell")], now=NOW)  # type: ignore[arg-type]
    with pytest.raises(ledger.LedgerError, match="below \\$0"):
        ledger.apply(
            session, [ledger.Move(acc.id, "contraction", -10_001, date(2026, 1, 1), "movements")], now=NOW
        )  # type: ignore[arg-type]
    _consistent(session)


# --- random sequences ---------------------------------------------------------------

STEP = st.one_of(
    st.tuples(st.just("import"), st.integers(0, 2), st.integers(0, 50_000)),
    st.tuples(st.just("upsell"), st.integers(0, 2), st.integers(1, 20_000)),
    st.tuples(st.just("renewed"), st.integers(0, 2), st.one_of(st.none(), st.integers(0, 80_000))),
    st.tuples(st.just("downgraded"), st.integers(0, 2), st.integers(1, 80_000)),
    st.tuples(st.just("churned"), st.integers(0, 2), st.none()),
    st.tuples(st.just("undo"), st.integers(0, 2), st.integers(0, 10)),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(STEP, min_size=1, max_size=14))
def test_random_sequences_keep_arr_equal_to_the_ledger_and_never_negative(
    session: Session, steps: list[tuple[str, int, int | None]]
) -> None:
    session.rollback()
    for table in (ArrMovement, RenewalEvent, Expansion, AuditLog, Account):
        session.execute(delete(table))
    session.commit()
    clock = ManualClock(NOW)
    names = ["A", "B", "C"]
    undoable: list[tuple[str, object]] = []
    for kind, who, amount in steps:
        clock.advance(hours=1)
        name = names[who]
        account = session.exec(select(Account).where(Account.name == name)).first()
        today = clock.now().date()
        if kind == "import":
            import_accounts(
                session, io.StringIO(f"name,arr,renewal_date\n{name},{amount},2027-01-01\n"), clock
            )
        elif account is None:
            continue
        elif kind == "upsell":
            row = outcomes.record_upsell(
                session, account, amount * 100, product=None, note=None, who="U", now=clock.now(), today=today
            )
            undoable.append(("upsell", row))
        elif kind == "undo":
            if undoable:
                what, row = undoable.pop(amount % len(undoable))
                try:
                    if what == "upsell":
                        outcomes.undo_upsell(session, row, now=clock.now())  # type: ignore[arg-type]
                    else:
                        outcomes.undo_outcome(session, row, now=clock.now())  # type: ignore[arg-type]
                except ledger.LedgerError:
                    session.rollback()
                    continue
        elif account.stage != "churned":
            cents = None if amount is None else amount * 100
            try:
                result = outcomes.record_outcome(
                    session, account, kind, cents, who="U", now=clock.now(), today=today
                )
            except ledger.LedgerError:
                session.rollback()
                continue
            undoable.append(("renewal", result.event))
        session.commit()
        session.expire_all()
        _consistent(session)


def test_many_accounts_at_once_are_written_in_chunks(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ledger, "CHUNK", 2)  # SQLite caps a statement's parameters: 5 accounts in 3 chunks
    accounts = [_account(session, f"A{i}", 0, stage="churned" if i % 2 else "mature") for i in range(5)]
    moves = [
        ledger.Move(a.id, "reactivation" if i % 2 else "new", 100 * (i + 1), date(2026, 1, 1), "import")
        for i, a in enumerate(accounts)
    ]  # type: ignore[arg-type]
    ledger.apply(session, moves, now=NOW)
    session.commit()
    assert [_arr(session)[f"A{i}"] for i in range(5)] == [
        (100, "mature"),
        (200, "onboarding"),
        (300, "mature"),
        (400, "onboarding"),
        (500, "mature"),
    ]
    ledger.resync(session, [a.id for a in accounts], now=NOW)  # type: ignore[misc]
    _consistent(session)
