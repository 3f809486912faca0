"""Bench: every §6.1 figure for a quarter (bot/metrics.compute_metrics) over a big portfolio.

At 10,000 accounts: 1,000,000 touchpoints and 1,000,000 usage snapshots (100 of
each per account), 100,000 ARR movements (10 per account, over 15 months),
20,000 NPS responses, a health snapshot per account, escalations and renewal
outcomes — on SQLite and on a throw-away PostgreSQL (as tests/pg.py starts it).
Loading is bulk (bench/health.py's executemany / COPY).

The figures are computed in a fresh subprocess (its own peak RSS), and the run
prints seconds, peak MB and the number of SQL statements (SQLAlchemy's
before_cursor_execute), at 1,000 and 10,000 accounts: the count must not grow.
Baseline, in the same run on the same database: one grouped scan (GROUP BY
account) of each of the tables the figures read.

    python bench/metrics.py                     # 1,000 and 10,000 accounts, both databases
    python bench/metrics.py --accounts 10000 --backends sqlite
Targets (issue): < 3 s and < 300 MB.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import common  # noqa: E402
from bench.health import bulk  # noqa: E402

NOW = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
TODAY = NOW.date()
PER_ACCOUNT = 100  # touchpoints and usage snapshots per account
MOVES = 10  # ARR movements per account
CSMS = [f"UCSM{i:03d}" for i in range(50)]
SEGMENTS = ["enterprise", "mid-market", "smb"]
TABLES = ("touchpoint", "usagesnapshot", "arrmovement", "npsresponse", "healthsnapshot", "escalation")


def build(url: str, accounts: int, seed: int = 11) -> float:
    """A migrated database holding the portfolio; returns the load seconds."""
    rnd = random.Random(seed)
    engine = common.migrated_engine(url)
    t0 = time.perf_counter()
    ids = range(1, accounts + 1)
    start = TODAY - timedelta(days=450)
    arr: dict[int, int] = {}
    moves = []
    for a in ids:
        first = start + timedelta(days=rnd.randint(0, 200))
        total = rnd.randint(5_000, 500_000) * 100
        moves.append((a, "new", total, first, "import"))
        for k in range(1, MOVES):
            day = first + timedelta(days=k * 25 + rnd.randint(0, 10))
            if day > TODAY:
                day = TODAY
            kind = rnd.choice(("expansion", "expansion", "contraction"))
            amount = rnd.randint(100, 5_000) * 100
            if kind == "contraction":
                amount = -min(amount, total)
                if amount == 0:
                    kind, amount = "expansion", 100_00
            total += amount
            moves.append((a, kind, amount, day, "movements"))
        arr[a] = total
    bulk(
        engine,
        "account",
        ["id", "name", "external_id", "segment", "csm_slack_id", "arr_cents", "renewal_date", "stage",
         "licensed_users", "created_at", "updated_at"],
        [
            (a, f"Account {a:05d}", f"SF-{a:05d}", SEGMENTS[a % 3], CSMS[a % len(CSMS)], arr[a],
             TODAY + timedelta(days=rnd.randint(-60, 365)), "mature", 50, NOW - timedelta(days=500), NOW)
            for a in ids
        ],
    )  # fmt: skip
    bulk(
        engine,
        "arrmovement",
        ["account_id", "kind", "amount_cents", "effective_date", "source", "created_at"],
        [(*m, NOW) for m in moves],
    )
    del moves
    # a pool of instants to draw from: building a million datetimes one by one is most of the load time
    pool = [
        NOW - timedelta(days=k * 3 + j % 3, minutes=j * 37 % 600)
        for k in range(PER_ACCOUNT)
        for j in range(8)
    ]
    touch_rows = [
        (a, CSMS[a % len(CSMS)], "call", pool[k * 8 + (a * 7 + k) % 8], "", (a + k) % 3 - 1, "[]", NOW)
        for a in ids
        for k in range(PER_ACCOUNT)
    ]
    bulk(
        engine,
        "touchpoint",
        ["account_id", "author_slack_id", "type", "occurred_at", "note", "sentiment", "tags", "created_at"],
        touch_rows,
    )
    del touch_rows
    days = [TODAY - timedelta(days=d * 3) for d in range(PER_ACCOUNT)]
    usage_rows = [
        (a, days[d], 10 + (a * 13 + d) % 41, 30 + (a + d * 7) % 21) for a in ids for d in range(PER_ACCOUNT)
    ]
    bulk(engine, "usagesnapshot", ["account_id", "date", "active_users", "licensed_users"], usage_rows)
    del usage_rows
    bulk(
        engine,
        "npsresponse",
        ["account_id", "responded_at", "score", "created_at"],
        [
            (a, NOW - timedelta(days=rnd.randint(0, 200)), rnd.randint(0, 10), NOW)
            for a in ids
            for _ in range(2)
        ],
    )
    bulk(
        engine,
        "healthsnapshot",
        ["account_id", "date", "score", "band", "at_risk", "reasons", "measures"],
        [
            (a, TODAY - timedelta(days=1), s, "green" if s >= 70 else "yellow" if s >= 40 else "red", s < 40,
             '["bench"]', "{}")
            for a in ids
            for s in [rnd.randint(10, 100)]
        ],
    )  # fmt: skip
    bulk(
        engine,
        "escalation",
        ["account_id", "severity", "summary", "owner_slack_id", "opened_by", "status", "level", "policy",
         "step", "opened_at", "acknowledged_at", "resolved_at"],
        [
            (rnd.randint(1, accounts), "sev2", "bench", "UCSM001", "UCSM001", "resolved", 0, "{}", 0,
             NOW - timedelta(days=d), NOW - timedelta(days=d) + timedelta(minutes=rnd.randint(5, 90)),
             NOW - timedelta(days=d) + timedelta(hours=rnd.randint(2, 72)))
            for d in [rnd.randint(3, 200) for _ in range(accounts // 5)]
        ],
    )  # fmt: skip
    bulk(
        engine,
        "renewalevent",
        ["account_id", "outcome", "amount_cents", "occurred_at", "recorded_by", "created_at", "due_date",
         "arr_due_cents"],
        [
            (a, rnd.choice(("renewed", "renewed", "downgraded", "churned")), 1_000_00, NOW, "UCSM001", NOW,
             TODAY - timedelta(days=rnd.randint(1, 150)), 50_000_00)
            for a in range(1, accounts + 1, 4)
        ],
    )  # fmt: skip
    common.finish_load(engine)
    return time.perf_counter() - t0


def run_figures(url: str) -> dict[str, Any]:
    from sqlalchemy import event, text
    from sqlmodel import Session

    from bot.metrics import compute_metrics
    from models.db import make_engine

    engine = make_engine(url)
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    with Session(engine) as session:
        t0 = time.perf_counter()
        m = compute_metrics(
            session, kind="quarter", as_of=TODAY, tz="America/New_York", team_cost_cents=10**9
        )
        seconds = time.perf_counter() - t0
    count = len(statements)
    t0 = time.perf_counter()
    with engine.connect() as conn:
        for table in TABLES:
            conn.execute(text(f"SELECT account_id, count(*) FROM {table} GROUP BY account_id")).all()
    baseline = time.perf_counter() - t0
    engine.dispose()
    f = m.figures
    return {
        "seconds": seconds,
        "baseline": baseline,
        "statements": count,
        "peak_mb": common.peak_rss_mb(),
        "check": f"ARR {f['arr_cents'].value / 100:,.0f}, GRR {f['grr_t12m'].value:.3f}, "
        f"NRR {f['nrr_t12m'].value:.3f}, NPS {f['nps'].value:.1f}, {len(m.by_csm)} CSMs",
    }


def measure(url: str) -> dict[str, Any]:
    return common.run_script(__file__, "--figures", url)


def main() -> None:
    parser = common.size_parser(__doc__)
    parser.add_argument("--figures", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.figures:
        print(json.dumps(run_figures(args.figures)))
        return
    backends = args.backends.split(",")
    rows: list[tuple[str, int, dict[str, Any]]] = []
    with common.databases(backends) as (server, tmp):
        for n in args.accounts:
            for backend in backends:
                url = common.database_url(backend, server, tmp, f"metrics_{n}")
                loaded = build(url, n)
                m = measure(url)
                rows.append((backend, n, m))
                print(
                    f"{backend:10s} {n:>6,} accounts (loaded in {loaded:.1f} s): {m['seconds']:6.2f} s "
                    f"(baseline scan {m['baseline']:.2f} s, x{m['seconds'] / m['baseline']:.1f}), "
                    f"peak {m['peak_mb']:.0f} MB, {m['statements']} SQL statements — {m['check']}",
                    flush=True,
                )
    print("\nbackend     accounts  seconds  baseline  ratio  peak MB  statements  (targets: < 3 s, < 300 MB)")
    for backend, n, m in rows:
        ok = "ok" if m["seconds"] < 3 and m["peak_mb"] < 300 else "OVER TARGET"
        print(
            f"{backend:10s} {n:>9,} {m['seconds']:8.2f} {m['baseline']:9.2f} "
            f"{m['seconds'] / m['baseline']:6.1f} {m['peak_mb']:8.0f} {m['statements']:11d}  {ok}"
        )
    for backend in backends:
        counts = common.constancy(m["statements"] for b, _, m in rows if b == backend)
        print(f"{backend}: statements at {sorted(args.accounts)} accounts: {counts}")


if __name__ == "__main__":
    main()
