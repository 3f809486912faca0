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

import base64
import copy
import email.parser
import email.policy
import hashlib
import json
import select
import socket
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = ["Call", "FakeSlack", "ResponseCall"]

# Fields Slack accepts as JSON-encoded strings in form posts; decoded so tests can inspect them.
_JSON_FIELDS = ("blocks", "metadata", "view", "attachments", "files", "outputs")

# Limits enforced by Slack (https://api.slack.com/reference/block-kit).
MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
MAX_TEXT_LEN = 40_000
MAX_SECTION_TEXT = 3000
MAX_SECTION_FIELDS = 10
MAX_FIELD_TEXT = 2000
MAX_HEADER_TEXT = 150
MAX_ACTIONS_ELEMENTS = 25
MAX_CONTEXT_ELEMENTS = 10
MAX_BUTTON_TEXT = 75
MAX_BUTTON_VALUE = 2000
MAX_ID_LEN = 255
MAX_VIEW_TITLE = 24
MAX_PRIVATE_METADATA = 3000
RESPONSE_URL_MAX_USES = 5

_BLOCK_TYPES = {
    "actions",
    "call",
    "context",
    "divider",
    "file",
    "header",
    "image",
    "input",
    "markdown",
    "rich_text",
    "section",
    "table",
    "video",
}

_FIRST_TS_MICROS = 1_700_000_000_000_100


@dataclass
class Call:
    """One Web API request as the fake saw it, and what it answered."""

    method: str
    args: dict[str, Any]
    token: str | None
    headers: dict[str, str]
    response: dict[str, Any]
    at: float
    status: int = 200  # HTTP status answered; 0 when the request was hung and closed unanswered


@dataclass
class ResponseCall:
    """One POST to a ``response_url`` handed out by :meth:`FakeSlack.response_url`."""

    url: str
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)
    status: int = 200
    at: float = 0.0


@dataclass
class _Rule:
    method: str
    status: int
    error: str | None
    retry_after: int | None
    remaining: int
    hang: bool


class _Headers(dict):
    """Request headers with lower-cased keys and case-insensitive lookup (urllib sends "Content-type")."""

    def __init__(self, items: Any = ()) -> None:
        super().__init__((str(k).lower(), v) for k, v in items)

    def __getitem__(self, key: str) -> str:
        return super().__getitem__(key.lower())

    def __contains__(self, key: object) -> bool:
        return super().__contains__(str(key).lower())

    def get(self, key: str, default: Any = None) -> Any:  # type: ignore[override]
        return super().get(key.lower(), default)


class _SlackError(Exception):
    """Raised by method handlers to answer ``{"ok": false, "error": ...}``."""

    def __init__(self, error: str, **extra: Any) -> None:
        super().__init__(error)
        self.error = error
        self.extra = extra


def _truthy(value: Any) -> bool:
    return value in (True, 1, "1", "true", "True", "TRUE")


def _ts_key(ts: Any) -> Decimal:
    try:
        return Decimal(str(ts))
    except InvalidOperation:
        raise _SlackError("invalid_ts_latest") from None


def _int_arg(args: dict[str, Any], name: str, default: int) -> int:
    value = args.get(name)
    if value in (None, ""):
        return default
    try:
        return int(value)
    except (TypeError, ValueError):
        raise _SlackError("invalid_arguments") from None


# --------------------------------------------------------------------------- Block Kit checks


def _text_errors(obj: Any, ptr: str, *, max_len: int, plain_only: bool = False) -> list[str]:
    if not isinstance(obj, dict):
        return [f"must provide an object [json-pointer:{ptr}]"]
    kind = obj.get("type")
    allowed = ("plain_text",) if plain_only else ("plain_text", "mrkdwn")
    if kind not in allowed:
        return [f"must be one of {list(allowed)} [json-pointer:{ptr}/type]"]
    text = obj.get("text")
    if not isinstance(text, str):
        return [f"must provide a string [json-pointer:{ptr}/text]"]
    if not text:
        return [f"must be more than 0 characters [json-pointer:{ptr}/text]"]
    if len(text) > max_len:
        return [f"must be less than {max_len + 1} characters [json-pointer:{ptr}/text]"]
    return []


def _element_errors(el: Any, ptr: str) -> list[str]:
    if not isinstance(el, dict) or not isinstance(el.get("type"), str):
        return [f"missing required field: type [json-pointer:{ptr}]"]
    errors: list[str] = []
    action_id = el.get("action_id")
    if action_id is not None and (not isinstance(action_id, str) or len(action_id) > MAX_ID_LEN):
        errors.append(f"must be less than {MAX_ID_LEN + 1} characters [json-pointer:{ptr}/action_id]")
    if el["type"] == "button":
        errors += _text_errors(el.get("text"), f"{ptr}/text", max_len=MAX_BUTTON_TEXT, plain_only=True)
        value = el.get("value")
        if value is not None and (not isinstance(value, str) or len(value) > MAX_BUTTON_VALUE):
            errors.append(f"must be less than {MAX_BUTTON_VALUE + 1} characters [json-pointer:{ptr}/value]")
        if el.get("style") not in (None, "primary", "danger"):
            errors.append(f"must be one of ['primary', 'danger'] [json-pointer:{ptr}/style]")
    for key, limit in (("options", 100), ("option_groups", 100)):
        opts = el.get(key)
        if opts is not None and (not isinstance(opts, list) or len(opts) > limit):
            errors.append(f"must be less than {limit + 1} items [json-pointer:{ptr}/{key}]")
    return errors


