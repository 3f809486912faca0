"""Every §6.1 figure of the hand-computed portfolio (tests/metrics_portfolio.py),
Q4 2026 to date (Oct 1 – Nov 30) against Q3 2026 (Jul 1 – Sep 30), time zone
UTC, with the arithmetic in the comments. Money in dollars in the comments,
cents in the assertions (D(...)).

ARR by account (ledger sums) on the days the figures use:

                 2025-09-30  2025-11-30  2026-06-30  2026-09-30  2026-11-30
  Acme              100,000     100,000     100,000     100,000     120,000  (+20,000 #premier 10-10)
  Beta               50,000      50,000      50,000      50,000      40,000  (downgraded −10,000 10-15)
  Gamma              30,000      30,000      30,000      30,000           0  (churned 11-05)
  Delta              20,000      20,000           0           0      25,000  (churn 02-01, reactivated 10-20)
  Epsilon                 0           0      80,000      80,000      80,000  (new 2026-02-01)
  Zeta                    0           0           0      40,000      40,000  (new 2026-08-15)
  Eta                60,000      60,000      60,000      60,000      60,000  (renewal 11-20 past due)
  Theta              10,000      10,000      10,000      15,000      15,000  (+5,000 07-10)
  Iota               70,000      70,000      70,000      70,000      70,000
  Kappa                   0      15,000      15,000      15,000      15,000  (new 2025-10-01)
  Lambda                  0           0           0           0      12,000  (new 2026-11-02, onboarding)
  Mu                 25,000      25,000      25,000      25,000      25,000
"""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import event
from sqlmodel import Session

from bot.metrics import FIGURE_NAMES, CsmRow, compute_metrics
from tests.metrics_portfolio import AS_OF, D, build

TEAM_COST = D(150_000)


def _metrics(session: Session, **kw):  # noqa: ANN202 - Metrics
    return compute_metrics(session, kind="quarter", as_of=AS_OF, tz="UTC", team_cost_cents=TEAM_COST, **kw)


def _value(m, name: str) -> object:  # noqa: ANN001
    return m.figures[name].value


