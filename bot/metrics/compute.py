"""All the §6.1 figures for one period and scope, each with the previous
period's value: a constant number of set-based statements whatever the size
of the portfolio (PRODUCT.md §9), then plain arithmetic on the rows.

A caller that shows a few figures (the director's Home tab) names them: each
input is loaded by its one statement the first time a named figure needs it,
and a figure is always computed by the same function, so every surface shows
the same number for it."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cached_property
from typing import Any

from sqlmodel import Session

from bot.metrics import adoption as adoption_mod
from bot.metrics import coverage as coverage_mod
from bot.metrics import escalation_times, frame, nps, outlook, retention, revenue
from bot.metrics.per_csm import by_csm
from bot.metrics.periods import Period, period_containing, previous_period
from bot.metrics.result import FIGURE_NAMES, Figure, Metrics, RenewalRow, RiskRow

Value = tuple[int | float | None, str | None]  # (value, why it is n/a)


def _scope_label(segment: str | None, csm: str | None) -> str:
    parts = []
    if segment:
        parts.append(f"segment {segment}")
    if csm:
        parts.append(f"<@{csm}>")
    return ", ".join(parts) or "all"


@dataclass
class _Inputs:
    """What the figures read for the two periods compared, each loaded by one
    statement the first time it is read (so asking for fewer figures reads less)."""

    session: Session
    periods: tuple[Period, Period]
    tz: str
    scope: Any

    @property
    def ends(self) -> list[date]:
        return [p.end for p in self.periods]

    @cached_property
    def quarters(self) -> list[Period]:
        return [period_containing("quarter", p.end, self.tz) for p in self.periods]

    @cached_property
    def accounts(self) -> list[frame.AccountRow]:
        days = {
            d
            for p in self.periods
            for d in (p.end, retention.year_before(p.end), p.start - timedelta(days=1))
        }
        return frame.portfolio(self.session, days, self.tz, self.scope)

    @cached_property
    def flows(self) -> list[revenue.Flow]:
        return revenue.flows(self.session, self.periods, self.tz, self.scope)

    @cached_property
    def nps(self) -> list[tuple[float | None, int, str | None]]:
        return nps.nps(self.session, self.ends, self.tz, self.scope)

    @cached_property
    def touches(self) -> list[coverage_mod.Touches]:
        return coverage_mod.touches(self.session, self.periods, self.tz, self.scope)

    @cached_property
    def escalations(self) -> list[escalation_times.EscalationFigures]:
        return escalation_times.escalations(self.session, self.periods, self.scope)

    @cached_property
    def usage(self) -> list[dict[int, tuple[int, int]]]:
        return [adoption_mod.latest_usage(self.session, end, self.scope) for end in self.ends]

    @cached_property
    def health(self) -> list[dict[int, outlook.Snap]]:
        return outlook.latest_health(self.session, self.ends, self.scope)

    @cached_property
    def events(self) -> list[retention.DueRenewal]:
        lo = min(q.start for q in self.quarters)
        hi = max(self.ends) + timedelta(days=outlook.HORIZON_DAYS)
        return retention.renewal_events(self.session, lo, hi, self.scope)

    @cached_property
    def risks(self) -> list[list[RiskRow]]:
        return [outlook.at_risk(self.accounts, self.health[i], end) for i, end in enumerate(self.ends)]

    @cached_property
    def ahead(self) -> list[list[RenewalRow]]:
        return [
            outlook.renewals_ahead(self.accounts, self.events, self.health[i], end)
            for i, end in enumerate(self.ends)
        ]

    @cached_property
    def renewal_rates(self) -> list[tuple[float | None, str | None, list[frame.AccountRow]]]:
        return [
            retention.renewal_rate(self.events, self.accounts, self.quarters[i].start, end)
            for i, end in enumerate(self.ends)
        ]


def _values(
    inp: _Inputs, i: int, names: Collection[str], team_cost: int | None, weights: dict[str, float]
) -> dict[str, Value]:
    """The named figures for period `i` (0 = the one asked for, 1 = the one before).
    Figures computed together (GRR and NRR, the escalation times) come as a group."""
    p = inp.periods[i]
    end = p.end
    v: dict[str, Value] = {}

    def want(*group: str) -> bool:
        return any(n in names for n in group)

    if want("arr_cents", "cost_per_arr"):
        arr = revenue.live_arr(inp.accounts, end)
        v["arr_cents"] = (arr, None)
        v["cost_per_arr"] = revenue.cost_per_arr(team_cost, arr)
    if want("grr_t12m", "nrr_t12m"):
        grr, nrr, why = retention.grr_nrr(inp.accounts, end)
        v["grr_t12m"], v["nrr_t12m"] = (grr, why), (nrr, why)
    if want("renewal_rate_qtd"):
        rate, why, _ = inp.renewal_rates[i]
        v["renewal_rate_qtd"] = (rate, why)
    if want("upsell_cents", "premier_cents", "new_arr_cents", "logo_churn"):
        flow = inp.flows[i]
        v["upsell_cents"], v["premier_cents"] = (flow.upsell, None), (flow.premier, None)
        v["new_arr_cents"] = (flow.new_arr, None)
        v["logo_churn"] = revenue.logo_churn(flow, inp.accounts, p)
    if want("nps", "nps_responses"):
        score, responses, why = inp.nps[i]
        v["nps"], v["nps_responses"] = (score, why), (responses, None)
    if want("adoption", "deployment"):
        v["adoption"] = adoption_mod.adoption(inp.accounts, inp.usage[i], end)
        v["deployment"] = adoption_mod.deployment(inp.accounts, inp.usage[i], end)
    if want("coverage"):
        v["coverage"] = coverage_mod.coverage(inp.accounts, inp.touches[i], end)
    if want("escalations_opened", "escalations_resolved", "median_tta_seconds", "median_ttr_seconds"):
        esc = inp.escalations[i]
        v["escalations_opened"], v["escalations_resolved"] = (esc.opened, None), (esc.resolved, None)
        v["median_tta_seconds"], v["median_ttr_seconds"] = esc.median_tta(), esc.median_ttr()
    if want("at_risk_accounts", "at_risk_arr_cents"):
        risks = inp.risks[i]
        v["at_risk_accounts"] = (len(risks), None)
        v["at_risk_arr_cents"] = (sum(r.arr_cents for r in risks), None)
    if want("renewals_90d_count", "renewals_90d_arr_cents", "renewal_forecast_cents"):
        ahead = inp.ahead[i]
        v["renewals_90d_count"] = (len(ahead), None)
        v["renewals_90d_arr_cents"] = (sum(r.arr_cents for r in ahead), None)
        v["renewal_forecast_cents"] = (outlook.forecast(ahead, weights), None)
    return {name: v[name] for name in FIGURE_NAMES if name in names}


def _past_due(inp: _Inputs) -> list[RenewalRow]:
    """The renewals due this quarter, past their date, still without an outcome."""
    end = inp.ends[0]
    bands = {a: s.band for a, s in inp.health[0].items()}
    return [
        RenewalRow(a.id, a.name, a.csm, a.renewal_date, a.arr[end], bands.get(a.id))
        for a in sorted(inp.renewal_rates[0][2], key=lambda a: (a.renewal_date or end, a.name))
        if a.renewal_date is not None
    ]


def compute_metrics(
    session: Session,
    *,
    kind: str,
    as_of: date,
    tz: str,
    segment: str | None = None,
    csm: str | None = None,
    team_cost_cents: int | None = None,
    forecast_weights: dict[str, float] | None = None,
    names: Collection[str] = FIGURE_NAMES,
    tables: bool = True,
) -> Metrics:
    """The figures of the `kind` period containing `as_of` (to date), and of the period before.

    `names` limits the figures computed (all of them by default); `tables=False`
    leaves out the per-CSM table and the renewal lists (the at-risk list is kept
    whenever an at-risk figure is asked for: it is that figure's detail)."""
    unknown = set(names) - set(FIGURE_NAMES)
    if unknown:
        raise ValueError(f"unknown figures: {', '.join(sorted(unknown))}")
    cur = period_containing(kind, as_of, tz).to_date(as_of)
    inp = _Inputs(session, (cur, previous_period(cur)), tz, frame.scope_ids(segment, csm))
    weights = dict(outlook.DEFAULT_FORECAST_WEIGHTS) | dict(forecast_weights or {})
    now, before = (_values(inp, i, names, team_cost_cents, weights) for i in (0, 1))
    figures = {
        name: Figure(value=value, previous=before[name][0], why=why if value is None else None)
        for name, (value, why) in now.items()
    }
    risky = "at_risk_accounts" in names or "at_risk_arr_cents" in names
    return Metrics(
        period=cur,
        scope=_scope_label(segment, csm),
        figures=figures,
        by_csm=(
            by_csm(inp.accounts, inp.touches[0], inp.risks[0], inp.escalations[0].open_at_end, cur.end)
            if tables
            else []
        ),
        at_risk=inp.risks[0] if tables or risky else [],
        renewals=inp.ahead[0] if tables else [],
        past_due=_past_due(inp) if tables else [],
    )
