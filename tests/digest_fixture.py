"""A `Metrics` built by hand for the digest's message tests (no database): any
number of CSMs, at-risk accounts and renewals, every figure with a previous value."""

from __future__ import annotations

from datetime import date, timedelta

from bot.metrics import FIGURE_NAMES, CsmRow, Figure, Metrics, RenewalRow, RiskRow, period_containing

WEEK = period_containing("week", date(2026, 11, 23), "Europe/Berlin")  # 2026-W48

FIGURES = {
    "arr_cents": Figure(120_000_000, 117_000_000),
    "grr_t12m": Figure(0.92, 0.93),
    "nrr_t12m": Figure(1.04, 1.01),
    "renewal_rate_qtd": Figure(None, None, "no renewals due this quarter yet"),
    "upsell_cents": Figure(3_000_000, 0),
    "premier_cents": Figure(0, 0),
    "new_arr_cents": Figure(1_200_000, 1_200_000),
    "logo_churn": Figure(0.0, 0.01),
    "nps": Figure(-45.45, 10),
    "nps_responses": Figure(11, 4),
    "adoption": Figure(0.61, 0.6),
    "deployment": Figure(0.8, 0.85),
    "cost_per_arr": Figure(None, None, "CSBOT_TEAM_COST is not set"),
    "coverage": Figure(0.8, 0.85),
    "escalations_opened": Figure(3, 1),
    "escalations_resolved": Figure(2, 2),
    "median_tta_seconds": Figure(840, 1200),
    "median_ttr_seconds": Figure(11_100, 20_000),
    "at_risk_accounts": Figure(2, 1),
    "at_risk_arr_cents": Figure(13_000_000, 5_000_000),
    "renewals_90d_count": Figure(3, 3),
    "renewals_90d_arr_cents": Figure(25_000_000, 25_000_000),
    "renewal_forecast_cents": Figure(21_500_000, 21_500_000),
}
assert set(FIGURES) == set(FIGURE_NAMES)


def metrics(
    *,
    csms: int = 2,
    risks: int = 2,
    renewals: int = 3,
    quiet: bool = False,
    risk_name: str = "Acme <!channel> & Co",
) -> Metrics:
    """The fixture week; `quiet`: no touchpoints, escalations or revenue changes."""
    figures = dict(FIGURES)
    if quiet:
        for name in ("escalations_opened", "escalations_resolved", "upsell_cents", "new_arr_cents"):
            figures[name] = Figure(0, 0)
        for name in ("median_tta_seconds", "median_ttr_seconds"):
            figures[name] = Figure(None, None, "no escalations")
    by_csm = [
        CsmRow(
            f"U{i:04d}",
            200 - i,
            12_345_678_00 // (i + 1),
            0.8 if i % 2 else None,
            0 if quiet else i,
            i % 5,
            i % 3,
        )
        for i in range(csms)
    ]
    at_risk = [
        RiskRow(
            i + 1,
            f"{risk_name} {i}",
            f"U{i % max(csms, 1):04d}",
            6_500_000 - i,
            30 + i % 40,
            "red",
            ("no touchpoint in 47 days", "renewal in 20 days"),
        )
        for i in range(risks)
    ]
    upcoming = [
        RenewalRow(
            1000 + i,
            f"Renewing {i}",
            "U0000",
            date(2026, 12, 1) + timedelta(days=i % 90),
            8_000_000 + i,
            ("green", "yellow", "red", None)[i % 4],
        )
        for i in range(renewals)
    ]
    return Metrics(WEEK, "all", figures, by_csm, at_risk, upcoming)
