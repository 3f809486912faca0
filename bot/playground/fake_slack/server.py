"""A fake Slack Web API server for tests (PRODUCT.md §8).

Why a real HTTP server rather than mocks: the bot talks to Slack through slack_sdk's
``WebClient``; pointing its ``base_url`` (``SLACK_API_URL``) at this server exercises the
real client code path (encoding, headers, retries, error handling) while keeping every
test on 127.0.0.1.

The fake records every call, answers with Slack's JSON shapes, can be told to fail
(HTTP 429 with Retry-After, 5xx, ``{"ok": false}`` errors, hung requests), rejects what
Slack rejects (Block Kit limits, missing/wrong token, unknown channel) and serves
``response_url`` endpoints.  Only the standard library is used.

Typical use::

    with FakeSlack() as fake:
        fake.add_channel("C1", name="general")
        client = WebClient(token=fake.bot_token, base_url=fake.api_url)
        client.chat_postMessage(channel="C1", text="hi")
        assert fake.messages_in("C1")[0]["text"] == "hi"
"""

from __future__ import annotations

import copy
import threading
import uuid
from collections.abc import Callable
from typing import Any

# --------------------------------------------------------------------------- the fake
from bot.playground.fake_slack.common import (
    _FIRST_TS_MICROS,
    RESPONSE_URL_MAX_USES,
    Call,
    ResponseCall,
    _Rule,
    _SlackError,
)
from bot.playground.fake_slack.http import _Server
from bot.playground.fake_slack.methods import Methods
from bot.playground.fake_slack.store import Store
from bot.playground.fake_slack.transport import Transport
from bot.slack.scopes import BOT_SCOPES