def _block_errors(blocks: Any, *, max_blocks: int, ptr: str = "/blocks") -> list[str]:
    """Return Slack-style error strings for ``blocks`` (empty when Slack would accept them)."""
    if not isinstance(blocks, list):
        return [f"must provide an array [json-pointer:{ptr}]"]
    errors: list[str] = []
    if len(blocks) > max_blocks:
        errors.append(f"must be less than {max_blocks + 1} items [json-pointer:{ptr}]")
    seen_ids: set[str] = set()
    for i, block in enumerate(blocks):
        bp = f"{ptr}/{i}"
        if not isinstance(block, dict) or not isinstance(block.get("type"), str):
            errors.append(f"missing required field: type [json-pointer:{bp}]")
            continue
        kind = block["type"]
        if kind not in _BLOCK_TYPES:
            errors.append(f"unsupported type: {kind} [json-pointer:{bp}/type]")
            continue
        block_id = block.get("block_id")
        if block_id is not None:
            if not isinstance(block_id, str) or len(block_id) > MAX_ID_LEN:
                errors.append(f"must be less than {MAX_ID_LEN + 1} characters [json-pointer:{bp}/block_id]")
            elif block_id in seen_ids:
                errors.append(f"duplicate block_id: {block_id} [json-pointer:{bp}/block_id]")
            else:
                seen_ids.add(block_id)
        if kind == "section":
            if "text" not in block and "fields" not in block:
                errors.append(f"must provide text or fields [json-pointer:{bp}]")
            if "text" in block:
                errors += _text_errors(block["text"], f"{bp}/text", max_len=MAX_SECTION_TEXT)
            if "fields" in block:
                fields = block["fields"]
                if not isinstance(fields, list) or len(fields) > MAX_SECTION_FIELDS:
                    errors.append(
                        f"must be less than {MAX_SECTION_FIELDS + 1} items [json-pointer:{bp}/fields]"
                    )
                else:
                    for j, f in enumerate(fields):
                        errors += _text_errors(f, f"{bp}/fields/{j}", max_len=MAX_FIELD_TEXT)
            if "accessory" in block:
                errors += _element_errors(block["accessory"], f"{bp}/accessory")
        elif kind == "header":
            errors += _text_errors(block.get("text"), f"{bp}/text", max_len=MAX_HEADER_TEXT, plain_only=True)
        elif kind in ("actions", "context"):
            limit = MAX_ACTIONS_ELEMENTS if kind == "actions" else MAX_CONTEXT_ELEMENTS
            elements = block.get("elements")
            if not isinstance(elements, list) or not elements:
                errors.append(f"must provide a non-empty array [json-pointer:{bp}/elements]")
            elif len(elements) > limit:
                errors.append(f"must be less than {limit + 1} items [json-pointer:{bp}/elements]")
            elif kind == "actions":
                for j, el in enumerate(elements):
                    errors += _element_errors(el, f"{bp}/elements/{j}")
        elif kind == "input":
            errors += _text_errors(block.get("label"), f"{bp}/label", max_len=2000, plain_only=True)
            if "element" not in block:
                errors.append(f"missing required field: element [json-pointer:{bp}]")
            else:
                errors += _element_errors(block["element"], f"{bp}/element")
        elif kind == "image":
            if not block.get("image_url") and not block.get("slack_file"):
                errors.append(f"missing required field: image_url [json-pointer:{bp}]")
            if not isinstance(block.get("alt_text"), str):
                errors.append(f"missing required field: alt_text [json-pointer:{bp}]")
    return errors


def _view_errors(view: Any) -> list[str]:
    if not isinstance(view, dict):
        return ["must provide an object [json-pointer:/view]"]
    errors: list[str] = []
    kind = view.get("type")
    if kind not in ("modal", "home"):
        errors.append("must be one of ['modal', 'home'] [json-pointer:/view/type]")
    if "blocks" not in view:
        errors.append("missing required field: blocks [json-pointer:/view]")
    else:
        errors += _block_errors(view["blocks"], max_blocks=MAX_VIEW_BLOCKS, ptr="/view/blocks")
    if kind == "modal":
        if "title" not in view:
            errors.append("missing required field: title [json-pointer:/view]")
        else:
            errors += _text_errors(view["title"], "/view/title", max_len=MAX_VIEW_TITLE, plain_only=True)
        for key in ("submit", "close"):
            if key in view:
                errors += _text_errors(view[key], f"/view/{key}", max_len=MAX_VIEW_TITLE, plain_only=True)
        blocks = view.get("blocks")
        has_input = isinstance(blocks, list) and any(
            isinstance(b, dict) and b.get("type") == "input" for b in blocks
        )
        if has_input and "submit" not in view:
            errors.append("submit is required when an input block is present [json-pointer:/view/submit]")
    pm = view.get("private_metadata")
    if pm is not None and (not isinstance(pm, str) or len(pm) > MAX_PRIVATE_METADATA):
        errors.append(
            f"must be less than {MAX_PRIVATE_METADATA + 1} characters [json-pointer:/view/private_metadata]"
        )
    for key in ("callback_id", "external_id"):
        v = view.get(key)
        if v is not None and (not isinstance(v, str) or len(v) > MAX_ID_LEN):
            errors.append(f"must be less than {MAX_ID_LEN + 1} characters [json-pointer:/view/{key}]")
    return errors


