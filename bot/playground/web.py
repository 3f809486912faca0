"""The playground's page and its small JSON API, beside the bot's own front door
(PRODUCT.md §7.1). One Starlette app on 127.0.0.1: `/` the page (server-rendered
shell, drawn by static/app.js), `/api/…` what the page asks and does, `/files/…`
what the bot uploaded, and everything else — `/slack/events` — the bot's signed
HTTP front door, exactly as `csbot run` serves it. A Content-Security-Policy of
'self' keeps the browser from loading anything that is not on this machine; the
API takes JSON only and answers only requests addressed to 127.0.0.1 or localhost."""

from __future__ import annotations

import html
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp

from bot.playground.page_state import page_state
from bot.playground.team import CHANNELS, TEAM
from bot.playground.workspace import Workspace

STATIC = Path(__file__).parent / "static"
CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; frame-ancestors 'none'; form-action 'self'"
)
CLOCK_STEPS = ("hour", "day", "monday")


class ClockControl(Protocol):
    """The app's clock as the page may move it; `advance` runs the jobs that fall due."""

    def now(self) -> datetime: ...

    def advance(self, step: str) -> datetime: ...


def page(clock: ClockControl, tz: str) -> str:
    """The page's shell: sidebar, you-are switch, clock; app.js draws the rest from /api/state."""
    people = "".join(
        f'<option value="{html.escape(p.slack_id)}">{html.escape(p.label)}</option>' for p in TEAM
    )
    channels = "".join(
        f'<li><a href="#" class="chan" data-channel="{html.escape(c.id)}" title="{html.escape(c.purpose)}">'
        f'# {html.escape(c.name)}<span class="count"></span></a></li>'
        for c in CHANNELS
    )
    now = html.escape(clock.now().isoformat())
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>csbot playground</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="/static/app.css"></head>
<body data-tz="{html.escape(tz)}">
<aside id="sidebar">
  <h1>csbot playground</h1>
  <label class="you">You are
    <select id="you" aria-label="You are">{people}</select></label>
  <nav><h2>Channels</h2><ul id="channels">{channels}</ul>
  <h2>Apps</h2><ul><li><a href="#" class="chan" data-channel="home" id="home-link">csbot — Home</a></li>
  <li><a href="#" class="chan" id="dm-link" data-channel="dm">csbot — Messages</a></li></ul></nav>
  <section id="clock"><h2>Clock</h2><div id="clock-now" data-now="{now}">{now}</div>
    <button type="button" data-step="hour">+1 hour</button>
    <button type="button" data-step="day">+1 day</button>
    <button type="button" data-step="monday">Next Monday 09:00</button>
    <div id="clock-status" role="status"></div></section>
  <p class="note">Everything here runs on 127.0.0.1: the real bot, a local Slack, a sample team.</p>
</aside>
<main id="main"><header id="channel-header"></header>
  <div id="messages" aria-live="polite"></div>
  <form id="composer" autocomplete="off"><input id="composer-input" name="text"
    placeholder="/cs help — type a /cs command" aria-label="Message">
    <button type="submit">Send</button></form>
</main>
<aside id="thread" hidden>
  <header><span>Thread</span><button type="button" id="thread-close">×</button></header>
  <div id="thread-messages"></div></aside>
<div id="modal-layer" hidden></div>
<div id="confirm-layer" hidden></div>
<script src="/static/blockkit.js"></script>
<script src="/static/app.js"></script>
</body></html>"""


def build_playground_asgi(
    workspace: Workspace, clock: ClockControl, bot_asgi: ASGIApp, *, tz: str
) -> Starlette:
    """The page, its API and the bot's front door on one port."""

    async def index(_: Request) -> Response:
        return HTMLResponse(page(clock, tz), headers={"Content-Security-Policy": CSP})

    async def state(request: Request) -> Response:
        user = request.query_params.get("user") or TEAM[0].slack_id
        channel = request.query_params.get("channel") or None
        data = await run_in_threadpool(page_state, workspace, user, channel)
        data["clock"] = clock.now().isoformat()
        return JSONResponse(data)

    def refused(request: Request) -> Response | None:
        """Only the page's own script sends JSON here: a form another site submits is refused."""
        if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
            return JSONResponse({"ok": False, "error": "send JSON (Content-Type: application/json)"}, 415)
        return None

    async def act(request: Request) -> Response:
        if (no := refused(request)) is not None:
            return no
        body: dict[str, Any] = await request.json()
        what = request.path_params["what"]
        user = str(body.get("user") or "")
        try:
            workspace.person(user)
            result = await run_in_threadpool(_do, what, user, body)
        except (KeyError, ValueError) as exc:
            error = str(exc.args[0] if exc.args else exc)
            return JSONResponse({"ok": False, "error": error}, status_code=400)
        return JSONResponse({"ok": True, **result})

    def _do(what: str, user: str, body: dict[str, Any]) -> dict[str, Any]:
        if what == "command":
            text = str(body.get("text") or "").strip()
            if text.startswith("/cs"):
                text = text[3:].strip()
            reply = workspace.command(user, str(body["channel"]), text)
        elif what == "action":
            reply = workspace.action(user, dict(body["where"]), dict(body["action"]))
        elif what == "options":
            return {
                "options": workspace.options(user, body["action_id"], body["block_id"], body.get("value", ""))
            }
        elif what == "submit":
            reply = workspace.submit(user, dict(body.get("values") or {}))
        elif what == "close":
            workspace.close(user)
            return {}
        elif what == "say":
            workspace.say(user, str(body["channel"]), str(body.get("text") or ""))
            return {}
        elif what == "shortcut":
            reply = workspace.shortcut(user, str(body["channel"]), str(body["ts"]))
        elif what == "home":
            reply = workspace.open_home(user)
        else:
            raise KeyError(f"unknown request {what}")
        return {"status": reply.status}

    async def move_clock(request: Request) -> Response:
        if (no := refused(request)) is not None:
            return no
        step = (await request.json()).get("step")
        if step not in CLOCK_STEPS:
            return JSONResponse({"ok": False, "error": f"step must be one of {', '.join(CLOCK_STEPS)}"}, 400)
        now = await run_in_threadpool(clock.advance, step)
        return JSONResponse({"ok": True, "clock": now.isoformat()})

    async def file(request: Request) -> Response:
        with workspace.fake._lock:
            f = workspace.fake.files.get(request.path_params["file_id"])
            content = bytes(f["content"]) if f and f.get("uploaded") else None
            name = str(f["name"]) if f else ""
        if content is None:
            return Response("no such file", status_code=404)
        kind = "image/png" if name.lower().endswith(".png") else "application/octet-stream"
        return Response(content, media_type=kind)

    return Starlette(
        routes=[
            Route("/", index, methods=["GET"]),
            Route("/api/state", state, methods=["GET"]),
            Route("/api/clock", move_clock, methods=["POST"]),
            Route("/api/{what}", act, methods=["POST"]),
            Route("/files/{file_id}", file, methods=["GET"]),
            Route("/favicon.ico", lambda _: Response(status_code=204), methods=["GET"]),
            Mount("/static", StaticFiles(directory=STATIC)),
            Mount("/", bot_asgi),
        ],
        # 127.0.0.1 only, by name too: a page elsewhere cannot reach it through DNS rebinding.
        middleware=[Middleware(TrustedHostMiddleware, allowed_hosts=["127.0.0.1", "localhost"])],
    )
