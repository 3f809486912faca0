"""The HTTP front door: Bolt behind Starlette, served by uvicorn.

Bolt's own Starlette adapter runs the (sync) App on the event loop; we run
dispatch in Starlette's thread pool instead, so one slow request never stalls
the others. One log line per request: what, who, how long, outcome."""

from __future__ import annotations

import logging
import time

from slack_bolt import App, BoltRequest
from slack_bolt.adapter.starlette.handler import to_starlette_response
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

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


def build_asgi(app: App) -> Starlette:
    async def slack_events(request: Request) -> Response:
        started = time.perf_counter()
        raw = (await request.body()).decode("utf-8")
        bolt_request = BoltRequest(body=raw, query=request.query_params, headers=request.headers)  # type: ignore[arg-type]
        bolt_response = await run_in_threadpool(app.dispatch, bolt_request)
        what, who = describe(bolt_request.body)
        outcome = (
            "redelivery-skipped" if bolt_request.context.get("redelivery_skipped") else bolt_response.status
        )
        log.info(
            "%s user=%s status=%s latency_ms=%.1f", what, who, outcome, (time.perf_counter() - started) * 1000
        )
        return to_starlette_response(bolt_response)

    async def healthz(_: Request) -> Response:
        return PlainTextResponse("ok")

    return Starlette(
        routes=[
            Route("/slack/events", slack_events, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
        ]
    )
