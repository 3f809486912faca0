"""`/cs log` latency over HTTP, against a minimal Bolt app measured in the same run.

    python bench/log_latency.py [--requests 2000] [--backends sqlite,postgresql] [--concurrency 1,8]

For each database (SQLite in WAL mode; a throw-away PostgreSQL started the way
the tests start it) the script loads a 10,000-account portfolio and serves two
apps on the same uvicorn + Starlette front door (bot.slack.web.build_asgi):

- csbot: the real app (build_app), `/cs log <account> call yesterday <note> #tag +`
  (parse, match against 10,000 names, the user's zone, touchpoint + audit rows,
  confirmation blocks with Undo), answered in the ack;
- baseline: a minimal Bolt app that acks, looks one account up by name,
  inserts one row and replies.

Signed slash-command requests go over HTTP at concurrency 1 and 8; it prints
p50/p95/p99 in ms, requests/s, and csbot/baseline ratios. Targets (PRODUCT.md §9):
csbot within 2x of the baseline at p50 and requests/s, p99 < 25 ms at c=8.
Slack itself is the fake Web API (only users.info is used, once per user).
"""

from __future__ import annotations

import argparse
import http.client
import logging
import random
import shutil
import socket
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from slack_bolt import Ack, App  # noqa: E402
from slack_sdk import WebClient  # noqa: E402
from sqlalchemy import insert, select  # noqa: E402
from sqlalchemy.engine import Engine  # noqa: E402

from bench.load import LoadResult as Result  # noqa: E402
from bench.servers import add_serve_arguments, start_server  # noqa: E402
from bot.app import build_app  # noqa: E402
from bot.clock import SystemClock  # noqa: E402
from bot.playground.fake_slack import FakeSlack  # noqa: E402
from bot.settings import Secret, Settings  # noqa: E402
from bot.slack.web import build_asgi  # noqa: E402
from models.db import make_engine  # noqa: E402
from models.migrate import upgrade  # noqa: E402
from models.tables import Account, Touchpoint  # noqa: E402
from tests.pg import start_postgres  # noqa: E402
from tests.signing import SlackSender, signature  # noqa: E402

SECRET = "bench-signing-secret-0123456789ab"
SELF = [sys.executable, str(Path(__file__).resolve())]  # how the bench starts its servers
TOKEN = "xoxb-bench"
N_ACCOUNTS = 10_000
USERS = {"UCSM1": "America/New_York", "UCSM2": "Europe/Paris", "UCSM3": "Asia/Tokyo", "UCSM4": "UTC"}
WORDS_A = [
    "Northwind",
    "Globex",
    "Initech",
    "Umbrella",
    "Stark",
    "Wayne",
    "Acme",
    "Hooli",
    "Vandelay",
    "Soylent",
    "Cyberdyne",
    "Tyrell",
    "Wonka",
    "Gringotts",
    "Oscorp",
    "Aperture",
    "Massive",
    "Pied",
    "Dunder",
    "Gekko",
]
WORDS_B = [
    "Analytics",
    "Health",
    "Robotics",
    "Foods",
    "Logistics",
    "Media",
    "Capital",
    "Systems",
    "Labs",
    "Energy",
]


def account_names() -> list[str]:
    """10,000 distinct multi-word names such as 'Globex Health 0042'."""
    return [f"{WORDS_A[i % 20]} {WORDS_B[(i // 20) % 10]} {i:05d}" for i in range(N_ACCOUNTS)]


def seed(engine: Engine) -> list[str]:
    upgrade(engine)
    names = account_names()
    now = datetime.now(UTC)
    rows = [
        {"name": n, "arr_cents": 10_000_000 + i, "segment": "smb", "created_at": now, "updated_at": now}
        for i, n in enumerate(names)
    ]
    with engine.begin() as conn:
        conn.execute(insert(Account.__table__), rows)  # type: ignore[attr-defined]
    return names


