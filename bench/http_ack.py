"""Which HTTP front door: csbot's (Bolt dispatched in Starlette's thread pool,
under uvicorn) against a bare Bolt app on Bolt's own Starlette adapter under
uvicorn, measured in the same run. Each server runs in its own process.

    .venv/bin/python -m bench.http_ack [--requests 3000]
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from urllib.parse import urlencode

from bench.servers import add_serve_arguments, start_server

ROOT = Path(__file__).resolve().parent.parent
SECRET = "benchsecret12345"


def serve(variant: str, port: int, db_url: str, api_url: str) -> None:
    import uvicorn
    from slack_bolt import App
    from slack_sdk import WebClient

    if variant == "bolt-starlette":
        from slack_bolt.adapter.starlette import SlackRequestHandler
        from starlette.applications import Starlette
        from starlette.routing import Route

        app = App(
            signing_secret=SECRET,
            client=WebClient(token="xoxb-bench", base_url=api_url),
            token_verification_enabled=False,
            process_before_response=True,
        )

        @app.command("/cs")
        def cs(ack):  # type: ignore[no-untyped-def]
            ack(text="ok", response_type="ephemeral")

        handler = SlackRequestHandler(app)

        async def endpoint(req):  # type: ignore[no-untyped-def]
            return await handler.handle(req)

        asgi = Starlette(routes=[Route("/slack/events", endpoint, methods=["POST"])])
    else:
        from bot.app import build_app
        from bot.settings import Secret, Settings
        from bot.slack.web import build_asgi
        from models.db import make_engine

        settings = Settings(
            slack_bot_token=Secret("xoxb-bench"),
            slack_signing_secret=Secret(SECRET),
            database_url=db_url,
            slack_api_url=api_url,
        )
        app, _ = build_app(settings, make_engine(db_url))
        asgi = build_asgi(app)
    uvicorn.run(asgi, host="127.0.0.1", port=port, log_level="error", access_log=False)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=3000)
    add_serve_arguments(parser)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.port, args.db, args.api)
        return

    from bench.load import run_load
    from bot.playground.fake_slack import FakeSlack
    from models.db import make_engine
    from models.migrate import upgrade

    workdir = Path(os.environ.get("TMPDIR", "/tmp")) / f"csbot-bench-{os.getpid()}"
    workdir.mkdir(parents=True, exist_ok=True)
    db_url = f"sqlite:///{workdir / 'bench.db'}"
    upgrade(make_engine(db_url))
    fake = FakeSlack(bot_token="xoxb-bench").start()  # answers Bolt's one auth.test

    def body(i: int) -> str:
        return urlencode(
            {
                "command": "/cs",
                "text": "help",
                "user_id": "UBENCH",
                "channel_id": "CB",
                "team_id": "T1",
                "trigger_id": f"t{i}",
                "response_url": "http://127.0.0.1:9/r",
            }
        )

    results = {}
    for variant in ("bolt-starlette", "csbot"):
        command = [sys.executable, "-m", "bench.http_ack"]
        proc, port = start_server(command, variant, db_url, fake.api_url, cwd=ROOT)
        try:
            run_load(port, SECRET, body, requests=200, concurrency=2)  # warm-up
            for concurrency in (1, 8):
                r = run_load(port, SECRET, body, requests=args.requests, concurrency=concurrency)
                results[(variant, concurrency)] = r
                print(r.line(f"{variant} c={concurrency}"), flush=True)
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    for concurrency in (1, 8):
        base, ours = results[("bolt-starlette", concurrency)], results[("csbot", concurrency)]
        print(
            f"ratio csbot/baseline c={concurrency}: p50 x{ours.pct(50) / base.pct(50):.2f}, "
            f"req/s x{ours.rps / base.rps:.2f}"
        )


if __name__ == "__main__":
    main()
