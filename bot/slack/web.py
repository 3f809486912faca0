"""The HTTP front door: Bolt behind Starlette, served by uvicorn.

Bolt's own Starlette adapter runs the (sync) App on the event loop; we run
dispatch in Starlette's thread pool instead, so one slow request never stalls
the others, and give it an ack budget (bot/ack_budget.py): past it, Slack gets
an empty 200 at once and a command's late answer goes to its response_url.
One log line per request: what, who, how long, outcome.

Strangers reach this door too, so before anything is parsed: a body over
MAX_BODY_BYTES is refused (413) without reading further; a missing or malformed
signature or timestamp is refused (401); then a body that is not UTF-8, not
JSON where JSON was promised, or not an object is refused (400). Each is one log
line, never the body and never a traceback (PRODUCT.md §8)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

from slack_bolt import App, BoltRequest
from slack_bolt.adapter.starlette.handler import to_starlette_response
from slack_sdk.signature import SignatureVerifier
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from bot.slack.ack_budget import DEFAULT_ACK_BUDGET_SECONDS, deliver_late_answer

log = logging.getLogger("csbot.requests")

# Slack's payloads are a few KB (a modal's state, a message's blocks); this is generous.
MAX_BODY_BYTES = 256 * 1024


class Refused(Exception):
    """A request answered at the door: its status and the one line logged."""

    def __init__(self, status: int, why: str) -> None:
        super().__init__(why)
        self.status = status
        self.why = why


async def read_body(request: Request, limit: int = MAX_BODY_BYTES) -> bytes:
    """The body, or Refused(413) as soon as it is known to be over `limit`."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise Refused(400, "malformed Content-Length")
        if int(declared) > limit:
            raise Refused(413, f"body of {int(declared)} bytes is over the {limit} byte limit")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise Refused(413, f"body over the {limit} byte limit")
        chunks.append(chunk)
    return b"".join(chunks)


def check_signature(verifier: SignatureVerifier | None, headers: Any, raw: bytes) -> None:
    """Slack's signature over the raw body, before the body is decoded or parsed."""
    timestamp = headers.get("x-slack-request-timestamp")
    signature = headers.get("x-slack-signature")
    if not timestamp or not signature:
        raise Refused(401, "unsigned request")
    if not timestamp.isdigit() or len(timestamp) > 12:
        raise Refused(401, "malformed request timestamp")
    if verifier is None:
        return
    try:
        body = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise Refused(401, "invalid request signature") from None
    if not verifier.is_valid(body=body, timestamp=timestamp, signature=signature):
        raise Refused(401, "invalid request signature")


def parse_request(raw: bytes, request: Request) -> BoltRequest:
    """The BoltRequest, or Refused(400) for a body Bolt could not read."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise Refused(400, "body is not UTF-8") from None
    try:
        bolt_request = BoltRequest(body=text, query=request.query_params, headers=request.headers)  # type: ignore[arg-type]
    except Exception:  # Bolt parses (JSON, form) and reads ids as it builds the request
        raise Refused(400, "body is not a Slack payload (bad JSON or not an object)") from None
    if not isinstance(bolt_request.body, dict):
        raise Refused(400, "payload is not an object")
    return bolt_request


def _obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _word(value: Any, default: str = "?") -> str:
    """An id or name for the log line: a short string, else `default` (never free text)."""
    return value[:80] if isinstance(value, str) and value else default


def describe(body: Any) -> tuple[str, str]:
    """(what, who) for the request log line; never tokens or free text. Any shape."""
    body = _obj(body)
    kind = body.get("type") if isinstance(body.get("type"), str) else None
    user = _word(_obj(body.get("user")).get("id"), "-")
    if "command" in body:
        sub = str(body.get("text") or "").strip().split(" ", 1)[0][:30]
        if sub and not (sub.replace("-", "").isalnum() and sub.isascii()):
            sub = "?"  # a word, never free text
        return f"command {_word(body['command'])} {sub}".strip(), _word(body.get("user_id"), "-")
    if kind == "block_actions":
        actions = body.get("actions")
        first = _obj(actions[0]) if isinstance(actions, list) and actions else {}
        return f"action {_word(first.get('action_id'))}", user
    if kind in {"view_submission", "view_closed"}:
        return f"{kind} {_word(_obj(body.get('view')).get('callback_id'))}", user
    if kind in {"shortcut", "message_action", "block_suggestion"}:
        return f"{kind} {_word(body.get('callback_id') or body.get('action_id'))}", user
    if kind == "event_callback":
        event = _obj(body.get("event"))
        return f"event {_word(event.get('type'))}", _word(event.get("user"), "-")
    return _word(kind, "unknown"), "-"


def _log_request(bolt_request: BoltRequest, outcome: object, started: float) -> None:
    what, who = describe(bolt_request.body)
    log.info(
        "%s user=%s status=%s latency_ms=%.1f", what, who, outcome, (time.perf_counter() - started) * 1000
    )


def _finish_late(done: asyncio.Future, body: dict) -> None:  # type: ignore[type-arg]
    """The dispatch that outlived its ack: forward its answer off the event loop."""
    if done.cancelled() or done.exception() is not None:
        log.error("a late request failed", exc_info=done.exception())
        return
    asyncio.get_running_loop().run_in_executor(None, deliver_late_answer, body, done.result())


def build_asgi(
    app: App,
    ack_budget: Callable[[], float] = lambda: DEFAULT_ACK_BUDGET_SECONDS,
    *,
    max_body_bytes: int = MAX_BODY_BYTES,
) -> Starlette:
    """The ASGI app; `ack_budget()` is read per request (tests shorten it)."""
    secret = getattr(app, "_signing_secret", None)
    verifier = SignatureVerifier(secret) if secret else None

    async def slack_events(request: Request) -> Response:
        started = time.perf_counter()
        try:
            raw = await read_body(request, max_body_bytes)
            check_signature(verifier, request.headers, raw)
            bolt_request = parse_request(raw, request)
        except Refused as refused:
            log.warning(
                "refused request: %s status=%s latency_ms=%.1f",
                refused.why,
                refused.status,
                (time.perf_counter() - started) * 1000,
            )
            return PlainTextResponse(
                "invalid request" if refused.status == 401 else refused.why, status_code=refused.status
            )
        dispatch = asyncio.ensure_future(run_in_threadpool(app.dispatch, bolt_request))
        try:
            bolt_response = await asyncio.wait_for(asyncio.shield(dispatch), timeout=ack_budget())
        except TimeoutError:
            dispatch.add_done_callback(lambda done: _finish_late(done, bolt_request.body))
            _log_request(bolt_request, "late-ack", started)
            return Response(status_code=200)
        outcome = (
            "redelivery-skipped" if bolt_request.context.get("redelivery_skipped") else bolt_response.status
        )
        _log_request(bolt_request, outcome, started)
        return to_starlette_response(bolt_response)

    async def healthz(_: Request) -> Response:
        return PlainTextResponse("ok")

    return Starlette(
        routes=[
            Route("/slack/events", slack_events, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
        ]
    )
