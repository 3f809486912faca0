"""Bench: building and queuing one weekly digest (bot/digest) over a big portfolio.

The portfolio of bench/health.py (N accounts, 100 touchpoints and 100 daily usage
snapshots each: 1,000,000 of each at 10,000 accounts, NPS, escalations), plus what
the digest reads besides: the ARR ledger (one `new` movement per account) and a
health snapshot per account on each of the last 8 Sundays (the chart), on SQLite
and on a throw-away PostgreSQL.

Each measured run is a fresh subprocess (its own peak RSS; the digest's time leaves
out importing matplotlib, paid once per bot process, and prints it apart):
- baseline: `compute_metrics` alone for the week, the figures the digest renders;
- digest: `queue_digest` — the same metrics, the chart's query, the PNG (matplotlib),
  the Block Kit message and its two Outbox rows, committed.
It prints seconds, peak MB and SQL statements for both; at 1,000 and 10,000
accounts the statement count must not change.

    python bench/digest.py                      # 1,000 and 10,000 accounts, both databases
    python bench/digest.py --accounts 10000 --backends sqlite
Targets (the digest's issue): < 5 s and < 300 MB.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import common  # noqa: E402
from bench.health import NOW, PER_ACCOUNT, build, bulk  # noqa: E402

POST_AT = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)  # Monday 09:00 in Berlin: W47's digest
TZ = "Europe/Berlin"
BANDS = ("green", "green", "green", "yellow", "yellow", "red")


def build_digest_data(url: str, accounts: int, seed: int = 11) -> None:
    from models.db import make_engine

    rnd = random.Random(seed)
    engine = make_engine(url)
    bulk(
        engine,
        "arrmovement",
        ["account_id", "kind", "amount_cents", "effective_date", "source", "created_at"],
        [(a, "new", rnd.randint(5_000, 2_000_000) * 100, date(2025, 1, 1), "import", NOW)
         for a in range(1, accounts + 1)],
    )  # fmt: skip
    sunday = date(2026, 11, 22)
    with engine.begin() as conn:  # health's daily week of snapshots, replaced by 8 Sundays'
        conn.exec_driver_sql("DELETE FROM healthsnapshot")
    bulk(
        engine,
        "healthsnapshot",
        ["account_id", "date", "score", "band", "reasons", "measures", "at_risk"],
        [
            (a, sunday - timedelta(weeks=w), rnd.randint(20, 95), band, '["no touchpoint in 30 days"]', "{}",
             band == "red")
            for a in range(1, accounts + 1)
            for w in range(8)
            for band in (rnd.choice(BANDS),)
        ],
    )  # fmt: skip
    with engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE")
    engine.dispose()


def run_job(url: str, what: str) -> dict[str, Any]:
    from sqlalchemy import event

    from bot.clock import ManualClock
    from bot.digest import queue_digest, week_period
    from bot.metrics import compute_metrics
    from bot.settings import Settings
    from models.db import make_engine, session_scope

    engine = make_engine(url)
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    clock = ManualClock(POST_AT)
    settings = Settings(database_url=url, tz=TZ)
    imported = 0.0
    if what == "digest":  # once per process in a running bot: timed apart
        t0 = time.perf_counter()
        import matplotlib.figure  # noqa: F401

        imported = time.perf_counter() - t0
    t0 = time.perf_counter()
    with session_scope(engine) as session:
        period = week_period(TZ, now=clock.now())
        if what == "metrics":
            m = compute_metrics(session, kind="week", as_of=period.end, tz=TZ)
            summary = f"{len(m.by_csm)} CSMs, {len(m.at_risk)} at risk, {len(m.renewals)} renewals"
        else:
            q = queue_digest(session, clock, settings, channel="CDIGEST", period=period)
            summary = f"queued {q.key} (chart: {q.chart})"
    seconds = time.perf_counter() - t0
    engine.dispose()
    return {
        "seconds": seconds,
        "import_seconds": imported,
        "statements": len(statements),
        "peak_mb": common.peak_rss_mb(),
        "summary": summary,
    }


def measure(url: str, what: str) -> dict[str, Any]:
    return common.run_script(__file__, "--job", url, "--what", what)


def main() -> None:
    parser = common.size_parser(__doc__)
    parser.add_argument("--job", help=argparse.SUPPRESS)
    parser.add_argument("--what", default="digest", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.job:
        print(json.dumps(run_job(args.job, args.what)))
        return

    backends = args.backends.split(",")
    rows: list[tuple[str, int, dict[str, Any], dict[str, Any]]] = []
    with common.databases(backends) as (server, tmp):
        for n in args.accounts:
            for backend in backends:
                url = common.database_url(backend, server, tmp, f"digest_{n}")
                t0 = time.perf_counter()
                build(url, n)
                build_digest_data(url, n)
                print(
                    f"{backend:10s} {n:>6,} accounts: loaded {n * PER_ACCOUNT:,} touchpoints, "
                    f"{n * PER_ACCOUNT:,} usage snapshots, {n * 8:,} weekly health snapshots "
                    f"in {time.perf_counter() - t0:.1f} s",
                    flush=True,
                )
                base, dig = measure(url, "metrics"), measure(url, "digest")
                rows.append((backend, n, base, dig))
                print(
                    f"{backend:10s} {n:>6,} accounts: digest {dig['seconds']:.2f} s, "
                    f"peak {dig['peak_mb']:.0f} MB, "
                    f"{dig['statements']} statements — metrics alone {base['seconds']:.2f} s, "
                    f"peak {base['peak_mb']:.0f} MB, {base['statements']} statements "
                    f"(digest x{dig['seconds'] / base['seconds']:.2f}; "
                    f"+ {dig['import_seconds']:.2f} s importing matplotlib, once per process); "
                    f"{dig['summary']}",
                    flush=True,
                )

    print(
        "\nbackend     accounts  digest s  metrics s  ratio  digest MB  metrics MB"
        "  statements (digest/metrics)"
    )
    for backend, n, base, dig in rows:
        ok = "ok" if dig["seconds"] < 5 and dig["peak_mb"] < 300 else "OVER TARGET (< 5 s, < 300 MB)"
        print(
            f"{backend:10s} {n:>9,} {dig['seconds']:9.2f} {base['seconds']:10.2f} "
            f"{dig['seconds'] / base['seconds']:6.2f} "
            f"{dig['peak_mb']:10.0f} {base['peak_mb']:11.0f}  {dig['statements']}/{base['statements']}  {ok}"
        )
    for backend in backends:
        counts = common.constancy(dig["statements"] for b, _, _, dig in rows if b == backend)
        print(f"{backend}: digest statements at {sorted(args.accounts)} accounts: {counts}")


if __name__ == "__main__":
    main()
