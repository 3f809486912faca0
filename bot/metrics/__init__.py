"""The director's figures (PRODUCT.md §6.1), computed set-based from the ARR
ledger and the portfolio's data, as plain values every surface renders.

May import: `bot/slack/`, the process modules, `models/`; other wings only
through their public functions."""

from bot.metrics.compute import compute_metrics
from bot.metrics.periods import Period, last_complete_week, period_containing, previous_period
from bot.metrics.result import FIGURE_NAMES, CsmRow, Figure, Metrics, RenewalRow, RiskRow

__all__ = [
    "FIGURE_NAMES",
    "CsmRow",
    "Figure",
    "Metrics",
    "Period",
    "RenewalRow",
    "RiskRow",
    "compute_metrics",
    "last_complete_week",
    "period_containing",
    "previous_period",
]
