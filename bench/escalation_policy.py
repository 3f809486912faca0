"""Bench: the escalation policy job over a large history.

10,000 escalations (most resolved or acknowledged, some open and not yet due)
and N due ones, on SQLite (or DATABASE_URL). Prints the time of one policy run,
against a baseline measured in the same run: the due-selection query alone,
and the cost of simply inserting the same Outbox rows the pages need.

    python -m bench.escalation_policy [--due 200] [--total 10000]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert

from bot.clock import ManualClock
from bot.escalations.policy import default_policy, next_due
from jobs.escalation_policy import due_escalations, run_escalation_policy
from models.db import make_engine, session_scope
from models.migrate import upgrade
from models.tables import Account, Escalation, EscalationEvent, Member, Outbox

START = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)


def build(url: str, total: int, due: int) -> tuple[object, ManualClock]:
    engine = make_engine(url)
    upgrade(engine)
    clock = ManualClock(START)
    policy = default_policy("America/New_York")
    snap = policy.snapshot("sev1")
    with session_scope(engine) as s:
        s.add(Account(name="Acme", arr_cents=100, csm_slack_id="UCSM1", created_at=START, updated_at=START))
        s.add(
            Member(slack_id="UCSM1", role="csm", manager_slack_id="UDIR1", created_at=START, updated_at=START)
        )
        s.add(Member(slack_id="UDIR1", role="director", created_at=START, updated_at=START))
        s.add(Member(slack_id="UEXEC1", role="exec", created_at=START, updated_at=START))
    rows = []
    for i in range(total):
        opened = START - timedelta(minutes=20) if i < due else START - timedelta(days=i % 300)
        status = "open" if i < due else ("resolved" if i % 10 else "acknowledged")
        if i >= due and i % 50 == 0:
            status, opened = "open", START  # open, not due yet
        rows.append(
            dict(
                account_id=1,
                severity="sev1",
                summary=f"issue {i}",
                owner_slack_id="UCSM1",
                opened_by="UCSM2",
                status=status,
                level=0,
                channel_id="CESC",
                parent_key=f"esc:{i + 1}:parent",
                policy=snap,
                step=0,
                next_page_at=next_due(snap, opened) if status == "open" else None,
                opened_at=opened,
            )
        )
    with session_scope(engine) as s:
        s.execute(insert(Escalation), rows)
        s.execute(
            insert(EscalationEvent),
            [
                dict(escalation_id=i + 1, at=START, actor_slack_id="UCSM2", kind="opened", detail={})
                for i in range(total)
            ],
        )
    return engine, clock


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--due", type=int, default=200)
    parser.add_argument("--total", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = os.environ.get("DATABASE_URL") or f"sqlite:///{tmp}/bench.db"
        engine, clock = build(url, args.total, args.due)

        t0 = time.perf_counter()
        selected = due_escalations(engine, clock)  # type: ignore[arg-type]
        select_s = time.perf_counter() - t0

        t0 = time.perf_counter()
        with session_scope(engine) as s:  # type: ignore[arg-type]
            s.execute(
                insert(Outbox),
                [
                    dict(
                        key=f"baseline:{i}:{k}",
                        method="chat.postMessage",
                        channel="CESC",
                        payload={"text": "x"},
                        priority=0,
                        state="sent",
                        attempts=0,
                        next_attempt_at=START,
                        created_at=START,
                    )
                    for i in range(len(selected))
                    for k in range(3)
                ],
            )
        insert_s = time.perf_counter() - t0

        t0 = time.perf_counter()
        paged = run_escalation_policy(engine, clock)  # type: ignore[arg-type]
        run_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        again = run_escalation_policy(engine, clock)  # type: ignore[arg-type]
        rerun_s = time.perf_counter() - t0

    backend = url.split(":", 1)[0]
    per_page = run_s / max(len(selected), 1) * 1000
    print(f"escalation policy bench ({backend}): {args.total} escalations, {len(selected)} due")
    print(f"  baseline: select due                {select_s * 1000:8.1f} ms")
    print(f"  baseline: bulk-insert 3 rows per due {insert_s * 1000:7.1f} ms")
    print(f"  policy run (paged {paged})             {run_s * 1000:8.1f} ms", end="")
    print(f"  = {per_page:.2f} ms per page, {run_s / max(insert_s, 1e-9):.0f}x the bulk insert")
    print(f"  second run (paged {again})               {rerun_s * 1000:8.1f} ms", end="")
    print(f"  (nothing due: {rerun_s / max(select_s, 1e-9):.1f}x the select)")


if __name__ == "__main__":
    main()