def test_every_figure_of_the_hand_computed_portfolio(session: Session) -> None:
    ids = build(session)
    m = _metrics(session)
    f = m.figures
    assert (m.period.start, m.period.end, m.period.label()) == (date(2026, 10, 1), AS_OF, "2026 Q4")

    # ARR, live accounts on 11-30: 120 + 40 + 25 + 80 + 40 + 60 + 15 + 70 + 15 + 12 + 25 = 502,000
    # (Gamma churned: 0). On 09-30: 100 + 50 + 30 + 80 + 40 + 60 + 15 + 70 + 15 + 25 = 485,000.
    assert (f["arr_cents"].value, f["arr_cents"].previous) == (D(502_000), D(485_000))

    # GRR/NRR t12m to 11-30: cohort = ARR > 0 on 2025-11-30: Acme 100, Beta 50, Gamma 30, Delta 20,
    # Eta 60, Theta 10, Iota 70, Kappa 15, Mu 25 = 380,000 (Epsilon, Zeta, Lambda are new: out).
    # At end: 120 + 40 + 0 + 25 + 60 + 15 + 70 + 15 + 25 = 370,000  -> NRR 370/380 = 0.973684
    # Capped: 100 + 40 + 0 + 20 + 60 + 10 + 70 + 15 + 25 = 340,000  -> GRR 340/380 = 0.894737
    assert f["grr_t12m"].value == pytest.approx(340 / 380, abs=1e-4)
    assert f["nrr_t12m"].value == pytest.approx(370 / 380, abs=1e-4)
    # Previous, to 09-30: cohort on 2025-09-30 (Kappa not yet)
    #   = 100 + 50 + 30 + 20 + 60 + 10 + 70 + 25 = 365,000.
    # At end: 100 + 50 + 30 + 0 + 60 + 15 + 70 + 25 = 350,000 -> NRR 350/365 = 0.958904
    # Capped: 100 + 50 + 30 + 0 + 60 + 10 + 70 + 25 = 345,000 -> GRR 345/365 = 0.945205
    assert f["grr_t12m"].previous == pytest.approx(345 / 365, abs=1e-4)
    assert f["nrr_t12m"].previous == pytest.approx(350 / 365, abs=1e-4)

    # Renewal rate, Q4 to 11-30: due = Beta 50,000 (downgraded −10,000) + Gamma 30,000 (churned −30,000)
    # + Eta 60,000 (due 11-20, no outcome yet: in the denominator, listed) = 140,000;
    # (140,000 − 30,000 − 10,000) / 140,000 = 0.714286. Q3: nothing was due -> n/a with a reason.
    assert f["renewal_rate_qtd"].value == pytest.approx(100 / 140, abs=1e-4)
    assert f["renewal_rate_qtd"].previous is None
    assert [(r.name, r.renewal_date, r.arr_cents) for r in m.past_due] == [
        ("Eta", date(2026, 11, 20), D(60_000))
    ]

    # Up-sell: Q4 Acme +20,000 (#premier); Q3 Theta +5,000. Delta's return is a reactivation, not an up-sell.
    assert (f["upsell_cents"].value, f["upsell_cents"].previous) == (D(20_000), D(5_000))
    assert (f["premier_cents"].value, f["premier_cents"].previous) == (D(20_000), 0)
    # New ARR: Q4 Delta reactivation 25,000 + Lambda new 12,000 = 37,000; Q3 Zeta new 40,000.
    assert (f["new_arr_cents"].value, f["new_arr_cents"].previous) == (D(37_000), D(40_000))

    # Logo churn: Q4 Gamma / live on 09-30 (Acme Beta Gamma Epsilon Zeta Eta Theta Iota Kappa Mu = 10) = 0.1;
    # Q3: none / live on 06-30 (the same less Zeta = 9) = 0.0.
    assert f["logo_churn"].value == pytest.approx(0.1)
    assert f["logo_churn"].previous == 0.0

    # NPS, 90 days to 11-30 (09-02..11-30): 3 promoters, 2 passives, 2 detractors of 7: (3−2)/7 = 14.2857.
    # 90 days to 09-30 (07-03..09-30): 0 (08-01), 7 (09-15), 6 (09-20): (0−2)/3 = −66.6667.
    assert f["nps"].value == pytest.approx(100 / 7, abs=1e-4)
    assert f["nps"].previous == pytest.approx(-200 / 3, abs=1e-4)
    assert (f["nps_responses"].value, f["nps_responses"].previous) == (7, 3)

    # Adoption, latest snapshot in (10-26, 11-30] of live accounts, ARR-weighted:
    # Acme 80/100 × 120,000 = 96,000; Beta 30/50 × 40,000 = 24,000; Epsilon 90/100 × 80,000 = 72,000;
    # Iota 20/80 × 70,000 = 17,500; Lambda 5/20 × 12,000 = 3,000 (Eta stale, Gamma churned)
    # = 212,500 / (120 + 40 + 80 + 70 + 12 = 322,000) = 0.659938
    # Previous, (08-26, 09-30]: Acme 50/100 only -> 0.5.
    assert f["adoption"].value == pytest.approx(212_500 / 322_000, abs=1e-4)
    assert f["adoption"].previous == pytest.approx(0.5)
    # Deployment (past onboarding, seats bought, fresh snapshot): Acme 100 ≥ 80 yes, Beta 50 < 64 no,
    # Epsilon 100 ≥ 80 yes, Iota 80 ≥ 80 yes; Lambda is onboarding -> 3/4. Previous: Acme yes -> 1/1.
    assert (f["deployment"].value, f["deployment"].previous) == (0.75, 1.0)

    # Cost / ARR: 150,000 / 502,000 = 0.298805; previous 150,000 / 485,000 = 0.309278.
    assert f["cost_per_arr"].value == pytest.approx(150 / 502, abs=1e-4)
    assert f["cost_per_arr"].previous == pytest.approx(150 / 485, abs=1e-4)

    # Coverage, touched 11-01..11-30: Acme, Beta, Eta, Iota (23:00 on 11-30) of 11 live = 0.363636
    # (Epsilon 10-15 and Delta 10-31 too early, Zeta's deleted).
    # Previous 09-01..09-30: Theta, Acme of 10 = 0.2.
    assert f["coverage"].value == pytest.approx(4 / 11, abs=1e-4)
    assert f["coverage"].previous == pytest.approx(0.2)

    # Escalations Q4: opened Acme 10-02, Eta 11-10, Iota 11-25 = 3; resolved Acme, Eta, Beta (10-05) = 3.
    # TTA of those acknowledged in Q4: 1,800 s, 7,200 s, 900 s -> median 1,800.
    # TTR of those resolved in Q4: 86,400, 172,800, Beta 7 days 604,800 -> median 172,800.
    # Q3: opened Beta = 1, resolved 0, TTA 3,600, TTR n/a.
    assert (f["escalations_opened"].value, f["escalations_opened"].previous) == (3, 1)
    assert (f["escalations_resolved"].value, f["escalations_resolved"].previous) == (3, 0)
    assert (f["median_tta_seconds"].value, f["median_tta_seconds"].previous) == (1800.0, 3600.0)
    assert (f["median_ttr_seconds"].value, f["median_ttr_seconds"].previous) == (172800.0, None)

    # At risk (latest snapshot ≤ 11-30, live): Iota 70,000 (score 30), Eta 60,000 (55); Gamma churned: out.
    # Worst first by (100 − score) × ARR: Iota 70 × 70k > Eta 45 × 60k. Previous (≤ 09-30): Acme 100,000.
    assert (f["at_risk_accounts"].value, f["at_risk_accounts"].previous) == (2, 1)
    assert (f["at_risk_arr_cents"].value, f["at_risk_arr_cents"].previous) == (D(130_000), D(100_000))
    assert [(r.name, r.score, r.reasons) for r in m.at_risk] == [
        ("Iota", 30, ("score 30 is red",)),
        ("Eta", 55, ("score 55 is yellow",)),
    ]

    # Renewals in (11-30, 2027-02-28]: Kappa 12-15 15,000 green, Acme 2027-01-15 120,000 green (moved one
    # term by its renewal), Iota 01-20 70,000 red, Epsilon 02-01 80,000 unscored (counts as yellow).
    # Count 4, ARR 285,000; forecast 15,000×.95 + 120,000×.95 + 70,000×.5 + 80,000×.8 = 227,250.
    assert [(r.name, r.renewal_date, r.band) for r in m.renewals] == [
        ("Kappa", date(2026, 12, 15), "green"),
        ("Acme", date(2027, 1, 15), "green"),
        ("Iota", date(2027, 1, 20), "red"),
        ("Epsilon", date(2027, 2, 1), None),
    ]
    assert (f["renewals_90d_count"].value, f["renewals_90d_arr_cents"].value) == (4, D(285_000))
    assert f["renewal_forecast_cents"].value == D(227_250)
    # Previous, (09-30, 12-29]: Beta 10-15 50,000 and Gamma 11-05 30,000 (their recorded due dates),
    # Eta 11-20 60,000, Kappa 12-15 15,000 = 4, 155,000; none scored by 09-30 -> all at .8 = 124,000.
    assert (f["renewals_90d_count"].previous, f["renewals_90d_arr_cents"].previous) == (4, D(155_000))
    assert f["renewal_forecast_cents"].previous == D(124_000)

    # Per CSM (live on 11-30). UANN: Acme Beta Epsilon Eta Iota Lambda = 6, 382,000; touched in 30 days:
    # Acme Beta Eta Iota = 4/6; Q4 touchpoints Acme Beta Epsilon Eta Iota = 5; at risk Iota Eta = 2;
    # open escalations: Iota's = 1.
    # UBOB: Delta Zeta Theta Kappa Mu = 5, 120,000; none touched in 30 days; Delta 10-31 = 1 touchpoint.
    assert m.by_csm == [
        CsmRow("UANN", 6, D(382_000), pytest.approx(4 / 6), 5, 2, 1),
        CsmRow("UBOB", 5, D(120_000), 0.0, 1, 0, 0),
    ]
    assert set(ids) and set(f) == set(FIGURE_NAMES)


