"""Slack redelivers a request it thinks was not acked (X-Slack-Retry-Num,
up to 3 times). A redelivery of something we already received must not run a
handler again: remember what we saw and answer the retry with an empty 200."""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from slack_bolt import BoltRequest, BoltResponse


def delivery_key(body: dict[str, Any], raw_body: str) -> str:
    """What stays the same across redeliveries: event_id, trigger_id, or the body."""
    for name in ("event_id", "trigger_id"):
        value = body.get(name)
        if value:
            return f"{name}:{value}"
    return "body:" + hashlib.sha256(raw_body.encode()).hexdigest()


class RedeliveryFilter:
    def __init__(self, capacity: int = 50_000) -> None:
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._capacity = capacity
        self._lock = threading.Lock()
        self.skipped = 0

    def first_time(self, key: str) -> bool:
        with self._lock:
            if key in self._seen:
                self._seen.move_to_end(key)
                return False
            self._seen[key] = None
            if len(self._seen) > self._capacity:
                self._seen.popitem(last=False)
            return True

    def __call__(
        self, req: BoltRequest, resp: BoltResponse, next: Callable[[], BoltResponse]
    ) -> BoltResponse:
        key = delivery_key(req.body, req.raw_body)
        is_new = self.first_time(key)
        retry = req.headers.get("x-slack-retry-num")
        if retry and not is_new:
            self.skipped += 1
            req.context["redelivery_skipped"] = True
            return BoltResponse(status=200, body="", headers={"x-slack-no-retries": "1"})
        return next()
