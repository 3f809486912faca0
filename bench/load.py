"""A small closed-loop load generator for signed Slack requests: N client
threads on keep-alive connections, latency percentiles and throughput."""

from __future__ import annotations

import http.client
import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from tests.signing import signature


@dataclass
class LoadResult:
    latencies_ms: list[float]
    seconds: float
    errors: int = 0

    def pct(self, p: float) -> float:
        data = sorted(self.latencies_ms)
        return data[min(len(data) - 1, int(round(p / 100 * (len(data) - 1))))]

    @property
    def rps(self) -> float:
        return len(self.latencies_ms) / self.seconds if self.seconds else 0.0

    def line(self, label: str) -> str:
        return (
            f"{label:<34} p50 {self.pct(50):6.2f} ms  p95 {self.pct(95):6.2f} ms  "
            f"p99 {self.pct(99):6.2f} ms  {self.rps:8.0f} req/s  errors {self.errors}"
        )


def run_load(
    port: int,
    secret: str,
    make_body: Callable[[int], str],
    *,
    requests: int,
    concurrency: int,
    path: str = "/slack/events",
) -> LoadResult:
    """Send `requests` signed form posts with `concurrency` threads."""
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    counter = iter(range(requests))

    def worker() -> None:
        nonlocal errors
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine: list[float] = []
        bad = 0
        while True:
            with lock:
                i = next(counter, None)
            if i is None:
                break
            body = make_body(i)
            ts = int(time.time())
            headers = {
                "Content-Type": "application/x-www-form-urlencoded",
                "X-Slack-Request-Timestamp": str(ts),
                "X-Slack-Signature": signature(secret, ts, body),
            }
            started = time.perf_counter()
            conn.request("POST", path, body=body.encode(), headers=headers)
            response = conn.getresponse()
            response.read()
            mine.append((time.perf_counter() - started) * 1000)
            if response.status != 200:
                bad += 1
        conn.close()
        with lock:
            latencies.extend(mine)
            errors += bad

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return LoadResult(latencies, time.perf_counter() - started, errors)


def median(values: list[float]) -> float:
    return statistics.median(values)
