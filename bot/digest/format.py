"""How the digest writes a figure and its week-over-week change (PRODUCT.md §6.2):
money compact, ratios as percentages, durations in hours and minutes, ▲/▼ with the
delta, and "n/a" with its reason, never 0 (§6.1)."""

from __future__ import annotations

from typing import Any

# name -> (label, kind); kinds: money, pct, nps, count, seconds
FIGURES: dict[str, tuple[str, str]] = {
    "arr_cents": ("ARR", "money"),
    "new_arr_cents": ("New ARR", "money"),
    "upsell_cents": ("Up-sell", "money"),
    "premier_cents": ("Premier Support & Success sold", "money"),
    "grr_t12m": ("Gross revenue retention (12 mo)", "pct"),
    "nrr_t12m": ("Net revenue retention (12 mo)", "pct"),
    "renewal_rate_qtd": ("Renewal rate (quarter to date)", "pct"),
    "logo_churn": ("Logo churn", "pct"),
    "cost_per_arr": ("Cost / ARR", "pct"),
    "coverage": ("Coverage (30 days)", "pct"),
    "adoption": ("Adoption", "pct"),
    "deployment": ("Deployment", "pct"),
    "nps": ("NPS (90 days)", "nps"),
    "at_risk_accounts": ("Accounts at risk", "count"),
    "at_risk_arr_cents": ("ARR at risk", "money"),
}
# The order of the figure fields, in sections of at most 10 (Slack's limit per section).
FIELD_GROUPS: tuple[tuple[str, ...], ...] = (
    (
        "arr_cents",
        "new_arr_cents",
        "upsell_cents",
        "premier_cents",
        "grr_t12m",
        "nrr_t12m",
        "renewal_rate_qtd",
        "logo_churn",
        "cost_per_arr",
        "coverage",
    ),
    ("adoption", "deployment", "nps", "at_risk_accounts", "at_risk_arr_cents"),
)


def money(cents: int | float) -> str:
    """Compact dollars that stay narrow in a table: $950, $1.2k, $120k, $1.2m, $12m."""
    sign = "-" if cents < 0 else ""
    dollars = abs(cents) / 100
    for size, suffix in ((1_000_000_000, "b"), (1_000_000, "m"), (1_000, "k")):
        if dollars >= size:
            scaled = dollars / size
            text = f"{scaled:.1f}" if scaled < 10 else f"{scaled:.0f}"
            return f"{sign}${text.removesuffix('.0')}{suffix}"
    return f"{sign}${dollars:.0f}"


def duration(seconds: int | float) -> str:
    """3h 05m, 14m, 2d 3h: how long escalations waited."""
    minutes = int(round(seconds / 60))
    if minutes < 60:
        return f"{minutes}m"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours}h {minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d {hours}h"


def value_text(kind: str, value: int | float) -> str:
    if kind == "money":
        return money(value)
    if kind == "pct":
        return f"{value * 100:.1f}%".replace(".0%", "%")
    if kind == "seconds":
        return duration(value)
    if kind == "nps":
        return f"{value:+.0f}" if value else "0"
    return f"{value:,.0f}"


def delta_text(kind: str, value: int | float | None, previous: int | float | None) -> str:
    """'▲ $12k', '▼ 2.5 pts', '= no change', '' when there is nothing to compare."""
    if value is None or previous is None:
        return ""
    diff = value - previous
    if abs(diff) < 1e-9:
        return "= no change"
    arrow = "▲" if diff > 0 else "▼"
    size = abs(diff)
    if kind == "pct":
        return f"{arrow} {size * 100:.1f} pts"
    if kind == "nps":
        return f"{arrow} {size:.0f}"
    return f"{arrow} {value_text(kind, size)}"


def figure_line(name: str, figure: Any, kind: str | None = None) -> str:
    """The value and its change: '$1.2m ▲ $30k', or 'n/a — no NPS responses in the last 90 days'."""
    kind = kind or FIGURES.get(name, (name, "count"))[1]
    if figure is None:
        return "n/a"
    if figure.value is None:
        return f"n/a — {figure.why}" if figure.why else "n/a"
    text = value_text(kind, figure.value)
    change = delta_text(kind, figure.value, figure.previous)
    return f"{text}  {change}" if change else text
