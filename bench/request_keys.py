"""What writing each request once costs: `/cs nps` (a write) dispatched through
the app with request keys (the key looked up, stored with the write, the answer
stored) against the same app with keys switched off, in the same run, rounds
interleaved. Signed requests into `app.dispatch` (no HTTP), SQLite file database,
the fake Slack for the Web API.

    .venv/bin/python -m bench.request_keys [--requests 400] [--rounds 5]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode

SECRET = "benchsecret12345"


def _body(i: int) -> str:
    return urlencode(
        {
            "command": "/cs",
            "text": f"nps Acme {i % 11} bench",
            "user_id": "UCSM1",
            "channel_id": "CGENERAL",
            "team_id": "T1",
            "trigger_id": f"{i}.{time.time_ns()}.trig",
            "response_url": "https://hooks.slack.invalid/x",
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    from slack_bolt import BoltRequest

    import bot.slack.once as once
    from bot.app import build_app
    from bot.clock import ManualClock
    from bot.playground.fake_slack import FakeSlack
    from bot.settings import Secret, Settings
    from models.db import make_engine, session_scope
    from models.migrate import upgrade
    from models.tables import Account
    from tests.signing import signature

    fake = FakeSlack(bot_token="xoxb-bench").start()
    fake.add_user("UCSM1", name="casey", email="c@example.com", tz="UTC")
    tmp = Path(tempfile.mkdtemp())
    url = f"sqlite:///{tmp / 'bench.db'}"
    engine = make_engine(url)
    upgrade(engine)
    clock = ManualClock(datetime(2026, 11, 20, 15, 0, tzinfo=UTC))
    with session_scope(engine) as s:
        s.add(Account(name="Acme", arr_cents=100, created_at=clock.now(), updated_at=clock.now()))
    settings = Settings(
        slack_bot_token=Secret("xoxb-bench"),
        slack_signing_secret=Secret(SECRET),
        database_url=url,
        slack_api_url=fake.api_url,
        scheduler_enabled=False,
    )
    app, deps = build_app(settings, engine, clock)
    keyed = once.request_key

    def run(with_keys: bool, start: int) -> list[float]:
        once.request_key = keyed if with_keys else (lambda body, headers: None)  # type: ignore[assignment]
        times = []
        for i in range(start, start + args.requests):
            body = _body(i)
            ts = int(time.time())
            headers = {
                "x-slack-request-timestamp": [str(ts)],
                "x-slack-signature": [signature(SECRET, ts, body)],
            }
            began = time.perf_counter()
            response = app.dispatch(BoltRequest(body=body, headers=headers))
            times.append((time.perf_counter() - began) * 1000)
            assert response.status == 200, response.body
        return times

    run(True, 0)  # warm up both paths
    run(False, 10**6)
    results: dict[bool, list[float]] = {True: [], False: []}
    for r in range(args.rounds):
        for with_keys in (False, True):
            results[with_keys] += run(with_keys, (r + 2) * 10**6 + (with_keys * 10**5))
    once.request_key = keyed  # type: ignore[assignment]
    deps.executor.shutdown(wait=True)  # work handed on after the acks (App Home refreshes)
    fake.stop()

    def q(xs: list[float], p: float) -> float:
        return statistics.quantiles(xs, n=100)[int(p) - 1]

    for label, with_keys in (("keys off (baseline)", False), ("keys on", True)):
        xs = results[with_keys]
        print(f"{label:20} n={len(xs)} p50={q(xs, 50):.2f} ms p99={q(xs, 99):.2f} ms")
    base, on = results[False], results[True]
    print(f"ratio keys on / off: p50 {q(on, 50) / q(base, 50):.2f}x, p99 {q(on, 99) / q(base, 99):.2f}x")


if __name__ == "__main__":
    main()
