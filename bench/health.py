"""Bench: the nightly health + alert job (jobs/health.py) over a big portfolio.

Builds a portfolio of N accounts with 100 touchpoints and 100 daily usage
snapshots each (10,000 accounts: 1,000,000 of each), plus NPS responses, open
escalations, a week of health snapshots and three alert subscriptions, on
SQLite and on a throw-away PostgreSQL (started the way tests/pg.py does).
Loading is bulk: executemany on SQLite, COPY on PostgreSQL.

Then it runs the job in a fresh subprocess (so its peak RSS is the job's own),
twice: day 1 (every at-risk account is news) and day 2 (nothing changed), and
prints seconds, peak memory and the number of SQL statements issued (counted
with SQLAlchemy's before_cursor_execute). Run at 1,000 and 10,000 accounts,
the statement count must not change.

Baseline, measured in the same run on the same database: one GROUP BY scan of
the touchpoint and usage tables (the least any set-based job must read).

    python bench/health.py                      # 1,000 and 10,000 accounts, both databases
    python bench/health.py --accounts 10000 --backends sqlite
Targets (PRODUCT.md §9): < 30 s and < 500 MB per run.
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

NOW = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)  # the nightly run
PER_ACCOUNT = 100  # touchpoints and usage snapshots per account
CSMS = [f"UCSM{i:03d}" for i in range(50)]
SEGMENTS = ["enterprise", "mid-market", "smb"]


# --- loading ----------------------------------------------------------------------


def _sqlite_value(v: Any) -> Any:
    if isinstance(v, datetime):
        return v.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(v, date):
        return v.isoformat()
    return v


def bulk(engine: Any, table: str, columns: list[str], rows: list[tuple[Any, ...]]) -> None:
    """executemany on SQLite, COPY on PostgreSQL: raw driver speed, no ORM."""
    raw = engine.raw_connection()
    try:
        if engine.dialect.name == "sqlite":
            cur = raw.cursor()
            cur.execute("BEGIN")
            marks = ", ".join("?" for _ in columns)
            cur.executemany(
                f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})",
                [tuple(_sqlite_value(v) for v in row) for row in rows],
            )
            cur.execute("COMMIT")
        else:
            with raw.cursor() as cur, cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            raw.commit()
    finally:
        raw.close()


def build(url: str, accounts: int, seed: int = 7) -> dict[str, float]:
    """A migrated database with the portfolio in it; returns load timings."""
    from sqlalchemy import text

    rnd = random.Random(seed)
    engine = common.migrated_engine(url)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    bulk(
        engine,
        "account",
        ["id", "name", "external_id", "segment", "csm_slack_id", "arr_cents", "renewal_date", "stage",
         "licensed_users", "created_at", "updated_at"],
        [
            (
                i,
                f"Account {i:05d}",
                f"SF-{i:05d}",
                SEGMENTS[i % 3],
                CSMS[i % len(CSMS)],
                rnd.randint(5_000, 2_000_000) * 100,
                NOW.date() + timedelta(days=rnd.randint(-30, 365)),
                "mature",
                50,
                NOW,
                NOW,
            )
            for i in range(1, accounts + 1)
        ],
    )  # fmt: skip
    timings["accounts"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    touch_rows = []
    for a in range(1, accounts + 1):
        newest = rnd.choice((0, 1, 2, 3, 5, 7, 10, 14, 20, 30, 45, 70))  # a few have gone quiet
        for k in range(PER_ACCOUNT):
            at = NOW - timedelta(days=newest + k * 3, minutes=rnd.randint(0, 600))
            touch_rows.append(
                (a, CSMS[a % len(CSMS)], "call", at, "", rnd.choice((-1, 0, 0, 1, 1, 1, 1)), "[]", NOW)
            )
    bulk(
        engine,
        "touchpoint",
        ["account_id", "author_slack_id", "type", "occurred_at", "note", "sentiment", "tags", "created_at"],
        touch_rows,
    )
    del touch_rows
    timings["touchpoints"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    usage_rows = []
    for a in range(1, accounts + 1):
        level = rnd.randint(15, 50)
        for d in range(PER_ACCOUNT):
            usage_rows.append((a, NOW.date() - timedelta(days=d), max(0, level + rnd.randint(-3, 3)), 50))
    bulk(engine, "usagesnapshot", ["account_id", "date", "active_users", "licensed_users"], usage_rows)
    del usage_rows
    timings["usage"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    bulk(
        engine,
        "npsresponse",
        ["account_id", "responded_at", "score", "respondent", "created_at"],
        [
            (
                a,
                NOW - timedelta(days=rnd.randint(0, 120)),
                rnd.choice((3, 6, 7, 8, 8, 9, 9, 9, 10, 10)),
                f"user{k}@a{a}.example",
                NOW,
            )
            for a in range(1, accounts + 1)
            for k in range(2)
        ],
    )
    bulk(
        engine,
        "escalation",
        ["account_id", "severity", "summary", "owner_slack_id", "opened_by", "status", "level", "policy",
         "step", "opened_at"],
        [
            (rnd.randint(1, accounts), rnd.choice(("sev1", "sev2", "sev3")), "bench", "UCSM001", "UCSM001",
             "open", 0, "{}", 0, NOW)
            for _ in range(accounts // 20)
        ],
    )  # fmt: skip
    bulk(  # last week's snapshots, for the 'dropped 20 points in 7 days' rule
        engine,
        "healthsnapshot",
        ["account_id", "date", "score", "band", "reasons", "measures"],
        [
            (a, NOW.date() - timedelta(days=d), rnd.randint(30, 95), "yellow", "[]", "{}")
            for a in range(1, accounts + 1)
            for d in range(1, 8)
        ],
    )
    bulk(
        engine,
        "subscription",
        [
            "channel_id",
            "kind",
            "filter_segment",
            "filter_csm",
            "time_of_day",
            "tz",
            "created_by",
            "created_at",
        ],
        [
            ("CALERTS", "alerts", None, None, "09:00", "UTC", "UADMIN", NOW),
            ("CENTERPRISE", "alerts", "enterprise", None, "09:00", "UTC", "UADMIN", NOW),
            ("CCASEY", "alerts", None, "UCSM001", "09:00", "UTC", "UADMIN", NOW),
        ],
    )
    timings["rest"] = time.perf_counter() - t0
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("SELECT setval('account_id_seq', (SELECT max(id) FROM account))"))
            conn.exec_driver_sql("ANALYZE")
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            conn.exec_driver_sql("ANALYZE")
    engine.dispose()
    return timings


# --- the measured run (in its own process) ----------------------------------------


def run_job(url: str, day: int) -> dict[str, Any]:
    from sqlalchemy import event, text

    from bot.clock import ManualClock
    from bot.settings import Settings
    from jobs.health import run_health
    from models.db import make_engine

    engine = make_engine(url)
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    clock = ManualClock(NOW + timedelta(days=day - 1))
    t0 = time.perf_counter()
    result = run_health(engine, clock, Settings(database_url=url))
    seconds = time.perf_counter() - t0
    job_statements = len(statements)
    outbox_statements = sum(1 for st in statements if "outbox" in st.lower())
    # Baseline: one grouped scan of each big table, the floor for any set-based job.
    t0 = time.perf_counter()
    with engine.connect() as conn:
        conn.execute(
            text("SELECT account_id, max(occurred_at), count(*) FROM touchpoint GROUP BY account_id")
        ).all()
        conn.execute(
            text("SELECT account_id, max(date), count(*) FROM usagesnapshot GROUP BY account_id")
        ).all()
    baseline = time.perf_counter() - t0
    engine.dispose()
    return {
        "seconds": seconds,
        "baseline": baseline,
        "statements": job_statements,
        "outbox_statements": outbox_statements,  # 2 per message queued (look up the key, insert)
        "messages": len(result.messages),
        "peak_mb": common.peak_rss_mb(),
        "summary": result.summary(),
    }


def measure(url: str, day: int) -> dict[str, Any]:
    return common.run_script(__file__, "--job", url, "--day", str(day))


def main() -> None:
    parser = common.size_parser(__doc__)
    parser.add_argument("--job", help=argparse.SUPPRESS)
    parser.add_argument("--day", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.job:
        print(json.dumps(run_job(args.job, args.day)))
        return

    backends = args.backends.split(",")
    rows: list[tuple[str, int, int, dict[str, Any]]] = []
    with common.databases(backends) as (server, tmp):
        for n in args.accounts:
            for backend in backends:
                url = common.database_url(backend, server, tmp, f"health_{n}")
                t0 = time.perf_counter()
                loaded = build(url, n)
                print(
                    f"{backend:10s} {n:>6,} accounts: loaded {n * PER_ACCOUNT:,} touchpoints and "
                    f"{n * PER_ACCOUNT:,} usage snapshots in {time.perf_counter() - t0:.1f} s "
                    f"(touchpoints {loaded['touchpoints']:.1f} s, usage {loaded['usage']:.1f} s)",
                    flush=True,
                )
                for day in (1, 2):
                    m = measure(url, day)
                    rows.append((backend, n, day, m))
                    print(
                        f"{backend:10s} {n:>6,} accounts day {day}: {m['seconds']:6.2f} s "
                        f"(baseline scan {m['baseline']:.2f} s, x{m['seconds'] / m['baseline']:.1f}), "
                        f"peak {m['peak_mb']:.0f} MB, {m['statements']} SQL statements "
                        f"({m['outbox_statements']} of them for {m['messages']} Outbox messages) "
                        f"— {m['summary']}",
                        flush=True,
                    )

    print("\nbackend     accounts  day  seconds  peak MB  statements  (targets: < 30 s, < 500 MB)")
    for backend, n, day, m in rows:
        ok = "ok" if m["seconds"] < 30 and m["peak_mb"] < 500 else "OVER TARGET"
        print(
            f"{backend:10s} {n:>9,} {day:>4} {m['seconds']:8.2f} {m['peak_mb']:8.0f} "
            f"{m['statements']:11d}  {ok}"
        )
    for backend in backends:
        # per run, the statements besides the 2 per Outbox message (one message per subscription)
        counts = {(n, day): m["statements"] - m["outbox_statements"] for b, n, day, m in rows if b == backend}
        for day in (1, 2):
            per_size = common.constancy(c for (n, d), c in counts.items() if d == day)
            print(
                f"{backend}: statements besides Outbox on day {day} at {sorted(args.accounts)} accounts: "
                f"{per_size}"
            )


if __name__ == "__main__":
    main()
