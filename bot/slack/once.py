"""Each Slack request is handled once, whatever its deliveries (PRODUCT.md §2):
wired into every app, so a new command, button or form cannot forget it.

`OnceApp` is Bolt's App with two additions around each request:
- a middleware, after Bolt's signature check, that derives the request's key
  (bot/slack/request_keys.py). A key seen before with a write is answered from the
  database — the same ack, the same replies to the response_url — and its listener
  does not run. Otherwise the key is put in the air for the listener's writes, and
  the replies it sends are recorded.
- around the dispatch, when the listener wrote: the answer is stored with the key. A
  duplicate that raced the first to the database (AlreadyHandled from its commit)
  rolled back and is answered like a late duplicate."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import App, BoltRequest, BoltResponse
from slack_bolt.context.respond import Respond
from sqlalchemy.engine import Engine

from bot.clock import Clock
from bot.slack import request_keys
from bot.slack.action_ids import CallbackId
from bot.slack.payload_shape import refuse_malformed

log = logging.getLogger("csbot.requests")

_PENDING = "csbot_pending"
_RECORDER = "csbot_replies"
_KEY = "csbot_request_key"
ALREADY = "That request was already received; it was handled once."


class RecordingRespond(Respond):
    """The listener's `respond`: sends as usual and remembers what it sent. A
    request without a response_url (a button in a modal, a malformed payload)
    drops the reply with one log line instead of raising in the listener."""

    def __init__(self, *, response_url: str | None, **kwargs: Any) -> None:
        super().__init__(response_url=response_url, **kwargs)
        self.sent: list[dict[str, Any]] = []

    def __call__(self, text: Any = "", blocks: Any = None, **kwargs: Any) -> Any:  # type: ignore[override]
        if not self.response_url:
            log.warning("a reply was dropped: the request has no response_url")
            return None
        record = {"text": text, "blocks": blocks, **{k: v for k, v in kwargs.items() if v is not None}}
        self.sent.append(_jsonable(record))
        return super().__call__(text, blocks, **kwargs)


def _jsonable(value: Any) -> Any:
    try:
        return json.loads(
            json.dumps(value, default=lambda o: o.to_dict() if hasattr(o, "to_dict") else str(o))
        )
    except (TypeError, ValueError):
        return None


# `/cs log` and its form key the touchpoint themselves (Touchpoint.idempotency_key)
# and tell a second delivery "Already logged"; they keep that answer.
SELF_KEYED_SUBCOMMANDS = frozenset({"log"})
# Sub-commands that only read: no key to look up (a new one left out is merely keyed).
READ_ONLY_SUBCOMMANDS = frozenset({"", "help", "account", "escalations", "risk", "metrics", "subscriptions"})
SELF_KEYED_VIEWS = frozenset({CallbackId.LOG_MODAL})


def request_key(body: dict[str, Any], headers: dict[str, Any]) -> str | None:
    """The key of a request that may write: a slash command, a button or menu, a form."""
    if "command" in body:
        sub = str(body.get("text") or "").strip().split(" ", 1)[0].lower()
        if sub in SELF_KEYED_SUBCOMMANDS or sub in READ_ONLY_SUBCOMMANDS:
            return None
        return request_keys.key_for_command(body, headers)
    view = body.get("view")
    if (
        body.get("type") == "view_submission"
        and isinstance(view, dict)
        and view.get("callback_id") in SELF_KEYED_VIEWS
    ):
        return None
    if body.get("type") in ("block_actions", "view_submission"):
        return request_keys.key_for_interaction(body, headers)
    return None


def once_middleware(engine: Engine, clock: Clock) -> Callable[..., BoltResponse | None]:
    def middleware(req: BoltRequest, resp: BoltResponse, next: Callable[[], Any]) -> BoltResponse | None:
        response_url = req.body.get("response_url")
        if not isinstance(response_url, str) or not response_url:
            response_url = None
        req.context["respond"] = recorder = RecordingRespond(response_url=response_url)
        key = request_key(req.body, req.headers)
        if key is None:
            return next()
        stored = request_keys.stored_answer(engine, key)
        if stored is not None:
            log.info("request %s handled before: answered again, nothing written", key[:40])
            return replay(req, stored[0])
        req.context[_KEY] = key
        req.context[_RECORDER] = recorder
        req.context[_PENDING] = request_keys.begin(key, clock.now())
        return next()

    return middleware


def replay(req: BoltRequest, answer: dict[str, Any] | None) -> BoltResponse:
    """Answer a second delivery as the first was answered; nothing runs."""
    if answer is None:
        if "command" in req.body:
            return BoltResponse(status=200, body={"response_type": "ephemeral", "text": ALREADY})
        return BoltResponse(status=200, body="")
    url = req.body.get("response_url")
    if isinstance(url, str) and url:
        respond = Respond(response_url=url)
        for sent in answer.get("replies") or []:
            try:
                respond(**sent)
            except Exception:  # best effort: the first delivery's answer was sent already
                log.warning("could not repeat a reply to a second delivery")
    headers = answer.get("headers") or {}
    return BoltResponse(
        status=int(answer.get("status") or 200), body=answer.get("body") or "", headers=headers
    )


class QuietBoltLog(logging.Filter):
    """Bolt's own log lines about a request, in one line and without its body: it
    logs a whole bad-signature body at INFO and a multi-line listener suggestion
    for a request nothing handles."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = str(record.msg)
        if message.startswith("Invalid request signature detected"):
            record.msg, record.args = "invalid request signature (body not logged)", ()
        elif message.startswith("Unhandled request"):
            record.msg, record.args = "a request no listener handles was answered with an empty 200", ()
        return True


class OnceApp(App):
    """Bolt's App, each request's writes once (see the module docstring). `engine`
    and `clock` are set by `use_request_keys` before the first request."""

    _once_engine: Engine | None = None

    def use_request_keys(self, engine: Engine, clock: Clock) -> None:
        self._once_engine = engine
        self.use(once_middleware(engine, clock))

    def dispatch(self, req: BoltRequest) -> BoltResponse:
        # Bolt itself indexes into payloads (the action, the view) as it dispatches:
        # a malformed one is answered here, before Bolt or a listener reads it. Over
        # HTTP the signature was checked already (bot/slack/web.py).
        refused = refuse_malformed(req.body)
        if refused is not None:
            return refused
        try:
            resp = super().dispatch(req)
        except request_keys.AlreadyHandled:
            self._end(req)
            stored = (
                request_keys.stored_answer(self._once_engine, req.context[_KEY])
                if self._once_engine
                else None
            )
            return replay(req, stored[0] if stored else None)
        finally:
            # Whatever happened, this thread's next request must not carry this key.
            self._end(req)
        self._finish(req, resp)
        if resp.status == 404:  # nothing handles it (an old button, an unknown form): ack, quietly
            return BoltResponse(status=200, body="")
        return resp

    def _end(self, req: BoltRequest) -> request_keys.Pending | None:
        pending = req.context.get(_PENDING)
        if pending is not None:
            request_keys.end(pending)
        return pending

    def _finish(self, req: BoltRequest, resp: BoltResponse) -> None:
        pending = self._end(req)
        if pending is None or not pending.claimed or self._once_engine is None:
            return
        recorder = req.context.get(_RECORDER)
        answer = {
            "status": resp.status,
            "body": resp.body,
            "headers": {k: list(v) for k, v in resp.headers.items() if k.lower() != "content-length"},
            "replies": list(recorder.sent) if recorder is not None else [],
        }
        request_keys.store_answer(self._once_engine, req.context[_KEY], answer, pending.claim.now)
