"""How a figure reads, the same in the terminal, `/cs metrics`, the digest and
App Home: its name in words, its value in dollars, % or time, its change
against the previous period (▲/▼), and "n/a — why" when it cannot be computed."""

from __future__ import annotations

from bot.metrics.result import Figure
from bot.money import format_cents

LABELS = {
    "arr_cents": "ARR",
    "grr_t12m": "Gross revenue retention (12 months)",
    "nrr_t12m": "Net revenue retention (12 months)",
    "renewal_rate_qtd": "Renewal rate (quarter to date)",
    "upsell_cents": "Up-sell",
    "premier_cents": "Premier Support & Success sold",
    "new_arr_cents": "New ARR",
    "logo_churn": "Logo churn",
    "nps": "NPS (90 days)",
    "nps_responses": "NPS responses",
    "adoption": "Adoption",
    "deployment": "Deployment",
    "cost_per_arr": "Cost / ARR",
    "coverage": "Coverage (30 days)",
    "escalations_opened": "Escalations opened",
    "escalations_resolved": "Escalations resolved",
    "median_tta_seconds": "Median time to acknowledge",
    "median_ttr_seconds": "Median time to resolve",
    "at_risk_accounts": "Accounts at risk",
    "at_risk_arr_cents": "ARR at risk",
    "renewals_90d_count": "Renewals, next 90 days",
    "renewals_90d_arr_cents": "ARR renewing, next 90 days",
    "renewal_forecast_cents": "Renewal forecast",
}
# Figures where going up is bad news (the arrow stays, the reader knows the figure).
RATIOS = {
    "grr_t12m",
    "nrr_t12m",
    "renewal_rate_qtd",
    "logo_churn",
    "adoption",
    "deployment",
    "cost_per_arr",
    "coverage",
}
DURATIONS = {"median_tta_seconds", "median_ttr_seconds"}


def duration(seconds: float) -> str:
    """1800 -> '30m', 90000 -> '1d 1h'."""
    total = int(round(seconds))
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return f"{days}d {hours}h" if hours else f"{days}d"
    if hours:
        return f"{hours}h {minutes}m" if minutes else f"{hours}h"
    return f"{minutes}m" if minutes else f"{total}s"


def value_text(name: str, value: int | float | None) -> str:
    if value is None:
        return "n/a"
    if name.endswith("_cents"):
        return format_cents(int(value))
    if name in RATIOS:
        return f"{value * 100:.1f} %"
    if name == "nps":
        return f"{value:+.1f}"
    if name in DURATIONS:
        return duration(float(value))
    return f"{int(value):,}"


def change_text(name: str, fig: Figure) -> str:
    """'▲ $17,000', '▼ 5.1 pts', '=' or '' when either side is n/a."""
    if fig.value is None or fig.previous is None:
        return ""
    delta = fig.value - fig.previous
    if abs(delta) < 1e-12:
        return "="
    arrow = "▲" if delta > 0 else "▼"
    if name.endswith("_cents"):
        return f"{arrow} {format_cents(abs(int(delta)))}"
    if name in RATIOS:
        return f"{arrow} {abs(delta) * 100:.1f} pts"
    if name == "nps":
        return f"{arrow} {abs(delta):.1f}"
    if name in DURATIONS:
        return f"{arrow} {duration(abs(float(delta)))}"
    return f"{arrow} {abs(int(delta)):,}"


def figure_line(name: str, fig: Figure) -> tuple[str, str, str]:
    """(label, value or 'n/a — why', change)."""
    shown = value_text(name, fig.value)
    if fig.value is None and fig.why:
        shown = f"n/a — {fig.why}"
    return LABELS[name], shown, change_text(name, fig)
