"""The published worked examples for the §6.1 formulas, and the edge cases:
no data gives n/a with a reason (never 0), a movement late on a Sunday belongs
to the week of the zone it is read in, GRR never exceeds 100 %, a churned then
reactivated account, and the calendar periods."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlmodel import Session

from bot.metrics import compute_metrics, last_complete_week, period_containing, previous_period
from bot.metrics.nps import nps_score
from bot.revenue import ledger
from models.tables import Account, NpsResponse

NOW = datetime(2026, 11, 30, 12, tzinfo=UTC)


def _account(session: Session, name: str, **kw: object) -> int:
    acc = Account(name=name, arr_cents=0, created_at=datetime(2024, 1, 1, tzinfo=UTC), updated_at=NOW, **kw)
    session.add(acc)
    session.flush()
    assert acc.id is not None
    return acc.id


def _move(
    session: Session, account: int, kind: str, dollars: int, day: date, at: datetime | None = None
) -> None:
    ledger.apply(
        session,
        [ledger.Move(account, kind, dollars * 100, day, "movements", effective_at=at)],
        now=NOW,
    )


def _retention(session: Session) -> tuple[float | None, float | None]:
    session.commit()
    m = compute_metrics(session, kind="month", as_of=date(2026, 11, 30), tz="UTC")
    return m.figures["grr_t12m"].value, m.figures["nrr_t12m"].value


START = date(2025, 6, 1)
CHANGE = date(2026, 6, 1)


def test_chartmogul_example_start_100_churn_10_contraction_10_expansion_10(session: Session) -> None:
    # Start $100 over four accounts: $40 flat, $10 churns, $30 loses $10, $20 gains $10.
    # End: 40 + 0 + 20 + 30 = 90 -> NRR 90 %; capped: 40 + 0 + 20 + 20 = 80 -> GRR 80 %.
    flat, gone, smaller, bigger = (_account(session, n) for n in ("Flat", "Gone", "Smaller", "Bigger"))
    for acc, dollars in ((flat, 40), (gone, 10), (smaller, 30), (bigger, 20)):
        _move(session, acc, "new", dollars, START)
    _move(session, gone, "churn", -10, CHANGE)
    _move(session, smaller, "contraction", -10, CHANGE)
    _move(session, bigger, "expansion", 10, CHANGE)
    grr, nrr = _retention(session)
    assert grr == pytest.approx(0.80)
    assert nrr == pytest.approx(0.90)


def test_saas_example_start_200k_churn_6k_contraction_4k_expansion_20k(session: Session) -> None:
    # Start $200,000: end 200 − 6 − 4 + 20 = 210 -> NRR 105 %; capped 200 − 6 − 4 = 190 -> GRR 95 %.
    a, b, c = (_account(session, n) for n in ("A", "B", "C"))
    for acc, dollars in ((a, 100_000), (b, 6_000), (c, 94_000)):
        _move(session, acc, "new", dollars, START)
    _move(session, b, "churn", -6_000, CHANGE)
    _move(session, c, "contraction", -4_000, CHANGE)
    _move(session, a, "expansion", 20_000, CHANGE)
    grr, nrr = _retention(session)
    assert grr == pytest.approx(0.95)
    assert nrr == pytest.approx(1.05)


def test_grr_never_exceeds_100_percent_when_everyone_expands(session: Session) -> None:
    a, b = _account(session, "A"), _account(session, "B")
    _move(session, a, "new", 100, START)
    _move(session, b, "new", 100, START)
    _move(session, a, "expansion", 300, CHANGE)
    grr, nrr = _retention(session)
    assert grr == 1.0
    assert nrr == pytest.approx(2.5)


def test_nps_worked_examples() -> None:
    # One response at each score 0..10: promoters 9, 10 (2); detractors 0..6 (7): (2 − 7) / 11 = −45.45.
    scores = list(range(11))
    promoters = sum(s >= 9 for s in scores)
    detractors = sum(s <= 6 for s in scores)
    assert round(nps_score(promoters, detractors, len(scores)) or 0, 2) == -45.45
    # 100 promoters, 30 passives, 80 detractors: (100 − 80) / 210 = 9.52.
    assert round(nps_score(100, 80, 210) or 0, 2) == 9.52


def test_nps_of_one_response_at_each_score_from_the_database(session: Session) -> None:
    acc = _account(session, "Acme")
    for score in range(11):
        session.add(NpsResponse(account_id=acc, responded_at=NOW, score=score, created_at=NOW))
    session.commit()
    fig = compute_metrics(session, kind="week", as_of=NOW.date(), tz="UTC").figures
    assert round(fig["nps"].value or 0, 2) == -45.45
    assert fig["nps_responses"].value == 11


def test_no_data_gives_null_with_a_reason_never_zero_or_an_error(session: Session) -> None:
    _account(session, "Zero")  # an account with no ARR and no data
    session.commit()
    m = compute_metrics(session, kind="month", as_of=date(2026, 11, 30), tz="UTC")
    out = m.as_json()["figures"]
    for name in (
        "grr_t12m",
        "nrr_t12m",
        "renewal_rate_qtd",
        "nps",
        "adoption",
        "deployment",
        "cost_per_arr",
        "median_tta_seconds",
        "median_ttr_seconds",
    ):
        assert out[name]["value"] is None, name
        assert out[name]["why"], name
    assert out["nps"]["why"] == "no NPS responses in the last 90 days"
    assert out["cost_per_arr"]["why"] == "the team's cost is not set (CSBOT_TEAM_COST)"
    assert out["arr_cents"] == {"value": 0, "previous": 0}
    # an empty portfolio: no live account at all
    assert (
        compute_metrics(session, kind="week", as_of=date(2026, 11, 30), tz="UTC", segment="None such")
        .figures["coverage"]
        .why
        == "no live accounts"
    )


def test_a_movement_late_on_sunday_belongs_to_that_week_there_and_the_next_in_utc_plus_2(
    session: Session,
) -> None:
    acc = _account(session, "Acme")
    _move(session, acc, "new", 1_000, date(2025, 1, 1))
    sunday_night = datetime(2026, 11, 29, 23, 30, tzinfo=UTC)  # Sunday 23:30 in UTC, Monday 01:30 in UTC+2
    _move(session, acc, "expansion", 500, date(2026, 11, 29), at=sunday_night)
    session.commit()

    def upsell(as_of: date, tz: str) -> object:
        return compute_metrics(session, kind="week", as_of=as_of, tz=tz).figures["upsell_cents"].value

    assert upsell(date(2026, 11, 29), "UTC") == 50_000  # week of Nov 23 – Nov 29
    assert upsell(date(2026, 12, 6), "UTC") == 0
    assert upsell(date(2026, 11, 29), "Etc/GMT-2") == 0  # UTC+2: it happened on Monday Nov 30
    assert upsell(date(2026, 12, 6), "Etc/GMT-2") == 50_000


def test_a_churned_then_reactivated_account(session: Session) -> None:
    acc = _account(session, "Phoenix", stage="mature")
    other = _account(session, "Steady", stage="mature")
    _move(session, acc, "new", 100, START)
    _move(session, other, "new", 100, START)
    _move(session, acc, "churn", -100, date(2026, 2, 1))
    assert session.get(Account, acc).stage == "churned"  # type: ignore[union-attr]
    _move(session, acc, "reactivation", 150, date(2026, 11, 10))
    session.commit()
    account = session.get(Account, acc)
    assert (account.arr_cents, account.stage) == (15_000, "onboarding")  # type: ignore[union-attr]
    m = compute_metrics(session, kind="month", as_of=date(2026, 11, 30), tz="UTC")
    f = m.figures
    # back in the cohort at its starting $100 (capped): GRR (100 + 100) / 200; NRR (150 + 100) / 200
    assert f["grr_t12m"].value == 1.0
    assert f["nrr_t12m"].value == pytest.approx(1.25)
    assert f["new_arr_cents"].value == 15_000  # a reactivation is new ARR, not an up-sell
    assert f["upsell_cents"].value == 0
    assert f["arr_cents"].value == 25_000
    # in October it was out of the live portfolio: only Steady was live
    october = compute_metrics(session, kind="month", as_of=date(2026, 10, 31), tz="UTC").figures
    assert october["arr_cents"].value == 10_000


def test_calendar_periods_and_their_labels() -> None:
    week = period_containing("week", date(2026, 11, 25), "UTC")
    assert (week.start, week.end, week.label()) == (
        date(2026, 11, 23),
        date(2026, 11, 29),
        "2026-W48 (Nov 23 – Nov 29)",
    )
    month = period_containing("month", date(2026, 2, 10), "UTC")
    assert (month.start, month.end, month.label()) == (date(2026, 2, 1), date(2026, 2, 28), "February 2026")
    quarter = period_containing("quarter", date(2026, 11, 25), "UTC")
    assert (quarter.start, quarter.end, quarter.label()) == (date(2026, 10, 1), date(2026, 12, 31), "2026 Q4")
    assert previous_period(quarter).start == date(2026, 7, 1)
    assert previous_period(period_containing("month", date(2026, 1, 5), "UTC")).label() == "December 2025"
    # Monday 00:30 in Tokyo is still Sunday in UTC: the last complete week there is the one just ended.
    assert last_complete_week(datetime(2026, 11, 29, 15, 30, tzinfo=UTC), "Asia/Tokyo").start == date(
        2026, 11, 23
    )
    assert last_complete_week(datetime(2026, 11, 29, 15, 30, tzinfo=UTC), "UTC").start == date(2026, 11, 16)
    with pytest.raises(ValueError):
        period_containing("year", date(2026, 1, 1), "UTC")
