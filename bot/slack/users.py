"""People's Slack time zones (users.info `tz`), cached in memory.

Dates people type ("yesterday", "tue") and dates we show are in the user's own
zone. Asking Slack on every command would put a Web API call before the ack, so
each user's zone is kept for `ttl_seconds`; a failed lookup falls back to the
team zone (CSBOT_TZ) and is retried sooner."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

from bot.clock import time_zone

log = logging.getLogger(__name__)

Fetch = Callable[[str], "dict[str, Any] | None"]


class UserDirectory:
    """user id -> ZoneInfo, with a TTL. `fetch(user_id)` returns the users.info
    `user` object (or None); it is the only thing that talks to Slack."""

    def __init__(
        self,
        fetch: Fetch,
        default_tz: ZoneInfo,
        *,
        ttl_seconds: float = 6 * 3600,
        retry_seconds: float = 60,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetch = fetch
        self._default = default_tz
        self._ttl = ttl_seconds
        self._retry = retry_seconds
        self._monotonic = monotonic
        self._cache: dict[str, tuple[float, ZoneInfo]] = {}
        self._lock = threading.Lock()
        self._fetching: dict[str, threading.Lock] = {}
        self.fetches = 0

    def tz(self, user_id: str) -> ZoneInfo:
        now = self._monotonic()
        hit = self._cache.get(user_id)
        if hit is not None and hit[0] > now:
            return hit[1]
        with self._lock:
            gate = self._fetching.setdefault(user_id, threading.Lock())
        with gate:  # one users.info per user, however many requests arrive at once
            hit = self._cache.get(user_id)
            if hit is not None and hit[0] > now:
                return hit[1]
            zone, ok = self._lookup(user_id)
            self._cache[user_id] = (now + (self._ttl if ok else self._retry), zone)
        return zone

    def forget(self, user_id: str | None = None) -> None:
        """Drop one user (e.g. on a user_change event) or everyone."""
        with self._lock:
            if user_id is None:
                self._cache.clear()
            else:
                self._cache.pop(user_id, None)

    def _lookup(self, user_id: str) -> tuple[ZoneInfo, bool]:
        self.fetches += 1
        try:
            user = self._fetch(user_id)
        except Exception:  # Slack down: show team time rather than fail the command
            log.warning("users.info failed for %s; using the team time zone", user_id, exc_info=True)
            return self._default, False
        name = (user or {}).get("tz")
        if not name:
            return self._default, user is not None
        zone = time_zone(name)
        return (zone if zone is not None else self._default), True


def slack_fetch(client: Any) -> Fetch:
    """A fetch function over a slack_sdk WebClient."""

    def fetch(user_id: str) -> dict[str, Any] | None:
        response = client.users_info(user=user_id)
        return response.get("user")

    return fetch