def test_a_segment_and_one_csm_see_their_own_book(session: Session) -> None:
    build(session)
    ent = _metrics(session, segment="enterprise")
    # Enterprise cohort on 2025-11-30: Acme 100, Beta 50, Eta 60, Iota 70 = 280,000; at end 120 + 40 + 60 + 70
    # = 290,000 -> NRR 1.035714 (expansion counts); capped 100 + 40 + 60 + 70 = 270,000 -> GRR 0.964286.
    assert ent.scope == "segment enterprise"
    assert _value(ent, "arr_cents") == D(382_000)
    assert _value(ent, "grr_t12m") == pytest.approx(270 / 280, abs=1e-4)
    assert _value(ent, "nrr_t12m") == pytest.approx(290 / 280, abs=1e-4)
    bob = _metrics(session, csm="UBOB")
    # UBOB: Delta 25 + Zeta 40 + Theta 15 + Kappa 15 + Mu 25 = 120,000. Logo churn: Gamma churned in Q4,
    # of the 5 live on 09-30 (Gamma Zeta Theta Kappa Mu; Delta had no ARR then) = 1/5.
    assert bob.scope == "<@UBOB>"
    assert _value(bob, "arr_cents") == D(120_000)
    assert _value(bob, "logo_churn") == pytest.approx(1 / 5)
    assert [r.csm for r in bob.by_csm] == ["UBOB"]


