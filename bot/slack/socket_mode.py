"""Socket Mode with the same ack budget as HTTP (bot/ack_budget.py): Bolt's own
handler sends the envelope ack only when dispatch returns, so a slow database
would make Slack give up. Here the ack goes out on time and a late answer goes
to the response_url."""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from time import time

from slack_bolt import App, BoltResponse
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_bolt.adapter.socket_mode.internals import run_bolt_app, send_response
from slack_sdk.socket_mode.client import BaseSocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse

from bot.slack.ack_budget import deliver_late_answer

log = logging.getLogger(__name__)


class BudgetedSocketModeHandler(SocketModeHandler):
    def __init__(self, app: App, app_token: str, ack_budget: Callable[[], float]) -> None:
        super().__init__(app, app_token)
        self._ack_budget = ack_budget
        self._work = ThreadPoolExecutor(max_workers=16, thread_name_prefix="csbot-socket")

    def handle(self, client: BaseSocketModeClient, req: SocketModeRequest) -> None:  # type: ignore[override]
        start = time()
        future: Future[BoltResponse] = self._work.submit(run_bolt_app, self.app, req)
        try:
            response = future.result(timeout=self._ack_budget())
        except FutureTimeout:
            client.send_socket_mode_response(SocketModeResponse(envelope_id=req.envelope_id))
            future.add_done_callback(lambda done: _finish_late(done, req))
            return
        send_response(client, req, response, start)


def _finish_late(done: Future[BoltResponse], req: SocketModeRequest) -> None:
    if done.exception() is not None:
        log.error("a late Socket Mode request failed", exc_info=done.exception())
        return
    deliver_late_answer(req.payload, done.result())
