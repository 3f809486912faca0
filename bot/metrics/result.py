"""The plain values every surface renders (the digest, `/cs metrics`, App Home,
`csbot metrics --json`): one computation, many views (PRODUCT.md §6.1)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from bot.metrics.periods import Period

# The §6.1 --json figure names, in the order every view shows them.
FIGURE_NAMES = (
    "arr_cents",
    "grr_t12m",
    "nrr_t12m",
    "renewal_rate_qtd",
    "upsell_cents",
    "premier_cents",
    "new_arr_cents",
    "logo_churn",
    "nps",
    "nps_responses",
    "adoption",
    "deployment",
    "cost_per_arr",
    "coverage",
    "escalations_opened",
    "escalations_resolved",
    "median_tta_seconds",
    "median_ttr_seconds",
    "at_risk_accounts",
    "at_risk_arr_cents",
    "renewals_90d_count",
    "renewals_90d_arr_cents",
    "renewal_forecast_cents",
)


@dataclass(frozen=True)
class Figure:
    value: int | float | None  # None = n/a
    previous: int | float | None
    why: str | None = None  # reason when value is None ("no NPS responses in the last 90 days")


@dataclass(frozen=True)
class CsmRow:
    csm: str
    accounts: int
    arr_cents: int
    coverage: float | None
    touchpoints: int
    at_risk: int
    open_escalations: int


@dataclass(frozen=True)
class RiskRow:  # top at-risk accounts, worst first
    account_id: int
    name: str
    csm: str | None
    arr_cents: int
    score: int | None
    band: str | None
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class RenewalRow:  # renewals in the next 90 days
    account_id: int
    name: str
    csm: str | None
    renewal_date: date
    arr_cents: int
    band: str | None


@dataclass(frozen=True)
class Metrics:
    period: Period
    scope: str  # "all", "segment Enterprise", "<@U123>"
    figures: dict[str, Figure]  # NAME as PRODUCT.md §6.1 --json
    by_csm: list[CsmRow]
    at_risk: list[RiskRow]  # all at-risk accounts in scope (latest snapshot), worst first
    renewals: list[RenewalRow]  # next 90 days, by date
    # renewals due this quarter, past their date, still without an outcome (beside the renewal rate)
    past_due: list[RenewalRow] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        """Exactly the §6.1 --json shape."""
        figures: dict[str, Any] = {}
        for name in FIGURE_NAMES:
            fig = self.figures[name]
            item: dict[str, Any] = {"value": fig.value, "previous": fig.previous}
            if fig.value is None:
                item["why"] = fig.why
            figures[name] = item
        return {
            "period": {
                "kind": self.period.kind,
                "start": self.period.start.isoformat(),
                "end": self.period.end.isoformat(),
                "tz": self.period.tz,
            },
            "figures": figures,
            "by_csm": [
                {
                    "csm": r.csm,
                    "accounts": r.accounts,
                    "arr_cents": r.arr_cents,
                    "coverage": r.coverage,
                    "touchpoints": r.touchpoints,
                    "at_risk": r.at_risk,
                    "open_escalations": r.open_escalations,
                }
                for r in self.by_csm
            ],
        }
