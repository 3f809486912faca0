"""All the §6.1 figures for one period and scope, each with the previous
period's value: a constant number of set-based statements whatever the size
of the portfolio (PRODUCT.md §9), then plain arithmetic on the rows."""

from __future__ import annotations

from datetime import date, timedelta

from sqlmodel import Session

from bot.metrics import adoption as adoption_mod
from bot.metrics import coverage as coverage_mod
from bot.metrics import escalation_times, frame, nps, outlook, retention, revenue
from bot.metrics.per_csm import by_csm
from bot.metrics.periods import period_containing, previous_period
from bot.metrics.result import Figure, Metrics, RenewalRow


def _scope_label(segment: str | None, csm: str | None) -> str:
    parts = []
    if segment:
        parts.append(f"segment {segment}")
    if csm:
        parts.append(f"<@{csm}>")
    return ", ".join(parts) or "all"


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
) -> Metrics:
    """The figures of the `kind` period containing `as_of` (to date), and of the period before."""
    cur = period_containing(kind, as_of, tz).to_date(as_of)
    prev = previous_period(cur)
    weights = dict(outlook.DEFAULT_FORECAST_WEIGHTS) | dict(forecast_weights or {})
    scope = frame.scope_ids(segment, csm)
    periods = (cur, prev)
    ends = [p.end for p in periods]
    days = {d for p in periods for d in (p.end, retention.year_before(p.end), p.start - timedelta(days=1))}
    accounts = frame.portfolio(session, days, tz, scope)
    flows = revenue.flows(session, periods, tz, scope)
    nps_figs = nps.nps(session, ends, tz, scope)
    touches = coverage_mod.touches(session, periods, tz, scope)
    escalations = escalation_times.escalations(session, periods, scope)
    usage = [adoption_mod.latest_usage(session, p.end, scope) for p in periods]
    health = [outlook.latest_health(session, p.end, scope) for p in periods]
    quarters = [period_containing("quarter", p.end, tz) for p in periods]
    events = retention.renewal_events(
        session,
        min(q.start for q in quarters),
        max(ends) + timedelta(days=outlook.HORIZON_DAYS),
        scope,
    )

    values: list[dict[str, tuple[int | float | None, str | None]]] = []
    risk_lists = []
    renewal_lists: list[list[RenewalRow]] = []
    past_due_lists = []
    for i, p in enumerate(periods):
        v: dict[str, tuple[int | float | None, str | None]] = {}
        arr = revenue.live_arr(accounts, p.end)
        v["arr_cents"] = (arr, None)
        grr, nrr, why = retention.grr_nrr(accounts, p.end)
        v["grr_t12m"], v["nrr_t12m"] = (grr, why), (nrr, why)
        rate, why, past_due = retention.renewal_rate(events, accounts, quarters[i].start, p.end)
        v["renewal_rate_qtd"] = (rate, why)
        v["upsell_cents"] = (flows[i].upsell, None)
        v["premier_cents"] = (flows[i].premier, None)
        v["new_arr_cents"] = (flows[i].new_arr, None)
        v["logo_churn"] = revenue.logo_churn(flows[i], accounts, p)
        score, responses, why = nps_figs[i]
        v["nps"], v["nps_responses"] = (score, why), (responses, None)
        v["adoption"] = adoption_mod.adoption(accounts, usage[i], p.end)
        v["deployment"] = adoption_mod.deployment(accounts, usage[i], p.end)
        v["cost_per_arr"] = revenue.cost_per_arr(team_cost_cents, arr)
        v["coverage"] = coverage_mod.coverage(accounts, touches[i], p.end)
        esc = escalations[i]
        v["escalations_opened"], v["escalations_resolved"] = (esc.opened, None), (esc.resolved, None)
        v["median_tta_seconds"], v["median_ttr_seconds"] = esc.median_tta(), esc.median_ttr()
        risks = outlook.at_risk(accounts, health[i], p.end)
        v["at_risk_accounts"] = (len(risks), None)
        v["at_risk_arr_cents"] = (sum(r.arr_cents for r in risks), None)
        ahead = outlook.renewals_ahead(accounts, events, health[i], p.end)
        v["renewals_90d_count"] = (len(ahead), None)
        v["renewals_90d_arr_cents"] = (sum(r.arr_cents for r in ahead), None)
        v["renewal_forecast_cents"] = (outlook.forecast(ahead, weights), None)
        values.append(v)
        risk_lists.append(risks)
        renewal_lists.append(ahead)
        past_due_lists.append(past_due)

    figures = {
        name: Figure(value=value, previous=values[1][name][0], why=why if value is None else None)
        for name, (value, why) in values[0].items()
    }
    bands = {a: s.band for a, s in health[0].items()}
    past_due = [
        RenewalRow(a.id, a.name, a.csm, a.renewal_date, a.arr[cur.end], bands.get(a.id))
        for a in sorted(past_due_lists[0], key=lambda a: (a.renewal_date or cur.end, a.name))
        if a.renewal_date is not None
    ]
    return Metrics(
        period=cur,
        scope=_scope_label(segment, csm),
        figures=figures,
        by_csm=by_csm(accounts, touches[0], risk_lists[0], escalations[0].open_at_end, cur.end),
        at_risk=risk_lists[0],
        renewals=renewal_lists[0],
        past_due=past_due,
    )