# --------------------------------------------------------------------------- HTTP plumbing


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, fake: FakeSlack) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.fake = fake

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Quiet about clients that hang up; loud about bugs in the fake."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"  # one request per connection: a hang can't block a pooled socket
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Silenced: tests shouldn't print access logs."""

    def do_POST(self) -> None:
        self.server.fake._handle_http(self)

    def do_GET(self) -> None:
        self.server.fake._handle_http(self)

    def read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        if isinstance(body, bytes | str):
            data = body.encode() if isinstance(body, str) else body
            ctype = "text/plain; charset=utf-8"
        else:
            data = json.dumps(body).encode()
            ctype = "application/json; charset=utf-8"
        try:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)
        except OSError:  # the client gave up; nothing to tell it
            self.close_connection = True

    def peer_gone(self) -> bool:
        """True once the client closed its end (it gave up waiting)."""
        try:
            readable, _, _ = select.select([self.connection], [], [], 0)
            if not readable:
                return False
            return self.connection.recv(1, socket.MSG_PEEK) == b""
        except OSError:
            return True


def _parse_body(content_type: str, raw: bytes) -> dict[str, Any]:
    ctype = content_type.split(";")[0].strip().lower()
    if not raw:
        return {}
    if ctype == "application/json":
        try:
            data = json.loads(raw)
        except ValueError:
            raise _SlackError("invalid_json") from None
        return data if isinstance(data, dict) else {}
    if ctype == "multipart/form-data":
        msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + raw
        )
        out: dict[str, Any] = {}
        for part in msg.iter_parts():
            name = part.get_param("name", header="content-disposition")
            payload = part.get_payload(decode=True) or b""
            if part.get_filename() is not None:
                out[str(name)] = payload
            else:
                out[str(name)] = payload.decode("utf-8", "replace")
        return out
    return dict(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))


# --------------------------------------------------------------------------- the fake


