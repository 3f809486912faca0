"""The HTTP front door: Bolt behind Starlette, served by uvicorn.

Bolt's own Starlette adapter runs the (sync) App on the event loop; we run
dispatch in Starlette's thread pool instead, so one slow request never stalls
the others, and give it an ack budget (bot/ack_budget.py): past it, Slack gets
an empty 200 at once and a command's late answer goes to its response_url.
One log line per request: what, who, how long, outcome."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from slack_bolt import App, BoltRequest
from slack_bolt.adapter.starlette.handler import to_starlette_response
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from bot.slack.ack_budget import DEFAULT_ACK_BUDGET_SECONDS, deliver_late_answer

log = logging.getLogger("csbot.requests")


def describe(body: dict) -> tuple[str, str]:
    """(what, who) for the request log line; never tokens or free text."""
    kind = body.get("type")
    if "command" in body:
        sub = (body.get("text") or "").strip().split(" ", 1)[0]
        return f"command {body['command']} {sub}".strip(), body.get("user_id", "-")
    if kind == "block_actions":
        actions = body.get("actions") or [{}]
        return f"action {actions[0].get('action_id', '?')}", (body.get("user") or {}).get("id", "-")
    if kind in {"view_submission", "view_closed"}:
        return f"{kind} {(body.get('view') or {}).get('callback_id', '?')}", (body.get("user") or {}).get(
            "id", "-"
        )
    if kind in {"shortcut", "message_action", "block_suggestion"}:
        return f"{kind} {body.get('callback_id') or body.get('action_id', '?')}", (
            body.get("user") or {}
        ).get("id", "-")
    if kind == "event_callback":
        event = body.get("event") or {}
        return f"event {event.get('type', '?')}", event.get("user", "-")
    return str(kind or "unknown"), "-"


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


def build_asgi(app: App, ack_budget: Callable[[], float] = lambda: DEFAULT_ACK_BUDGET_SECONDS) -> Starlette:
    """The ASGI app; `ack_budget()` is read per request (tests shorten it)."""

    async def slack_events(request: Request) -> Response:
        started = time.perf_counter()
        raw = (await request.body()).decode("utf-8")
        bolt_request = BoltRequest(body=raw, query=request.query_params, headers=request.headers)  # type: ignore[arg-type]
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
