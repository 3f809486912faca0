"""Bench: building the Home tab (bot/home/flow.py desk_view) for a CSM and for
the director over a big portfolio.

Builds N accounts across 50 CSMs with an ARR ledger row each, 20 touchpoints
each, two weeks of health snapshots, an NPS response each and N/20 open
escalations, on SQLite (and PostgreSQL with --backends sqlite,postgresql).
Then it builds each view R times and prints the median milliseconds and the
SQL statements issued per build (SQLAlchemy's before_cursor_execute), against
a baseline measured in the same run on the same database: one indexed select
(the CSM's accounts by `csm_slack_id`). Run at 1,000 and 10,000 accounts, the
statement counts must not change.

    python bench/app_home.py                       # 1,000 and 10,000 accounts, SQLite
    python bench/app_home.py --accounts 10000 --backends sqlite,postgresql
Targets (issue): < 50 ms for the CSM, < 300 ms for the director on SQLite.
The director's time includes the week's figures from bot.metrics
(compute_metrics, asked for the figures the desk shows), printed alone on the
"metrics" line; "director, figures kept" is the same desk opened again while
the app keeps the figures (a few minutes, dropped on any write from Slack:
bot/home/figures.py FigureCache). Like `csbot run`, the measuring process
settles its start-up heap first (bot/heap.py); --unsettled measures without.
"""

from __future__ import annotations

import random
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import common  # noqa: E402
from bench.health import bulk  # noqa: E402

NOW = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
CSMS = [f"UCSM{i:03d}" for i in range(50)]
DIRECTOR = "UDIR001"
TOUCHES = 20
SNAPSHOT_DAYS = 14


