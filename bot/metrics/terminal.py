"""`csbot metrics` in a terminal: the figures as a table (value, previous,
change, n/a — why) and the per-CSM table; `--json` prints Metrics.as_json()."""

from __future__ import annotations

from bot.metrics.format import LABELS, figure_line, value_text
from bot.metrics.result import FIGURE_NAMES, Metrics
from bot.money import format_cents


def render_table(m: Metrics) -> str:
    lines = [f"{m.period.label()} · {m.period.start} to {m.period.end} ({m.period.tz}) · {m.scope}", ""]
    width = max(len(v) for v in LABELS.values())
    lines.append(f"{'figure':<{width}}  {'value':>16}  {'previous':>16}  change")
    for name in FIGURE_NAMES:
        fig = m.figures[name]
        label, shown, change = figure_line(name, fig)
        if fig.value is None:
            lines.append(f"{label:<{width}}  {shown}")
            continue
        lines.append(f"{label:<{width}}  {shown:>16}  {value_text(name, fig.previous):>16}  {change}")
    if m.past_due:
        names = ", ".join(f"{r.name} ({r.renewal_date})" for r in m.past_due)
        lines.append(f"{'':<{width}}  renewals due without an outcome yet: {names}")
    lines += [
        "",
        f"{'CSM':<14} {'accounts':>8} {'ARR':>16} {'coverage':>9} {'touches':>8} {'at risk':>8} "
        f"{'open esc':>8}",
    ]
    for r in m.by_csm:
        cov = "n/a" if r.coverage is None else f"{r.coverage * 100:.0f} %"
        lines.append(
            f"{r.csm:<14} {r.accounts:>8} {format_cents(r.arr_cents):>16} {cov:>9} {r.touchpoints:>8} "
            f"{r.at_risk:>8} {r.open_escalations:>8}"
        )
    if not m.by_csm:
        lines.append("(no live accounts in scope)")
    return "\n".join(lines)
