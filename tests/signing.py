"""Real-format Slack requests into the bot: form-encoded slash commands,
`payload=` interactivity, JSON events — signed with the signing secret."""

from __future__ import annotations

import itertools
import json
import time
import uuid
from typing import Any
from urllib.parse import urlencode

import httpx

from bot.playground.signing import signature

__all__ = ["SlackSender", "signature"]

_counter = itertools.count(1)


class SlackSender:
    """Sends what Slack sends, to the app's /slack/events."""

    def __init__(
        self,
        url: str,
        signing_secret: str,
        *,
        team_id: str = "T0001",
        response_url_factory: Any = None,
    ) -> None:
        self.url = url
        self.secret = signing_secret
        self.team_id = team_id
        self.response_url_factory = response_url_factory
        self.http = httpx.Client(timeout=30)

    def close(self) -> None:
        self.http.close()

    def post(
        self,
        body: str,
        content_type: str,
        *,
        retry_num: int | None = None,
        timestamp: int | None = None,
        secret: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        ts = int(time.time()) if timestamp is None else timestamp
        all_headers = {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": str(ts),
            "X-Slack-Signature": signature(secret or self.secret, ts, body),
        }
        if retry_num is not None:
            all_headers["X-Slack-Retry-Num"] = str(retry_num)
            all_headers["X-Slack-Retry-Reason"] = "http_timeout"
        all_headers.update(headers or {})
        return self.http.post(self.url, content=body.encode(), headers=all_headers)

    def command_body(
        self,
        text: str,
        *,
        user_id: str = "UCSM1",
        channel_id: str = "CGENERAL",
        command: str = "/cs",
        trigger_id: str | None = None,
        response_url: str | None = None,
    ) -> str:
        if response_url is None and self.response_url_factory is not None:
            response_url = self.response_url_factory()
        fields = {
            "token": "legacy-verification-token",
            "team_id": self.team_id,
            "team_domain": "acme-cs",
            "channel_id": channel_id,
            "channel_name": "general",
            "user_id": user_id,
            "user_name": user_id.lower(),
            "command": command,
            "text": text,
            "api_app_id": "A0CSBOT",
            "is_enterprise_install": "false",
            "response_url": response_url or "https://hooks.slack.invalid/commands/none",
            "trigger_id": trigger_id or f"{next(_counter)}.{uuid.uuid4().int % 10**12}.trig",
        }
        return urlencode(fields)

    def command(self, text: str, *, retry_num: int | None = None, **kwargs: Any) -> httpx.Response:
        return self.post(
            self.command_body(text, **kwargs), "application/x-www-form-urlencoded", retry_num=retry_num
        )

    def interactive(self, payload: dict[str, Any], **kwargs: Any) -> httpx.Response:
        payload.setdefault("team", {"id": self.team_id, "domain": "acme-cs"})
        payload.setdefault("api_app_id", "A0CSBOT")
        payload.setdefault("token", "legacy-verification-token")
        payload.setdefault("trigger_id", f"{next(_counter)}.{uuid.uuid4().int % 10**12}.trig")
        body = urlencode({"payload": json.dumps(payload)})
        return self.post(body, "application/x-www-form-urlencoded", **kwargs)

    def block_action(
        self,
        action_id: str,
        *,
        value: str | None = None,
        user_id: str = "UCSM1",
        channel_id: str = "CGENERAL",
        message: dict[str, Any] | None = None,
        container: dict[str, Any] | None = None,
        response_url: str | None = None,
        extra_action: dict[str, Any] | None = None,
        view: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        if response_url is None and self.response_url_factory is not None:
            response_url = self.response_url_factory()
        action: dict[str, Any] = {
            "action_id": action_id,
            "block_id": "b1",
            "type": "button",
            "action_ts": f"{time.time():.6f}",
        }
        if value is not None:
            action["value"] = value
        action.update(extra_action or {})
        payload: dict[str, Any] = {
            "type": "block_actions",
            "user": {"id": user_id, "username": user_id.lower(), "team_id": self.team_id},
            "channel": {"id": channel_id, "name": "general"},
            "container": container or {"type": "message", "channel_id": channel_id, "is_ephemeral": True},
            "response_url": response_url,
            "actions": [action],
        }
        if message is not None:
            payload["message"] = message
        if view is not None:
            payload["view"] = view
            payload["container"] = container or {"type": "view", "view_id": view.get("id", "V1")}
            payload.pop("channel")
            payload.pop("response_url")
        return self.interactive(payload, **kwargs)

    def view_submission(
        self,
        callback_id: str,
        values: dict[str, dict[str, Any]],
        *,
        user_id: str = "UCSM1",
        private_metadata: str = "",
        view_id: str = "V0001",
        **kwargs: Any,
    ) -> httpx.Response:
        payload = {
            "type": "view_submission",
            "user": {"id": user_id, "username": user_id.lower(), "team_id": self.team_id},
            "view": {
                "id": view_id,
                "type": "modal",
                "callback_id": callback_id,
                "private_metadata": private_metadata,
                "state": {"values": values},
                "hash": "h1",
            },
            "response_urls": [],
        }
        return self.interactive(payload, **kwargs)

    def message_shortcut(
        self,
        callback_id: str,
        message: dict[str, Any],
        *,
        user_id: str = "UCSM1",
        channel_id: str = "CGENERAL",
    ) -> httpx.Response:
        payload = {
            "type": "message_action",
            "callback_id": callback_id,
            "user": {"id": user_id, "name": user_id.lower()},
            "channel": {"id": channel_id, "name": "general"},
            "message": message,
            "message_ts": message.get("ts"),
            "response_url": self.response_url_factory() if self.response_url_factory else None,
        }
        return self.interactive(payload)

    def event(self, event: dict[str, Any], *, event_id: str | None = None, **kwargs: Any) -> httpx.Response:
        body = {
            "token": "legacy-verification-token",
            "team_id": self.team_id,
            "api_app_id": "A0CSBOT",
            "type": "event_callback",
            "event_id": event_id or f"Ev{uuid.uuid4().hex[:10].upper()}",
            "event_time": int(time.time()),
            "event": event,
        }
        return self.post(json.dumps(body), "application/json", **kwargs)