def build(url: str, accounts: int, seed: int = 11) -> None:
    rnd = random.Random(seed)
    engine = common.migrated_engine(url)
    today = NOW.date()
    ids = range(1, accounts + 1)
    arr = {a: rnd.randint(5_000, 500_000) * 100 for a in ids}
    bulk(
        engine,
        "member",
        ["slack_id", "role", "manager_slack_id", "created_at", "updated_at"],
        [(c, "csm", DIRECTOR, NOW, NOW) for c in CSMS] + [(DIRECTOR, "director", None, NOW, NOW)],
    )
    bulk(
        engine,
        "account",
        ["id", "name", "csm_slack_id", "arr_cents", "renewal_date", "stage", "created_at", "updated_at"],
        [
            (a, f"Account {a:05d}", CSMS[a % len(CSMS)], arr[a],
             today + timedelta(days=rnd.randint(-20, 365)), "mature", NOW, NOW)
            for a in ids
        ],
    )  # fmt: skip
    bulk(
        engine,
        "arrmovement",
        ["account_id", "kind", "amount_cents", "effective_date", "source", "created_at"],
        [(a, "new", arr[a], today - timedelta(days=rnd.randint(30, 900)), "import", NOW) for a in ids],
    )
    bulk(
        engine,
        "touchpoint",
        ["account_id", "author_slack_id", "type", "occurred_at", "note", "sentiment", "tags", "created_at"],
        [
            (a, CSMS[a % len(CSMS)], "call", NOW - timedelta(days=rnd.randint(0, 90), minutes=k),
             "", 0, "[]", NOW)
            for a in ids
            for k in range(TOUCHES)
        ],
    )  # fmt: skip
    snapshots = []
    for a in ids:
        for d in range(SNAPSHOT_DAYS):
            score = rnd.randint(10, 95)
            band = "green" if score >= 70 else "yellow" if score >= 40 else "red"
            snapshots.append(
                (
                    a,
                    today - timedelta(days=d),
                    score,
                    band,
                    band == "red",
                    '["no touchpoint in 40 days"]',
                    "{}",
                )
            )
    bulk(
        engine,
        "healthsnapshot",
        ["account_id", "date", "score", "band", "at_risk", "reasons", "measures"],
        snapshots,
    )
    bulk(
        engine,
        "npsresponse",
        ["account_id", "responded_at", "score", "created_at"],
        [(a, NOW - timedelta(days=rnd.randint(0, 120)), rnd.randint(0, 10), NOW) for a in ids],
    )
    bulk(
        engine,
        "escalation",
        ["account_id", "severity", "summary", "owner_slack_id", "opened_by", "status", "level", "policy",
         "step", "opened_at"],
        [
            (a, rnd.choice(("sev1", "sev2", "sev3")), "bench", CSMS[a % len(CSMS)], CSMS[0],
             rnd.choice(("open", "acknowledged")), 0, "{}", 0, NOW - timedelta(hours=rnd.randint(1, 400)))
            for a in rnd.sample(list(ids), accounts // 20)
        ],
    )  # fmt: skip
    common.finish_load(engine)


def timed(fn: Callable[[], Any], statements: list[str], runs: int) -> tuple[float, int]:
    """(median ms, statements per run) of `fn`, after one warm-up run."""
    fn()
    times = []
    counts = []
    for _ in range(runs):
        before = len(statements)
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
        counts.append(len(statements) - before)
    assert len(set(counts)) == 1, f"statement count varies between runs: {counts}"
    return statistics.median(times), counts[0]


def measure(url: str, runs: int, settle: bool = True) -> dict[str, tuple[float, int, int]]:
    from sqlalchemy import event, text

    from bot.heap import settle_startup_heap
    from bot.home.figures import FigureCache
    from bot.home.flow import desk_view
    from bot.settings import Settings
    from models.db import make_engine, read_scope, session_scope

    engine = make_engine(url)
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    settings = Settings(database_url=url, tz="America/New_York")
    csm = CSMS[7]

    def baseline() -> None:
        with engine.connect() as conn:
            conn.execute(
                text("SELECT id, name, arr_cents, renewal_date FROM account WHERE csm_slack_id = :c"),
                {"c": csm},
            ).all()

    def view_of(user: str, figures: Any = None) -> Callable[[], Any]:
        def build_view() -> Any:
            with read_scope(engine) as session:
                if figures is None:
                    return desk_view(session, settings, NOW, user)
                return desk_view(session, settings, NOW, user, figures=figures)

        return build_view

    kept = FigureCache(lambda: NOW)  # the app's cache: figures kept a few minutes
    if settle:
        settle_startup_heap()  # as `csbot run` does once start-up is done (bot/heap.py)

    def metrics_alone() -> None:
        from bot.clock import local_date
        from bot.home.figures import week_metrics

        with session_scope(engine) as session:
            week_metrics(session, settings, local_date(NOW, settings.tz))

    out = {}
    views = (
        ("baseline", baseline),
        ("csm", view_of(csm)),
        ("director", view_of(DIRECTOR)),
        ("metrics", metrics_alone),
        ("director, figures kept", view_of(DIRECTOR, kept)),
    )
    for name, fn in views:
        ms, count = timed(fn, statements, runs)
        blocks = len(fn()["blocks"]) if name.startswith(("csm", "director")) else 0
        out[name] = (ms, count, blocks)
    engine.dispose()
    return out


def main() -> None:
    parser = common.size_parser(__doc__, backends="sqlite")
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--unsettled", action="store_true", help="measure without settling the heap first")
    args = parser.parse_args()
    backends = args.backends.split(",")
    results: dict[tuple[str, int], dict[str, tuple[float, int, int]]] = {}
    with common.databases(backends) as (server, tmp):
        for n in args.accounts:
            for backend in backends:
                url = common.database_url(backend, server, tmp, f"home_{n}")
                t0 = time.perf_counter()
                build(url, n)
                print(
                    f"{backend:10s} {n:>6,} accounts loaded in {time.perf_counter() - t0:.1f} s",
                    flush=True,
                )
                results[(backend, n)] = m = measure(url, args.runs, settle=not args.unsettled)
                base = m["baseline"][0]
                for name in ("baseline", "csm", "director", "metrics", "director, figures kept"):
                    ms, count, blocks = m[name]
                    extra = f", x{ms / base:.0f} the baseline" if name != "baseline" else ""
                    extra += f", {blocks} blocks" if blocks else ""
                    if name == "metrics":
                        extra += " (the desk's figures, compute_metrics alone: inside the director's time)"
                    if name == "director, figures kept":
                        extra += " (opened again, no write since: the app's FigureCache)"
                    print(f"  {name:22s} {ms:8.2f} ms  {count:3d} statements{extra}", flush=True)

    print("\nbackend    accounts                   view   median ms  statements  target")
    for (backend, n), m in results.items():
        for name, target in (("csm", 50.0), ("director", 300.0), ("director, figures kept", 300.0)):
            ms, count, _ = m[name]
            verdict = "ok" if ms < target else "OVER TARGET"
            note = verdict if backend == "sqlite" else "(target is for SQLite)"
            print(f"{backend:10s} {n:>8,} {name:>22s} {ms:11.2f} {count:11d}  < {target:.0f} ms {note}")
    for backend in backends:
        for name in ("csm", "director"):
            counts = common.constancy(m[name][1] for (b, _), m in results.items() if b == backend)
            print(f"{backend}: {name} statements at {sorted(args.accounts)} accounts: {counts}")


if __name__ == "__main__":
    main()