def baseline_app(engine: Engine, client: WebClient) -> App:
    """Acks, looks one account up by name, inserts one row, replies."""
    app = App(
        client=client,
        signing_secret=SECRET,
        process_before_response=True,
        token_verification_enabled=False,
        logger=logging.getLogger("bench.baseline"),
    )
    table = Touchpoint.__table__  # type: ignore[attr-defined]

    @app.command("/cs")
    def log_it(ack: Ack, body: dict[str, Any]) -> None:
        words = body["text"].split()[1:]
        cut = words.index("call")
        name, note = " ".join(words[:cut]), " ".join(words[cut + 1 :])
        now = datetime.now(UTC)
        with engine.begin() as conn:
            account_id = conn.execute(select(Account.id).where(Account.name == name)).scalar_one()
            conn.execute(
                insert(table).values(
                    account_id=account_id,
                    author_slack_id=body["user_id"],
                    type="call",
                    occurred_at=now,
                    note=note,
                    sentiment=1,
                    tags=["bench"],
                    created_at=now,
                )
            )
        ack(text=f"Logged a call with {name}", response_type="ephemeral")

    return app


def serve(variant: str, port: int, db_url: str, api_url: str) -> None:
    """One server process, run by uvicorn the way `csbot run` runs it."""
    import uvicorn

    logging.getLogger("csbot.requests").setLevel(logging.WARNING)
    engine = make_engine(db_url)
    if variant == "csbot":
        settings = Settings(
            slack_bot_token=Secret(TOKEN),
            slack_signing_secret=Secret(SECRET),
            database_url=db_url,
            slack_api_url=api_url,
            tz="UTC",
            scheduler_enabled=False,
        )
        app, _deps = build_app(settings, engine, SystemClock())
    else:
        app = baseline_app(engine, WebClient(token=TOKEN, base_url=api_url))
    uvicorn.run(build_asgi(app), host="127.0.0.1", port=port, log_level="error", access_log=False)


def load(port: int, names: list[str], n: int, concurrency: int, expect: str, seed: int = 0) -> Result:
    """n signed `/cs log` commands over `concurrency` keep-alive connections
    (closed loop); bodies are built and signed before the clock starts."""
    per_thread = [n // concurrency + (1 if i < n % concurrency else 0) for i in range(concurrency)]
    latencies: list[list[float]] = [[] for _ in range(concurrency)]
    errors: list[str] = []
    gate = threading.Barrier(concurrency + 1)
    users = list(USERS)
    maker = SlackSender("unused", SECRET)

    def worker(idx: int) -> None:
        rnd = random.Random(seed * 1000 + idx)
        ts = int(time.time())
        prepared = []
        for k in range(per_thread[idx]):
            text = f"log {rnd.choice(names)} call yesterday talked through the renewal quote #bench +"
            body = maker.command_body(text, user_id=users[(idx + k) % len(users)])
            headers = {
                "Content-Type": "application/x-www-form-urlencoded",
                "X-Slack-Request-Timestamp": str(ts),
                "X-Slack-Signature": signature(SECRET, ts, body),
            }
            prepared.append((body.encode(), headers))
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.connect()
        conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        gate.wait()
        for body, headers in prepared:
            t0 = time.perf_counter()
            conn.request("POST", "/slack/events", body=body, headers=headers)
            response = conn.getresponse()
            data = response.read()
            latencies[idx].append((time.perf_counter() - t0) * 1000)
            if response.status != 200 or expect.encode() not in data:
                errors.append(f"{response.status}: {data[:300]!r}")
        conn.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(concurrency)]
    for t in threads:
        t.start()
    gate.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    maker.close()
    if errors:
        raise RuntimeError(f"{len(errors)} bad answers, first: {errors[0]}")
    return Result([x for lat in latencies for x in lat], elapsed)


EXPECT = {"csbot": ":white_check_mark: Logged", "baseline": "Logged a call with"}


