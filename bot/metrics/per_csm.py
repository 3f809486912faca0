"""The per-CSM table of the digest and `/cs metrics` (PRODUCT.md §6.1/§6.2):
each CSM's live book at the period's end — accounts, ARR, coverage, touchpoints
in the period, at risk, open escalations — biggest book first."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from bot.metrics.coverage import Touches
from bot.metrics.result import CsmRow, RiskRow

UNASSIGNED = "unassigned"


def by_csm(
    accounts: Sequence,  # AccountRow
    t: Touches,
    risks: Sequence[RiskRow],
    open_escalations: dict[int, int],
    end: date,
) -> list[CsmRow]:
    risky = {r.account_id for r in risks}
    books: dict[str, list] = {}
    for a in accounts:
        if a.live(end):
            books.setdefault(a.csm or UNASSIGNED, []).append(a)
    rows = []
    for csm, book in books.items():
        rows.append(
            CsmRow(
                csm=csm,
                accounts=len(book),
                arr_cents=sum(a.arr[end] for a in book),
                coverage=sum(1 for a in book if a.id in t.covered) / len(book),
                touchpoints=sum(t.in_period.get(a.id, 0) for a in book),
                at_risk=sum(1 for a in book if a.id in risky),
                open_escalations=sum(open_escalations.get(a.id, 0) for a in book),
            )
        )
    return sorted(rows, key=lambda r: (-r.arr_cents, r.csm))
