"""Slack waits 3 s for an ack and then shows the user an error (and redelivers).

Listeners do their work inline and reply in the ack: that is the fast path, one
thread per request. The transports (bot/web.py for HTTP, bot/socket_mode.py)
give every request an ack budget instead: when dispatch is still running at the
deadline (a slow database), they ack empty at once, and the reply the ack would
have carried goes to the request's response_url when the work finishes."""

from __future__ import annotations

import json
import logging
from typing import Any

from slack_bolt import BoltResponse
from slack_sdk.webhook import WebhookClient

log = logging.getLogger(__name__)

DEFAULT_ACK_BUDGET_SECONDS = 2.0


def deliver_late_answer(body: dict[str, Any], response: BoltResponse) -> None:
    """Send the reply that missed the ack to the request's response_url.

    Slash commands carry one; buttons answer through respond() themselves, so an
    empty late ack is all they had to say. A modal's late `response_action`
    (e.g. inline errors) cannot be delivered any more: logged."""
    if response.status != 200 or not response.body:
        return
    try:
        payload = json.loads(response.body)
    except ValueError:
        payload = {"text": response.body}
    if not payload:
        return
    url = body.get("response_url")
    if not url:
        log.warning("a late answer had nowhere to go (no response_url): %s", sorted(payload))
        return
    try:
        WebhookClient(url).send_dict(payload)
    except Exception:  # the user already has the ack; log and move on
        log.warning("could not deliver a late answer to response_url", exc_info=True)