class FakeSlack:
    """In-process fake of the Slack Web API, served over HTTP on 127.0.0.1.

    All recorded state is guarded by one re-entrant lock; :meth:`wait_for` waits on a
    condition notified whenever a call or response_url POST is recorded, so tests can wait
    for a background thread's post without sleeping.
    """

    def __init__(self, bot_token: str = "xoxb-test-token", bot_user_id: str = "UBOT", team_id: str = "T0001"):
        self.bot_token = bot_token
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
    ) -> None:
        """Make a channel known.  ``members=None`` means membership isn't modelled (anyone is in)."""
        with self._lock:
            self.channels[channel_id] = {
                "id": channel_id,
                "name": name or channel_id.lower(),
                "members": set(members) if members is not None else None,
                "bot_is_member": bot_is_member,
            }

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
    ) -> None:
        """Make the next ``times`` calls of ``method`` fail.

        ``method`` may also be ``"*"`` (any Web API method), ``"response_url"`` or ``"upload"``
        (the URL files.getUploadURLExternal hands out).  ``error`` answers HTTP 200
        ``{"ok": false, "error": error}``; otherwise HTTP ``status`` (429 carries Retry-After);
        ``hang`` holds the request until :meth:`release_hangs` or the client disconnects.
        """
        if times < 1:
            raise ValueError("times must be >= 1")
        with self._lock:
            self._rules.append(_Rule(method, status, error, retry_after, times, hang))

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

    def _take_rule(self, method: str, *, api: bool = True) -> _Rule | None:
        for rule in self._rules:
            if rule.method == method or (api and rule.method == "*"):
                rule.remaining -= 1
                if rule.remaining <= 0:
                    self._rules.remove(rule)
                return rule
        return None

    def _hang(self, handler: _Handler, ev: threading.Event) -> None:
        while not ev.wait(0.02):
            if handler.peer_gone():
                break
        with self._cond:
            if ev in self._hung:
                self._hung.remove(ev)
            self._cond.notify_all()
        handler.close_connection = True

    def _failure(self, rule: _Rule) -> tuple[int, dict[str, Any], dict[str, str]]:
        if rule.error is not None:
            return 200, {"ok": False, "error": rule.error}, {}
        headers: dict[str, str] = {}
        if rule.status == 429:
            headers["Retry-After"] = str(rule.retry_after if rule.retry_after is not None else 1)
            return 429, {"ok": False, "error": "ratelimited"}, headers
        if rule.retry_after is not None:
            headers["Retry-After"] = str(rule.retry_after)
        error = "internal_error" if rule.status >= 500 else f"http_{rule.status}"
        return rule.status, {"ok": False, "error": error}, headers

    def _handle_http(self, handler: _Handler) -> None:
        parts = urlsplit(handler.path)
        path = parts.path
        raw = handler.read_body()
        headers = _Headers(handler.headers.items())
        if path.startswith("/api/"):
            self._handle_api(handler, path[len("/api/") :], parts.query, raw, headers)
        elif path.startswith("/response/"):
            self._handle_response_url(handler, path[len("/response/") :], raw, headers)
        elif path.startswith("/upload/"):
            self._handle_upload(handler, path[len("/upload/") :], raw)
        else:
            handler.send(404, {"ok": False, "error": "not_found"})

    def _handle_api(self, handler: _Handler, method: str, query: str, raw: bytes, headers: _Headers) -> None:
        args: dict[str, Any] = dict(parse_qsl(query, keep_blank_values=True))
        parse_error: str | None = None
        try:
            args.update(_parse_body(headers.get("Content-Type", ""), raw))
        except _SlackError as e:
            parse_error = e.error
        token = args.pop("token", None) or None
        auth = headers.get("Authorization", "")
        if auth.lower().startswith("bearer "):
            token = auth[7:].strip() or token
        bad_json: set[str] = set()
        for key in _JSON_FIELDS:
            if isinstance(args.get(key), str) and args[key] != "":
                try:
                    args[key] = json.loads(args[key])
                except ValueError:
                    bad_json.add(key)

        ev: threading.Event | None = None
        extra_headers: dict[str, str] = {}
        with self._cond:
            rule = self._take_rule(method)
            if rule is not None and rule.hang:
                ev = threading.Event()
                self._hung.append(ev)
                status, body = 0, {}
            elif rule is not None:
                status, body, extra_headers = self._failure(rule)
            else:
                status = 200
                body = self._dispatch(method, args, token, parse_error, bad_json)
            self.calls.append(Call(method, args, token, headers, body, time.monotonic(), status))
            self._cond.notify_all()
        if ev is not None:
            self._hang(handler, ev)
            return
        handler.send(status, body, extra_headers)

    def _dispatch(
        self,
        method: str,
        args: dict[str, Any],
        token: str | None,
        parse_error: str | None,
        bad_json: set[str],
    ) -> dict[str, Any]:
        fn = self._methods().get(method)
        try:
            if fn is None:
                raise _SlackError("unknown_method")
            if not token:
                raise _SlackError("not_authed")
            if token != self.bot_token:
                raise _SlackError("invalid_auth")
            if parse_error:
                raise _SlackError(parse_error)
            if "blocks" in bad_json:
                raise _SlackError("invalid_blocks_format")
            if "metadata" in bad_json:
                raise _SlackError("invalid_metadata_format")
            if bad_json:
                raise _SlackError("invalid_arguments")
            result = fn(args)
        except _SlackError as e:
            return {"ok": False, "error": e.error, **e.extra}
        return {"ok": True, **result}

    def _handle_response_url(self, handler: _Handler, token: str, raw: bytes, headers: _Headers) -> None:
        url = f"{self.base_url}/response/{token}"
        try:
            body = _parse_body(headers.get("Content-Type") or "application/json", raw)
            if "payload" in body and isinstance(body["payload"], str):
                body = json.loads(body["payload"])
        except (_SlackError, ValueError):
            body = {"_raw": raw.decode("utf-8", "replace")}
        ev: threading.Event | None = None
        extra: dict[str, str] = {}
        with self._cond:
            rule = self._take_rule("response_url", api=False)
            if rule is not None and rule.hang:
                ev = threading.Event()
                self._hung.append(ev)
                status, answer = 0, {}
            elif rule is not None:
                status, answer, extra = self._failure(rule)
            else:
                status, answer = self._response_url_answer(token, body)
            self.responses.append(ResponseCall(url, body, headers, status, time.monotonic()))
            self._cond.notify_all()
        if ev is not None:
            self._hang(handler, ev)
            return
        handler.send(status, answer, extra)

    def _response_url_answer(self, token: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        uses = self._response_urls.get(token)
        if uses is None:
            return 404, {"ok": False, "error": "expired_url"}
        if uses <= 0:
            return 404, {"ok": False, "error": "used_url"}
        if "_raw" in body:
            return 400, {"ok": False, "error": "invalid_payload"}
        if not _truthy(body.get("delete_original")):
            if not body.get("text") and not body.get("blocks") and not body.get("attachments"):
                return 400, {"ok": False, "error": "no_text"}
            if "blocks" in body:
                errors = _block_errors(body["blocks"], max_blocks=MAX_MESSAGE_BLOCKS)
                if errors:
                    return 400, {"ok": False, "error": "invalid_blocks", "errors": errors}
            if isinstance(body.get("text"), str) and len(body["text"]) > MAX_TEXT_LEN:
                return 400, {"ok": False, "error": "msg_too_long"}
        self._response_urls[token] = uses - 1
        return 200, {"ok": True}

    def _handle_upload(self, handler: _Handler, file_id: str, raw: bytes) -> None:
        ev: threading.Event | None = None
        extra: dict[str, str] = {}
        answer: Any
        with self._cond:
            rule = self._take_rule("upload", api=False)
            f = self.files.get(file_id)
            if rule is not None and rule.hang:
                ev = threading.Event()
                self._hung.append(ev)
            elif rule is not None:
                status, answer, extra = self._failure(rule)
            elif f is None:
                status, answer = 404, "file not found"
            else:
                f.update(content=raw, size=len(raw), uploaded=True)
                status, answer = 200, f"OK - {len(raw)}"
            self._cond.notify_all()
        if ev is not None:
            self._hang(handler, ev)
            return
        handler.send(status, answer, extra)

    # ------------------------------------------------------------------ helpers (call with lock held)

    def _next_ts(self) -> str:
        self._ts_micros += 100
        return f"{self._ts_micros // 1_000_000}.{self._ts_micros % 1_000_000:06d}"

    def _next_id(self, prefix: str) -> str:
        self._seq += 1
        return f"{prefix}{self._seq:09d}"

    def _open_dm(self, user_ids: list[str]) -> str:
        if len(user_ids) == 1:
            cid = self.dm_channel_id(user_ids[0])
        else:
            digest = hashlib.sha1(",".join(sorted(user_ids)).encode()).hexdigest()[:10].upper()
            cid = "G" + digest
        self._dms.setdefault(cid, list(user_ids))
        return cid

    def _resolve_channel(self, ref: Any) -> str:
        """Map a channel id, #name, user id (DM) or opened D… id to a channel id."""
        if not isinstance(ref, str) or not ref:
            raise _SlackError("channel_not_found")
        if ref in self.channels or ref in self._dms:
            return ref
        if ref in self.users:
            return self._open_dm([ref])
        name = ref.lstrip("#")
        for c in self.channels.values():
            if c["name"] == name:
                return c["id"]
        raise _SlackError("channel_not_found")

    def _require_member(self, cid: str) -> None:
        ch = self.channels.get(cid)
        if ch is not None and not ch["bot_is_member"]:
            raise _SlackError("not_in_channel")

    def _find_message(self, cid: str, ts: Any) -> dict[str, Any]:
        for m in self.messages.get(cid, []):
            if m["ts"] == ts:
                return m
        raise _SlackError("message_not_found")

    def _store(self, cid: str, msg: dict[str, Any], thread_ts: str | None) -> str:
        ts = self._next_ts()
        msg["ts"] = ts
        if thread_ts:
            msg["thread_ts"] = thread_ts
            for parent in self.messages.get(cid, []):
                if parent["ts"] == thread_ts:
                    msg["parent_user_id"] = parent.get("user")
                    parent["thread_ts"] = thread_ts
                    parent["reply_count"] = parent.get("reply_count", 0) + 1
                    users = parent.setdefault("reply_users", [])
                    if msg.get("user") not in users:
                        users.append(msg.get("user"))
                    parent["reply_users_count"] = len(users)
                    parent["latest_reply"] = ts
        self.messages.setdefault(cid, []).append(msg)
        return ts

    def _check_content(self, args: dict[str, Any], *, require: bool = True) -> None:
        text = args.get("text")
        blocks = args.get("blocks")
        attachments = args.get("attachments")
        if require and not text and not blocks and not attachments:
            raise _SlackError("no_text")
        if isinstance(text, str) and len(text) > MAX_TEXT_LEN:
            raise _SlackError("msg_too_long")
        if blocks not in (None, ""):
            errors = _block_errors(blocks, max_blocks=MAX_MESSAGE_BLOCKS)
            if errors:
                raise _SlackError("invalid_blocks", errors=errors, response_metadata={"messages": errors})
        metadata = args.get("metadata")
        well_formed = (
            isinstance(metadata, dict)
            and isinstance(metadata.get("event_type"), str)
            and isinstance(metadata.get("event_payload"), dict)
        )
        if metadata not in (None, "") and not well_formed:
            raise _SlackError("invalid_metadata_format")

    def _bot_message(self, args: dict[str, Any]) -> dict[str, Any]:
        msg: dict[str, Any] = {
            "type": "message",
            "user": self.bot_user_id,
            "bot_id": self.bot_id,
            "app_id": self.app_id,
            "team": self.team_id,
            "text": args.get("text") or "",
        }
        for key in ("blocks", "attachments", "metadata"):
            if args.get(key) not in (None, ""):
                msg[key] = args[key]
        return msg

    def _public(self, msg: dict[str, Any], *, with_metadata: bool = True) -> dict[str, Any]:
        out = copy.deepcopy(msg)
        if not with_metadata:
            out.pop("metadata", None)
        return out

    @staticmethod
    def _page(
        items: list[dict[str, Any]], args: dict[str, Any]
    ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        limit = _int_arg(args, "limit", 100) or 100
        cursor = args.get("cursor") or ""
        start = 0
        if cursor:
            try:
                start = int(base64.b64decode(cursor).decode().split(":", 1)[1])
            except (ValueError, IndexError):
                raise _SlackError("invalid_cursor") from None
        page = items[start : start + limit]
        more = start + limit < len(items)
        next_cursor = base64.b64encode(f"offset:{start + limit}".encode()).decode() if more else ""
        return page, {"has_more": more, "response_metadata": {"next_cursor": next_cursor}}

    @staticmethod
    def _in_window(items: list[dict[str, Any]], args: dict[str, Any]) -> list[dict[str, Any]]:
        inclusive = _truthy(args.get("inclusive"))
        oldest = _ts_key(args["oldest"]) if args.get("oldest") not in (None, "") else None
        latest = _ts_key(args["latest"]) if args.get("latest") not in (None, "") else None
        out = []
        for m in items:
            k = _ts_key(m["ts"])
            if oldest is not None and (k < oldest or (k == oldest and not inclusive)):
                continue
            if latest is not None and (k > latest or (k == latest and not inclusive)):
                continue
            out.append(m)
        return out

    def _user_object(self, u: dict[str, Any]) -> dict[str, Any]:
        tz_offset, tz_label = 0, u["tz"]
        try:
            now = datetime.now(ZoneInfo(u["tz"]))
            offset = now.utcoffset()
            tz_offset = int(offset.total_seconds()) if offset is not None else 0
            tz_label = now.tzname() or u["tz"]
        except (ZoneInfoNotFoundError, ValueError):
            pass
        profile: dict[str, Any] = {"real_name": u["name"], "display_name": u["name"], "team": self.team_id}
        if u["email"]:
            profile["email"] = u["email"]
        if u["is_bot"]:
            profile["bot_id"] = self.bot_id if u["id"] == self.bot_user_id else "B" + u["id"][1:]
        return {
            "id": u["id"],
            "team_id": self.team_id,
            "name": u["name"],
            "real_name": u["name"],
            "deleted": False,
            "tz": u["tz"],
            "tz_label": tz_label,
            "tz_offset": tz_offset,
            "is_bot": u["is_bot"],
            "is_app_user": False,
            "profile": profile,
        }

    def _channel_object(self, cid: str) -> dict[str, Any]:
        if cid in self._dms:
            members = self._dms[cid]
            if cid.startswith("D"):
                return {
                    "id": cid,
                    "created": 1700000000,
                    "is_im": True,
                    "is_org_shared": False,
                    "user": members[0],
                    "is_user_deleted": False,
                    "is_member": True,
                    "priority": 0,
                }
            return {
                "id": cid,
                "name": "mpdm-" + "--".join(members),
                "created": 1700000000,
                "is_channel": False,
                "is_group": False,
                "is_im": False,
                "is_mpim": True,
                "is_private": True,
                "is_member": True,
            }
        ch = self.channels[cid]
        private = cid.startswith("G")
        obj = {
            "id": cid,
            "name": ch["name"],
            "name_normalized": ch["name"],
            "created": 1700000000,
            "creator": self.bot_user_id,
            "is_channel": True,
            "is_group": False,
            "is_im": False,
            "is_mpim": False,
            "is_private": private,
            "is_archived": False,
            "is_general": False,
            "is_shared": False,
            "is_org_shared": False,
            "is_member": ch["bot_is_member"],
            "topic": {"value": "", "creator": "", "last_set": 0},
            "purpose": {"value": "", "creator": "", "last_set": 0},
        }
        if ch["members"] is not None:
            obj["num_members"] = len(ch["members"]) + (1 if ch["bot_is_member"] else 0)
        return obj

    # ------------------------------------------------------------------ Web API methods

    def _methods(self) -> dict[str, Callable[[dict[str, Any]], dict[str, Any]]]:
        return {
            "auth.test": self._auth_test,
            "chat.postMessage": self._chat_post_message,
            "chat.update": self._chat_update,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "chat.getPermalink": self._chat_get_permalink,
            "conversations.history": self._conversations_history,
            "conversations.replies": self._conversations_replies,
            "conversations.info": self._conversations_info,
            "conversations.open": self._conversations_open,
            "users.info": self._users_info,
            "users.lookupByEmail": self._users_lookup_by_email,
            "views.open": self._views_open,
            "views.push": self._views_push,
            "views.update": self._views_update,
            "views.publish": self._views_publish,
            "reactions.add": self._reactions_add,
            "files.getUploadURLExternal": self._files_get_upload_url,
            "files.completeUploadExternal": self._files_complete_upload,
        }

    def _auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        return {
            "url": "https://fake.slack.com/",
            "team": "Fake Team",
            "user": self.users[self.bot_user_id]["name"],
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": self.bot_id,
            "is_enterprise_install": False,
        }

    def _chat_post_message(self, args: dict[str, Any]) -> dict[str, Any]:
        cid = self._resolve_channel(args.get("channel"))
        self._require_member(cid)
        self._check_content(args)
        msg = self._bot_message(args)
        thread_ts = args.get("thread_ts") or None
        if thread_ts and _truthy(args.get("reply_broadcast")):
            msg["subtype"] = "thread_broadcast"
        self._store(cid, msg, thread_ts)
        return {"channel": cid, "ts": msg["ts"], "message": self._public(msg)}

    def _chat_update(self, args: dict[str, Any]) -> dict[str, Any]:
        cid = self._resolve_channel(args.get("channel"))
        msg = self._find_message(cid, args.get("ts"))
        if msg.get("user") != self.bot_user_id:
            raise _SlackError("cant_update_message")
        self._check_content(args, require=False)
        if args.get("text") is not None:
            msg["text"] = args["text"]
        for key in ("blocks", "attachments", "metadata"):  # absent: kept; empty: removed (like Slack)
            if args.get(key) is not None:
                if args[key] in ("", [], {}):
                    msg.pop(key, None)
                else:
                    msg[key] = args[key]
        msg["edited"] = {"user": self.bot_user_id, "ts": self._next_ts()}
        return {"channel": cid, "ts": msg["ts"], "text": msg["text"], "message": self._public(msg)}

    def _chat_post_ephemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        cid = self._resolve_channel(args.get("channel"))
        self._require_member(cid)
        user = args.get("user")
        if user not in self.users:
            raise _SlackError("user_not_found")
        members = self.channels[cid]["members"] if cid in self.channels else self._dms.get(cid)
        if members is not None and user not in members:
            raise _SlackError("user_not_in_channel")
        self._check_content(args)
        ts = self._next_ts()
        eph = self._bot_message(args)
        eph.update({"ts": ts, "channel": cid, "recipient": user})
        if args.get("thread_ts"):
            eph["thread_ts"] = args["thread_ts"]
        self.ephemerals.append(eph)
        return {"message_ts": ts}

    def _chat_get_permalink(self, args: dict[str, Any]) -> dict[str, Any]:
        cid = self._resolve_channel(args.get("channel"))
        msg = self._find_message(cid, args.get("message_ts"))
        link = f"https://fake.slack.com/archives/{cid}/p{msg['ts'].replace('.', '')}"
        if msg.get("thread_ts") and msg["thread_ts"] != msg["ts"]:
            link += f"?thread_ts={msg['thread_ts']}&cid={cid}"
        return {"channel": cid, "permalink": link}

    def _conversations_history(self, args: dict[str, Any]) -> dict[str, Any]:
        cid = self._resolve_channel(args.get("channel"))
        self._require_member(cid)
        top = [
            m
            for m in self.messages.get(cid, [])
            if m.get("thread_ts") in (None, m["ts"]) or m.get("subtype") == "thread_broadcast"
        ]
        newest_first = sorted(self._in_window(top, args), key=lambda m: _ts_key(m["ts"]), reverse=True)
        page, meta = self._page(newest_first, args)
        with_md = _truthy(args.get("include_all_metadata"))
        return {"messages": [self._public(m, with_metadata=with_md) for m in page], "pin_count": 0, **meta}

    def _conversations_replies(self, args: dict[str, Any]) -> dict[str, Any]:
        cid = self._resolve_channel(args.get("channel"))
        self._require_member(cid)
        ts = args.get("ts")
        if not ts:
            raise _SlackError("invalid_arguments")
        msgs = self.messages.get(cid, [])
        parent = next((m for m in msgs if m["ts"] == ts), None)
        if parent is None:
            raise _SlackError("thread_not_found")
        replies = [m for m in msgs if m.get("thread_ts") == ts and m["ts"] != ts]
        thread = [parent, *sorted(self._in_window(replies, args), key=lambda m: _ts_key(m["ts"]))]
        page, meta = self._page(thread, args)
        with_md = _truthy(args.get("include_all_metadata"))
        return {"messages": [self._public(m, with_metadata=with_md) for m in page], **meta}

    def _conversations_info(self, args: dict[str, Any]) -> dict[str, Any]:
        cid = args.get("channel")
        if cid not in self.channels and cid not in self._dms:
            raise _SlackError("channel_not_found")
        return {"channel": self._channel_object(cid)}

    def _conversations_open(self, args: dict[str, Any]) -> dict[str, Any]:
        if args.get("channel"):
            cid = args["channel"]
            if cid not in self._dms:
                raise _SlackError("channel_not_found")
        else:
            users = [u.strip() for u in str(args.get("users") or "").split(",") if u.strip()]
            if not users:
                raise _SlackError("users_list_not_supplied")
            if len(users) > 8:
                raise _SlackError("too_many_users")
            for u in users:
                if u not in self.users:
                    raise _SlackError("user_not_found")
            cid = self._open_dm(users)
        if _truthy(args.get("return_im")):
            return {"channel": self._channel_object(cid)}
        return {"channel": {"id": cid}}

    def _users_info(self, args: dict[str, Any]) -> dict[str, Any]:
        u = self.users.get(args.get("user"))  # type: ignore[arg-type]
        if u is None:
            raise _SlackError("user_not_found")
        return {"user": self._user_object(u)}

    def _users_lookup_by_email(self, args: dict[str, Any]) -> dict[str, Any]:
        email = str(args.get("email") or "").lower()
        for u in self.users.values():
            if u["email"] and u["email"].lower() == email:
                return {"user": self._user_object(u)}
        raise _SlackError("users_not_found")

    def _checked_view(self, args: dict[str, Any]) -> dict[str, Any]:
        view = args.get("view")
        errors = _view_errors(view)
        if errors:
            raise _SlackError(
                "invalid_arguments", response_metadata={"messages": [f"[ERROR] {e}" for e in errors]}
            )
        return view  # type: ignore[return-value]

    def _make_view(
        self,
        view: dict[str, Any],
        *,
        view_id: str | None = None,
        root: str | None = None,
        previous: str | None = None,
    ) -> dict[str, Any]:
        vid = view_id or self._next_id("V")
        stored = {
            "id": vid,
            "team_id": self.team_id,
            "type": view["type"],
            "blocks": view["blocks"],
            "private_metadata": view.get("private_metadata", ""),
            "callback_id": view.get("callback_id", ""),
            "state": {"values": {}},
            "hash": f"{self._seq}.{uuid.uuid4().hex[:8]}",
            "clear_on_close": bool(view.get("clear_on_close", False)),
            "notify_on_close": bool(view.get("notify_on_close", False)),
            "close": view.get("close"),
            "submit": view.get("submit"),
            "previous_view_id": previous,
            "root_view_id": root or vid,
            "app_id": self.app_id,
            "external_id": view.get("external_id", ""),
            "app_installed_team_id": self.team_id,
            "bot_id": self.bot_id,
        }
        if "title" in view:
            stored["title"] = view["title"]
        self.views[vid] = stored
        return copy.deepcopy(stored)

    def _views_open(self, args: dict[str, Any]) -> dict[str, Any]:
        if not args.get("trigger_id") and not args.get("interactivity_pointer"):
            raise _SlackError(
                "invalid_arguments", response_metadata={"messages": ["[ERROR] missing trigger_id"]}
            )
        view = self._checked_view(args)
        if view["type"] != "modal":
            raise _SlackError(
                "invalid_arguments", response_metadata={"messages": ["[ERROR] must be a modal"]}
            )
        return {"view": self._make_view(view)}

    def _views_push(self, args: dict[str, Any]) -> dict[str, Any]:
        return self._views_open(args)

    def _views_update(self, args: dict[str, Any]) -> dict[str, Any]:
        view = self._checked_view(args)
        vid = args.get("view_id")
        if not vid and args.get("external_id"):
            vid = next(
                (v["id"] for v in self.views.values() if v["external_id"] == args["external_id"]), None
            )
            if vid is None:
                raise _SlackError("not_found")
        if not vid:
            raise _SlackError(
                "invalid_arguments", response_metadata={"messages": ["[ERROR] missing view_id"]}
            )
        old = self.views.get(vid)
        if old is None:
            raise _SlackError("not_found")
        if args.get("hash") and args["hash"] != old["hash"]:
            raise _SlackError("hash_conflict")
        return {
            "view": self._make_view(
                view, view_id=vid, root=old["root_view_id"], previous=old["previous_view_id"]
            )
        }

    def _views_publish(self, args: dict[str, Any]) -> dict[str, Any]:
        user = args.get("user_id")
        if not user:
            raise _SlackError(
                "invalid_arguments", response_metadata={"messages": ["[ERROR] missing user_id"]}
            )
        if user not in self.users:
            raise _SlackError("user_not_found")
        view = self._checked_view(args)
        if view["type"] != "home":
            raise _SlackError(
                "invalid_arguments", response_metadata={"messages": ["[ERROR] must be a home view"]}
            )
        old = self.home_tabs.get(user)
        if old is not None and args.get("hash") and args["hash"] != old["hash"]:
            raise _SlackError("hash_conflict")
        made = self._make_view(view, view_id=old["id"] if old else None)
        self.home_tabs[user] = copy.deepcopy(made)
        return {"view": made}

    def _reactions_add(self, args: dict[str, Any]) -> dict[str, Any]:
        cid = self._resolve_channel(args.get("channel"))
        self._require_member(cid)
        msg = self._find_message(cid, args.get("timestamp"))
        name = str(args.get("name") or "").strip(":")
        if not name:
            raise _SlackError("invalid_name")
        reactions = msg.setdefault("reactions", [])
        for r in reactions:
            if r["name"] == name:
                if self.bot_user_id in r["users"]:
                    raise _SlackError("already_reacted")
                r["users"].append(self.bot_user_id)
                r["count"] += 1
                return {}
        reactions.append({"name": name, "users": [self.bot_user_id], "count": 1})
        return {}

    def _files_get_upload_url(self, args: dict[str, Any]) -> dict[str, Any]:
        filename = args.get("filename")
        length = _int_arg(args, "length", -1)
        if not filename or length < 0:
            raise _SlackError("invalid_arguments")
        fid = self._next_id("F")
        self.files[fid] = {
            "id": fid,
            "name": filename,
            "title": filename,
            "length": length,
            "size": 0,
            "content": b"",
            "uploaded": False,
            "alt_txt": args.get("alt_txt"),
            "channels": [],
            "completed": False,
        }
        return {"upload_url": f"{self.base_url}/upload/{fid}", "file_id": fid}

    def _files_complete_upload(self, args: dict[str, Any]) -> dict[str, Any]:
        items = args.get("files")
        if not isinstance(items, list) or not items:
            raise _SlackError("invalid_arguments")
        for item in items:
            f = self.files.get(item.get("id")) if isinstance(item, dict) else None
            if f is None or not f["uploaded"]:
                raise _SlackError("file_not_found")
        channels = []
        if args.get("channel_id"):
            channels.append(args["channel_id"])
        channels += [c for c in str(args.get("channels") or "").split(",") if c]
        cids = [self._resolve_channel(c) for c in channels]
        for cid in cids:
            self._require_member(cid)
        initial = args.get("initial_comment") or ""
        if len(initial) > MAX_TEXT_LEN:
            raise _SlackError("msg_too_long")
        out = []
        for item in items:
            f = self.files[item["id"]]
            f["title"] = item.get("title") or f["name"]
            f["completed"] = True
            f["channels"] = cids
            out.append(
                {
                    "id": f["id"],
                    "created": 1700000000,
                    "name": f["name"],
                    "title": f["title"],
                    "mimetype": "application/octet-stream",
                    "filetype": "binary",
                    "size": f["size"],
                    "user": self.bot_user_id,
                    "is_external": False,
                    "url_private": f"https://files.fake.slack.com/files-pri/{self.team_id}-{f['id']}/{f['name']}",
                    "permalink": f"https://fake.slack.com/files/{self.bot_user_id}/{f['id']}/{f['name']}",
                }
            )
        for cid in cids:
            msg = self._bot_message({"text": initial})
            msg.update({"files": copy.deepcopy(out), "upload": True, "display_as_bot": False})
            self._store(cid, msg, args.get("thread_ts") or None)
        return {"files": out}
