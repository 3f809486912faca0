"""Outbox delivery throughput against the fake Slack, with its baseline.

    .venv/bin/python bench/outbox.py [--messages 1000] [--channels 100] [--postgres]

Prints, for the same number of messages in the same run:
  baseline  bare chat.postMessage calls from one WebClient, one after another;
  worker    the OutboxWorker thread delivering queued rows (claim, pace, post,
            record), no failures;
  429s      the same with 10 % of chat.postMessage answered 429 Retry-After: 1
            (retried by the worker after the wait);
  outage    the same number of pages (rows of open escalations, one per channel)
            while Slack answers 500 to everything for 12 minutes of a simulated
            clock (deliver_due driven by a ManualClock, one second per idle
            round): messages lost, messages doubled, and the simulated time from
            Slack's recovery to the last post (targets: 0, 0, under 60 s);
and the time the worker adds per message over the bare call (and the ratio).
Messages are spread over channels so Slack's per-channel pacing (1/s, burst 10)
is not what is measured; SQLite in WAL mode unless --postgres.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from slack_sdk import WebClient  # noqa: E402
from sqlalchemy.engine import Engine  # noqa: E402
from sqlmodel import select  # noqa: E402

from bot.clock import ManualClock, SystemClock  # noqa: E402
from bot.delivery.outbox import NORMAL, URGENT, enqueue  # noqa: E402
from bot.playground.fake_slack import FakeSlack, _parse_body  # noqa: E402
from jobs.outbox import OutboxWorker, deliver_due  # noqa: E402
from models.db import make_engine, session_scope  # noqa: E402
from models.migrate import upgrade  # noqa: E402
from models.tables import Account, Escalation, Outbox  # noqa: E402

TOKEN = "xoxb-bench"


def fresh_fake(channels: int) -> FakeSlack:
    fake = FakeSlack(bot_token=TOKEN).start()
    for i in range(channels):
        fake.add_channel(f"CB{i:04d}", name=f"bench-{i}")
    return fake


def client_for(fake: FakeSlack) -> WebClient:
    return WebClient(token=TOKEN, base_url=fake.api_url, timeout=10, retry_handlers=[])  # as the worker


def baseline(messages: int, channels: int) -> float:
    fake = fresh_fake(channels)
    client = client_for(fake)
    try:
        start = time.perf_counter()
        for i in range(messages):
            client.chat_postMessage(
                channel=f"CB{i % channels:04d}",
                text=f"message {i}",
                metadata={"event_type": "csbot_outbox", "event_payload": {"key": f"bench:{i}"}},
            )
        return time.perf_counter() - start
    finally:
        fake.stop()


def inject_429s(fake: FakeSlack, share: float, seed: int = 1) -> list[int]:
    """Answer `share` of chat.postMessage calls with 429 Retry-After: 1."""
    rng = random.Random(seed)
    original = fake._handle_api
    count = [0]
    lock = threading.Lock()

    def handle(handler: Any, method: str, query: str, raw: bytes, headers: Any) -> None:
        if method == "chat.postMessage":
            _parse_body(headers.get("Content-Type", ""), raw)
            with lock:
                if rng.random() < share:
                    count[0] += 1
                    fake.fail("chat.postMessage", status=429, retry_after=1)
        original(handler, method, query, raw, headers)

    fake._handle_api = handle  # type: ignore[method-assign]
    return count


def with_worker(engine: Engine, messages: int, channels: int, share_429: float) -> tuple[float, int]:
    fake = fresh_fake(channels)
    limited = inject_429s(fake, share_429) if share_429 else [0]
    clock = SystemClock()
    with session_scope(engine) as s:
        for i in range(messages):
            channel = f"CB{i % channels:04d}"
            enqueue(
                s, clock, key=f"bench:{share_429}:{i}", text=f"message {i}", channel=channel, priority=NORMAL
            )
    wakeup = threading.Event()
    worker = OutboxWorker(engine, client_for(fake), clock, wakeup=wakeup)
    try:
        start = time.perf_counter()
        worker.start()
        wakeup.set()
        total = lambda: sum(len(fake.messages.get(f"CB{c:04d}", [])) for c in range(channels))  # noqa: E731
        if not fake.wait_for(lambda: total() >= messages, timeout=170):
            raise SystemExit(f"only {total()} of {messages} delivered in time")
        elapsed = time.perf_counter() - start
    finally:
        worker.stop()
        fake.stop()
    posted = len([c for c in fake.calls if c.method == "chat.postMessage" and c.status == 200])
    if posted != messages:
        raise SystemExit(f"{posted} posts for {messages} messages: something was posted twice")
    return elapsed, limited[0]


def with_outage(engine: Engine, messages: int, channels: int, minutes: float = 12) -> dict[str, float]:
    """Pages queued while Slack answers 500 to everything for `minutes` (simulated)."""
    from collections import Counter
    from datetime import UTC, datetime, timedelta

    fake = fresh_fake(channels)
    start = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
    clock = ManualClock(start)
    recovery = start + timedelta(minutes=minutes)
    with session_scope(engine) as s:
        account = Account(name="Bench", arr_cents=100, created_at=start, updated_at=start)
        s.add(account)
        s.flush()
        for c in range(channels):
            s.add(
                Escalation(
                    account_id=account.id,  # type: ignore[arg-type]
                    severity="sev1",
                    summary="bench",
                    owner_slack_id="UBENCH",
                    opened_by="UBENCH",
                    channel_id=f"CB{c:04d}",
                    opened_at=start,
                )
            )
        s.flush()
        ids = list(s.exec(select(Escalation.id).order_by(Escalation.id)))  # type: ignore[arg-type]
        for i in range(messages):
            enqueue(
                s,
                clock,
                key=f"bench:outage:{i}",
                text=f"page {i}",
                channel=f"CB{i % channels:04d}",
                priority=URGENT,
                escalation_id=ids[i % channels],
            )
    original = fake._handle_api

    def handle(handler: Any, method: str, query: str, raw: bytes, headers: Any) -> None:
        if clock.now() < recovery:
            fake.fail(method, status=500)
        original(handler, method, query, raw, headers)

    fake._handle_api = handle  # type: ignore[method-assign]
    client = client_for(fake)
    wall = time.perf_counter()
    try:
        deadline = recovery + timedelta(minutes=30)
        while clock.now() < deadline:
            if deliver_due(engine, client, clock, limit=100) == 0:
                with session_scope(engine) as s:
                    if s.exec(select(Outbox.id).where(Outbox.state == "pending").limit(1)).first() is None:
                        break
                clock.advance(seconds=1)
        with session_scope(engine) as s:
            sent = list(s.exec(select(Outbox.sent_at).where(Outbox.state == "sent")))
    finally:
        fake.stop()
    stored = Counter(
        m["metadata"]["event_payload"]["key"]
        for msgs in fake.messages.values()
        for m in msgs
        if m.get("metadata")
    )
    return {
        "lost": messages - len(stored),
        "doubled": sum(n - 1 for n in stored.values()),
        "not_sent": messages - len(sent),
        "recovery_to_last": (max(sent) - recovery).total_seconds() if sent else float("nan"),
        "wall": time.perf_counter() - wall,
        "failed_calls": len([c for c in fake.calls if c.status >= 500]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--channels", type=int, default=100)
    parser.add_argument("--postgres", action="store_true", help="use a throw-away PostgreSQL (tests/pg.py)")
    parser.add_argument("--no-outage", action="store_true", help="skip the outage row (about 2 min)")
    args = parser.parse_args()
    n, channels = args.messages, args.channels

    server = None
    if args.postgres:
        from tests.pg import start_postgres

        server = start_postgres()
        if server is None:
            raise SystemExit("no PostgreSQL binaries found")
        backend = "PostgreSQL"
    else:
        backend = "SQLite (WAL)"

    def fresh_engine(name: str) -> Engine:
        """A new database per scenario: pacing state must not carry over between them."""
        if server is not None:
            server.create_database(name)
            url = server.url(name)
        else:
            url = f"sqlite:///{tempfile.mkdtemp(prefix='csbot-bench-')}/{name}.db"
        engine = make_engine(url)
        upgrade(engine)
        return engine

    try:
        base = baseline(n, channels)
        engine = fresh_engine("bench_ok")
        worker, _ = with_worker(engine, n, channels, 0.0)
        engine.dispose()
        engine = fresh_engine("bench_429")
        limited, answered_429 = with_worker(engine, n, channels, 0.10)
        engine.dispose()
        outage = None
        if not args.no_outage:
            engine = fresh_engine("bench_outage")
            outage = with_outage(engine, n, channels)
            engine.dispose()
    finally:
        if server is not None:
            server.stop()

    def row(label: str, seconds: float, note: str = "") -> str:
        per = seconds / n * 1000
        return f"  {label:<38} {seconds:7.2f} s  {n / seconds:8.1f} msg/s  {per:6.2f} ms/msg{note}"

    print(f"Outbox bench: {n} messages over {channels} channels, {backend}, fake Slack on 127.0.0.1")
    print(row("baseline: bare chat.postMessage", base))
    print(row("worker: no failures", worker))
    print(
        row(
            "worker: 10 % 429 (Retry-After: 1)", limited, f"  ({answered_429} answered 429; each posted once)"
        )
    )
    if outage is not None:
        print(
            f"  {'outage: 12 min of 500s (simulated)':<38} lost {outage['lost']:.0f}, "
            f"doubled {outage['doubled']:.0f}, "
            f"last post {outage['recovery_to_last']:.0f} s after recovery "
            f"({outage['failed_calls']:.0f} calls answered 500; {outage['wall']:.1f} s of real time)"
        )
    added = (worker - base) / n * 1000
    print(
        f"  the worker adds {added:.2f} ms per message over the bare call "
        f"(worker/baseline = {worker / base:.2f}x)"
    )


if __name__ == "__main__":
    main()
