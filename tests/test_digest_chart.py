"""The digest's chart (PRODUCT.md §6.2): ARR by health band over 8 weeks from the
health snapshots and the ARR ledger, its alt text with the numbers, a PNG sized to
read at Slack's width, and a statement count that does not grow with the portfolio."""

from __future__ import annotations

import struct
from datetime import UTC, date, datetime

from sqlalchemy import event
from sqlmodel import Session

from bot.digest.chart import alt_text, band_history, render_png
from bot.revenue import ledger
from models.tables import Account, HealthSnapshot
from tests import metrics_portfolio
from tests.metrics_portfolio import D

W48 = date(2026, 11, 23)


def test_band_arr_of_the_last_eight_weeks_from_the_ledger(session: Session) -> None:
    metrics_portfolio.build(session)
    weeks = band_history(session, last_monday=W48)
    assert [w.label for w in weeks] == ["W41", "W42", "W43", "W44", "W45", "W46", "W47", "W48"]
    assert [w.day for w in weeks[:-1]] == [None] * 7  # the September snapshots are older than 8 weeks
    # Sunday 29 Nov: green Acme $120k (renewed flat + $20k #premier) and Kappa $15k; yellow Eta $60k and
    # Beta $40k (downgraded at renewal); red Iota $70k and Gamma, churned: $0.
    assert weeks[-1].day == date(2026, 11, 29)
    assert weeks[-1].arr == {"green": D(135_000), "yellow": D(100_000), "red": D(70_000)}
    enterprise = band_history(session, last_monday=W48, segment="enterprise")
    assert enterprise[-1].arr == {"green": D(120_000), "yellow": D(100_000), "red": D(70_000)}
    assert alt_text(weeks) == (
        "ARR by health band, weeks W41–W48: W41 no health scores; W42 no health scores; "
        "W43 no health scores; W44 no health scores; W45 no health scores; W46 no health scores; "
        "W47 no health scores; "
        "W48 green $135k, yellow $100k, red $70k"
    )


def test_the_png_reads_at_slacks_width(session: Session) -> None:
    metrics_portfolio.build(session)
    png = render_png(band_history(session, last_monday=W48), "ARR by health band, W41–W48")
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", png[16:24])
    assert (width, height) == (1200, 720)  # 6 × 3.6 in at 200 dpi: ~12 px letters when a phone shows 360 px
    assert len(png) < 200_000


def test_the_statement_count_does_not_grow_with_the_portfolio(session: Session) -> None:
    metrics_portfolio.build(session)
    statements: list[str] = []
    event.listen(session.get_bind(), "before_cursor_execute", lambda *a: statements.append(a[2]))
    selects = lambda: [s for s in statements if s.lstrip().upper().startswith("SELECT")]  # noqa: E731
    band_history(session, last_monday=W48)
    small = len(statements)
    now = datetime(2026, 11, 29, tzinfo=UTC)
    for i in range(30):
        acc = Account(name=f"Extra {i}", csm_slack_id="UANN", created_at=now, updated_at=now)
        session.add(acc)
        session.flush()
        ledger.apply(session, [ledger.Move(acc.id, "new", D(1_000), date(2026, 1, 1), "import")], now=now)
        for day in (date(2026, 11, 1), date(2026, 11, 15), date(2026, 11, 29)):
            session.add(HealthSnapshot(account_id=acc.id, date=day, score=90, band="green", reasons=[]))
    session.commit()
    statements.clear()
    weeks = band_history(session, last_monday=W48)
    assert len(statements) == small and len(selects()) == 2  # (+ SQLite's BEGIN IMMEDIATE)
    assert weeks[-1].arr["green"] == D(135_000 + 30 * 1_000)
    assert weeks[-3].arr == {"green": D(30_000), "yellow": 0, "red": 0}
