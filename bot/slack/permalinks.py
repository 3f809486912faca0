"""Links to messages the bot posted, without a Web API call per link.

`/cs escalations` lists up to twenty threads; a chat.getPermalink for each, in
turn, before the answer, misses the ack budget at real Slack latency. A top-level
message's permalink is the workspace URL (auth.test `url`, asked once per process)
+ `archives/<channel>/p<ts without the dot>`, and the Outbox worker records the
channel and ts of every message it posts."""

from __future__ import annotations

import logging
import threading

from slack_sdk import WebClient

log = logging.getLogger(__name__)


def build_permalink(workspace_url: str, channel: str, ts: str) -> str:
    """What chat.getPermalink answers for a top-level message."""
    return f"{workspace_url.rstrip('/')}/archives/{channel}/p{ts.replace('.', '')}"


class WorkspaceUrl:
    """The workspace's URL, asked of auth.test once per process (again after a failure)."""

    def __init__(self, url: str | None = None) -> None:
        self._url = url
        self._lock = threading.Lock()

    def set(self, url: str | None) -> None:
        if url:
            with self._lock:
                self._url = url

    def get(self, client: WebClient) -> str | None:
        with self._lock:
            if self._url is None:
                try:
                    self._url = client.auth_test().get("url") or None
                except Exception:  # no link is better than no list
                    log.warning("auth.test failed: escalation links are left out", exc_info=True)
            return self._url