def test_the_json_is_exactly_the_published_shape(session: Session) -> None:
    build(session)
    out = _metrics(session).as_json()
    assert out["period"] == {"kind": "quarter", "start": "2026-10-01", "end": "2026-11-30", "tz": "UTC"}
    assert list(out["figures"]) == list(FIGURE_NAMES)
    assert out["figures"]["premier_cents"] == {"value": D(20_000), "previous": 0}
    assert out["figures"]["median_ttr_seconds"] == {"value": 172800.0, "previous": None}
    assert out["by_csm"][1] == {
        "csm": "UBOB",
        "accounts": 5,
        "arr_cents": D(120_000),
        "coverage": 0.0,
        "touchpoints": 1,
        "at_risk": 0,
        "open_escalations": 0,
    }
    assert set(out) == {"period", "figures", "by_csm"}


def test_statement_count_does_not_grow_with_the_portfolio(engine, session: Session) -> None:  # noqa: ANN001
    build(session)
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    _metrics(session)
    small = len(statements)
    # Triple the accounts (copies with their own history) and count again.
    from bot.revenue import ledger
    from models.tables import Account

    for i in range(24):
        acc = Account(
            name=f"Extra {i}",
            arr_cents=0,
            csm_slack_id="UANN",
            stage="mature",
            created_at=_now(),
            updated_at=_now(),
        )
        session.add(acc)
        session.flush()
        ledger.apply(
            session, [ledger.Move(acc.id, "new", D(1_000 + i), date(2025, 1, 1), "import")], now=_now()
        )
    session.commit()
    statements.clear()
    _metrics(session)
    assert len(statements) == small
    assert small <= 12


def _now():  # noqa: ANN202
    from datetime import UTC, datetime

    return datetime(2026, 11, 30, tzinfo=UTC)


DESK = ("arr_cents", "grr_t12m", "nrr_t12m", "upsell_cents", "nps", "nps_responses", "at_risk_arr_cents")


def test_named_figures_are_the_full_computations_and_read_only_what_they_need(
    engine,  # noqa: ANN001
    session: Session,
) -> None:
    """The director's desk asks for its six figures: the same values as the full
    computation (and so as /cs metrics), from fewer statements that never touch the
    tables only the other figures read."""
    build(session)
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *a: statements.append(a[2].lower()))
    full = _metrics(session)
    everything = len(statements)
    statements.clear()
    few = _metrics(session, names=DESK, tables=False)

    assert list(few.figures) == list(DESK)  # in the §6.1 order
    assert few.figures == {name: full.figures[name] for name in DESK}
    # the hand-computed ARR above: 502,000 on 11-30 against 485,000 on 09-30
    assert (few.figures["arr_cents"].value, few.figures["arr_cents"].previous) == (D(502_000), D(485_000))
    assert few.at_risk == full.at_risk and few.at_risk  # the at-risk ARR's own list, kept
    assert (few.by_csm, few.renewals, few.past_due) == ([], [], [])
    assert full.by_csm and full.renewals
    read = " ".join(statements)
    for table in ("touchpoint", "usagesnapshot", "escalation", "renewalevent"):
        assert f"from {table}" not in read, table
    assert len(statements) < everything


def test_an_unknown_figure_name_is_refused(session: Session) -> None:
    with pytest.raises(ValueError, match="unknown figures: arr, nps_score"):
        _metrics(session, names=("nps_score", "arr_cents", "arr"))