def run_backend(label: str, url: str, fake: FakeSlack, n: int, levels: list[int]) -> list[tuple[Any, ...]]:
    engine = make_engine(url)
    names = seed(engine)
    engine.dispose()
    servers = {
        v: start_server(SELF, v, url, fake.api_url, cwd=ROOT, seconds=60) for v in ("baseline", "csbot")
    }
    rows = []
    try:
        for variant, (_, port) in servers.items():
            load(port, names, 400, 2, EXPECT[variant])  # warm-up: pools, caches, users.info once per user
        for c in levels:
            # Interleave the two apps so that noise from the shared machine hits both alike.
            res: dict[str, list[Result]] = {"baseline": [], "csbot": []}
            for rnd in range(2):
                for variant, (_, port) in servers.items():
                    res[variant].append(load(port, names, n // 2, c, EXPECT[variant], seed=rnd + 1))
            merged = {
                k: Result([x for r in v for x in r.latencies_ms], sum(r.seconds for r in v))
                for k, v in res.items()
            }
            rows.append((label, c, merged["baseline"], merged["csbot"]))
    finally:
        for proc, _ in servers.values():
            proc.terminate()
            proc.wait(timeout=10)
    users_info = len(fake.calls_to("users.info"))
    print(
        f"[{label}] users.info calls during the whole run: {users_info} (for {len(USERS)} users)", flush=True
    )
    fake.reset()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=2000, help="per app, per concurrency level")
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--concurrency", default="1,8")
    add_serve_arguments(parser)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.port, args.db, args.api)
        return
    levels = [int(c) for c in args.concurrency.split(",")]
    logging.getLogger("csbot.requests").setLevel(logging.WARNING)

    fake = FakeSlack(bot_token=TOKEN).start()
    for uid, tz in USERS.items():
        fake.add_user(uid, name=uid.lower(), email=f"{uid.lower()}@example.com", tz=tz)
    rows: list[tuple[Any, ...]] = []
    tmp = Path(tempfile.mkdtemp(prefix="csbot-bench-"))
    pg = None
    try:
        for backend in args.backends.split(","):
            if backend == "sqlite":
                rows += run_backend("sqlite", f"sqlite:///{tmp / 'bench.db'}", fake, args.requests, levels)
            elif backend == "postgresql":
                pg = start_postgres()
                if pg is None:
                    print("[postgresql] skipped: no PostgreSQL binaries (initdb, pg_ctl) found")
                    continue
                pg.create_database("csbot_bench")
                rows += run_backend("postgresql", pg.url("csbot_bench"), fake, args.requests, levels)
    finally:
        fake.stop()
        if pg is not None:
            pg.stop()
        shutil.rmtree(tmp, ignore_errors=True)

    print()
    print(f"/cs log over HTTP, {N_ACCOUNTS:,} accounts, {args.requests} requests per app per row")
    head = f"{'db':<11}{'c':>3}  {'app':<9}{'p50 ms':>8}{'p95 ms':>8}{'p99 ms':>8}{'req/s':>9}"
    print(head)
    print("-" * len(head))
    verdicts = []
    for label, c, b, s in rows:
        for app_name, r in (("baseline", b), ("csbot", s)):
            cells = f"{r.pct(50):>8.2f}{r.pct(95):>8.2f}{r.pct(99):>8.2f}{r.rps:>9.0f}"
            print(f"{label:<11}{c:>3}  {app_name:<9}{cells}")
        p50_ratio, rps_ratio = s.pct(50) / b.pct(50), b.rps / s.rps
        print(
            f"{'':<14}ratio    p50 {p50_ratio:.2f}x  p99 {s.pct(99) / b.pct(99):.2f}x  "
            f"req/s {s.rps / b.rps:.2f} of baseline  (mean {statistics.fmean(s.latencies_ms):.2f} ms vs "
            f"{statistics.fmean(b.latencies_ms):.2f} ms)"
        )
        ok = p50_ratio <= 2 and rps_ratio <= 2 and (c != 8 or s.pct(99) < 25)
        verdicts.append(f"{label} c={c}: {'meets' if ok else 'MISSES'} the target")
    print()
    print("Target: csbot p50 and req/s within 2x of the baseline; p99 < 25 ms at c=8.")
    for v in verdicts:
        print("  " + v)


if __name__ == "__main__":
    main()