class FakeSlack(Transport, Store, Methods):
    """In-process fake of the Slack Web API, served over HTTP on 127.0.0.1.

    All recorded state is guarded by one re-entrant lock; :meth:`wait_for` waits on a
    condition notified whenever a call or response_url POST is recorded, so tests can wait
    for a background thread's post without sleeping.
    """

    def __init__(
        self,
        bot_token: str = "xoxb-test-token",
        bot_user_id: str = "UBOT",
        team_id: str = "T0001",
        *,
        scopes: set[str] | None = None,
        app_token: str = "xapp-1-test-token",
    ):
        self.bot_token = bot_token
        # The bot token's scopes (sent in `x-oauth-scopes`; a method needing another
        # answers missing_scope). Default: what manifest.yml asks for.
        self.scopes: set[str] = set(BOT_SCOPES) if scopes is None else set(scopes)
        # The app-level token apps.connections.open accepts (Socket Mode), and
        # whether it carries connections:write.
        self.app_token = app_token
        self.app_token_can_connect = True
        self.bot_user_id = bot_user_id
        self.team_id = team_id
        self.bot_id = "B" + bot_user_id.lstrip("UW")
        self.app_id = "A0FAKEAPP"
        self._lock = threading.RLock()
        self._cond = threading.Condition(self._lock)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._ts_micros = _FIRST_TS_MICROS - 100
        self._seq = 0
        # directory (survives reset)
        self.users: dict[str, dict[str, Any]] = {}
        self.channels: dict[str, dict[str, Any]] = {}
        self._dms: dict[str, list[str]] = {}  # D…/G… id -> member user ids
        # recorded state (cleared by reset)
        self.calls: list[Call] = []
        self.messages: dict[str, list[dict[str, Any]]] = {}
        self.ephemerals: list[dict[str, Any]] = []
        self.responses: list[ResponseCall] = []
        self.views: dict[str, dict[str, Any]] = {}
        self.home_tabs: dict[str, dict[str, Any]] = {}
        self.files: dict[str, dict[str, Any]] = {}
        self._rules: list[_Rule] = []
        self._hung: list[threading.Event] = []
        self._response_urls: dict[str, int] = {}  # uuid -> uses left
        self.add_user(bot_user_id, name="csbot", is_bot=True)

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> FakeSlack:
        """Bind an ephemeral port on 127.0.0.1 and serve in a daemon thread."""
        if self._server is None:
            self._server = _Server(self)
            self._thread = threading.Thread(
                target=self._server.serve_forever,
                kwargs={"poll_interval": 0.02},
                daemon=True,
                name="fake-slack",
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        """Release hung requests and shut the server down."""
        self.release_hangs()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> FakeSlack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT`` (only valid after :meth:`start`)."""
        if self._server is None:
            raise RuntimeError("FakeSlack is not started")
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def api_url(self) -> str:
        """Web API base with trailing slash: what ``SLACK_API_URL`` / ``WebClient(base_url=)`` take."""
        return self.base_url + "/api/"

    def reset(self) -> None:
        """Forget calls, posts, views, files and failure rules; keep users, channels and DMs."""
        self.release_hangs()
        with self._lock:
            self.calls.clear()
            self.messages.clear()
            self.ephemerals.clear()
            self.responses.clear()
            self.views.clear()
            self.home_tabs.clear()
            self.files.clear()
            self._rules.clear()

    # ------------------------------------------------------------------ directory

    def add_user(
        self,
        user_id: str,
        *,
        name: str | None = None,
        email: str | None = None,
        tz: str = "America/New_York",
        is_bot: bool = False,
    ) -> None:
        """Make ``user_id`` known to users.info / lookupByEmail / DMs."""
        with self._lock:
            self.users[user_id] = {
                "id": user_id,
                "name": name or user_id.lower(),
                "email": email,
                "tz": tz,
                "is_bot": is_bot,
            }

    def add_channel(
        self,
        channel_id: str,
        *,
        name: str | None = None,
        members: set[str] | None = None,
        bot_is_member: bool = True,
        private: bool = False,
    ) -> None:
        """Make a channel known.  ``members=None`` means membership isn't modelled (anyone is in).
        A ``private`` channel the bot is not in answers ``channel_not_found``, as Slack does."""
        with self._lock:
            self.channels[channel_id] = {
                "id": channel_id,
                "name": name or channel_id.lower(),
                "members": set(members) if members is not None else None,
                "bot_is_member": bot_is_member,
                "private": private,
            }

    def invite_bot(self, channel_id: str) -> None:
        """Someone ran `/invite @csbot` in the channel."""
        with self._lock:
            self.channels[channel_id]["bot_is_member"] = True

    def add_message(
        self,
        channel: str,
        text: str = "",
        *,
        user: str,
        thread_ts: str | None = None,
        blocks: list[dict[str, Any]] | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> str:
        """Seed a message from a person (as if typed in Slack) and return its ts."""
        with self._cond:
            try:
                cid = self._resolve_channel(channel)
            except _SlackError:
                raise KeyError(f"unknown channel {channel!r}: add_channel() or add_user() first") from None
            msg: dict[str, Any] = {"type": "message", "user": user, "text": text, "team": self.team_id}
            if blocks is not None:
                msg["blocks"] = blocks
            if metadata is not None:
                msg["metadata"] = metadata
            ts = self._store(cid, msg, thread_ts)
            self._cond.notify_all()
            return ts

    def dm_channel_id(self, user_id: str) -> str:
        """The stable D… id conversations.open returns for ``user_id``."""
        return "D" + user_id[1:]

    # ------------------------------------------------------------------ queries

    def calls_to(self, method: str) -> list[Call]:
        """Calls of one Web API method, in order."""
        with self._lock:
            return [c for c in self.calls if c.method == method]

    def messages_in(self, channel: str, thread_ts: str | None = None) -> list[dict[str, Any]]:
        """Copies of stored messages, oldest first.

        Without ``thread_ts``: every message in the channel (thread replies included).
        With it: the thread's parent then its replies.  A user id means the DM with them.
        """
        with self._lock:
            cid = channel
            if channel in self.users:
                cid = self.dm_channel_id(channel)
            elif channel not in self.messages:
                for c in self.channels.values():
                    if c["name"] == channel.lstrip("#"):
                        cid = c["id"]
            msgs = self.messages.get(cid, [])
            if thread_ts is not None:
                msgs = [m for m in msgs if m["ts"] == thread_ts or m.get("thread_ts") == thread_ts]
            return copy.deepcopy(msgs)

    def response_url(self) -> str:
        """A fresh response_url; POSTs to it are recorded in :attr:`responses` (5 uses, like Slack)."""
        token = uuid.uuid4().hex
        with self._lock:
            self._response_urls[token] = RESPONSE_URL_MAX_USES
        return f"{self.base_url}/response/{token}"

    # ------------------------------------------------------------------ failures

    def fail(
        self,
        method: str,
        *,
        status: int = 500,
        error: str | None = None,
        retry_after: int | None = None,
        times: int = 1,
        hang: bool = False,
        drop: bool = False,
        late: bool = False,
    ) -> None:
        """Make the next ``times`` calls of ``method`` fail.

        ``method`` may also be ``"*"`` (any Web API method), ``"response_url"`` or ``"upload"``
        (the URL files.getUploadURLExternal hands out).  ``error`` answers HTTP 200
        ``{"ok": false, "error": error}``; otherwise HTTP ``status`` (429 carries Retry-After);
        ``hang`` holds the request until :meth:`release_hangs` or the client disconnects.
        ``drop`` does what Slack would (a post is stored) and then closes the connection
        without an answer; ``late`` holds the request past the client's timeout and does
        the work only when :meth:`release_hangs` is called (Slack answering late).
        """
        if times < 1:
            raise ValueError("times must be >= 1")
        with self._lock:
            self._rules.append(_Rule(method, status, error, retry_after, times, hang, drop=drop, late=late))

    def release_hangs(self) -> None:
        """Let every currently hung request end (closed without an answer)."""
        with self._lock:
            hung, self._hung = self._hung, []
        for ev in hung:
            ev.set()

    @property
    def hanging(self) -> int:
        """How many requests are being held right now."""
        with self._lock:
            return len(self._hung)

    def wait_for(self, predicate: Callable[[], Any], timeout: float = 5.0) -> bool:
        """Block until ``predicate()`` is truthy (re-checked on every recorded call); False on timeout."""
        with self._cond:
            return bool(self._cond.wait_for(predicate, timeout))

    # ------------------------------------------------------------------ HTTP entry point
