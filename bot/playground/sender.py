"""What Slack sends to the bot, built and signed the way Slack does (PRODUCT.md §7.1).

The playground's page never calls the bot's code directly: each click becomes
the request Slack would send (a form-encoded slash command, a `payload=`
interaction, a JSON event), signed with the signing secret and posted over
HTTP to the bot's own /slack/events on 127.0.0.1, so the page exercises the
same front door, verification and listeners a workspace would."""

from __future__ import annotations

import itertools
import json
import time
import urllib.request
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

from bot.playground.signing import signed_headers

FORM = "application/x-www-form-urlencoded"
_ids = itertools.count(1)


@dataclass(frozen=True)
class Reply:
    """The bot's HTTP answer to one request: status and decoded JSON body (or {})."""

    status: int
    body: dict[str, Any]


def escape_mentions(text: str, names: dict[str, str]) -> str:
    """`@maya` -> `<@UCSM01|maya>`, as Slack's client sends a command's mentions
    when the command escapes them (manifest.yml: should_escape)."""
    by_name = {name: uid for uid, name in names.items()}

    def one(token: str) -> str:
        uid = by_name.get(token[1:]) if token.startswith("@") else None
        return f"<@{uid}|{token[1:]}>" if uid else token

    return " ".join(one(t) for t in text.split(" "))


def new_trigger_id() -> str:
    return f"{next(_ids)}.{uuid.uuid4().int % 10**12}.trig"


def check_loopback(url: str) -> None:
    """The playground only ever talks to this machine: refuse any other host."""
    host = urlsplit(url).hostname
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise ValueError(f"the playground only sends to 127.0.0.1, not {host!r}")


class SlackSender:
    """Posts signed Slack requests to one /slack/events URL."""

    def __init__(
        self, events_url: str, signing_secret: str, *, team_id: str, app_id: str = "A0CSBOT"
    ) -> None:
        check_loopback(events_url)
        self.events_url = events_url
        self.secret = signing_secret
        self.team_id = team_id
        self.app_id = app_id

    def post(self, body: str, content_type: str) -> Reply:
        ts = int(time.time())  # Slack's signature carries real time; the bot checks it is recent
        headers = signed_headers(self.secret, ts, body, content_type)
        request = urllib.request.Request(self.events_url, data=body.encode(), headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310 (loopback only)
                raw, status = answer.read(), answer.status
        except urllib.error.HTTPError as err:
            raw, status = err.read(), err.code
        try:
            decoded = json.loads(raw) if raw.strip() else {}
        except ValueError:
            decoded = {"text": raw.decode("utf-8", "replace")}
        return Reply(status, decoded if isinstance(decoded, dict) else {})

    def _user(self, user_id: str, name: str) -> dict[str, Any]:
        return {"id": user_id, "username": name, "name": name, "team_id": self.team_id}

    def command(
        self,
        text: str,
        *,
        user_id: str,
        user_name: str,
        channel_id: str,
        channel_name: str,
        response_url: str,
        trigger_id: str,
    ) -> Reply:
        fields = {
            "token": "playground-verification-token",
            "team_id": self.team_id,
            "team_domain": "playground",
            "channel_id": channel_id,
            "channel_name": channel_name,
            "user_id": user_id,
            "user_name": user_name,
            "command": "/cs",
            "text": text,
            "api_app_id": self.app_id,
            "is_enterprise_install": "false",
            "response_url": response_url,
            "trigger_id": trigger_id,
        }
        return self.post(urlencode(fields), FORM)

    def interactive(self, payload: dict[str, Any]) -> Reply:
        payload.setdefault("team", {"id": self.team_id, "domain": "playground"})
        payload.setdefault("api_app_id", self.app_id)
        payload.setdefault("token", "playground-verification-token")
        return self.post(urlencode({"payload": json.dumps(payload)}), FORM)

    def block_actions(
        self,
        *,
        user_id: str,
        user_name: str,
        action: dict[str, Any],
        trigger_id: str,
        container: dict[str, Any],
        channel: dict[str, Any] | None = None,
        message: dict[str, Any] | None = None,
        view: dict[str, Any] | None = None,
        response_url: str | None = None,
    ) -> Reply:
        payload: dict[str, Any] = {
            "type": "block_actions",
            "user": self._user(user_id, user_name),
            "container": container,
            "trigger_id": trigger_id,
            "actions": [{**action, "action_ts": f"{time.time():.6f}"}],
        }
        if channel is not None:
            payload["channel"] = channel
        if message is not None:
            payload["message"] = message
        if view is not None:
            payload["view"] = view
        if response_url is not None:
            payload["response_url"] = response_url
        return self.interactive(payload)

    def block_suggestion(
        self,
        *,
        user_id: str,
        user_name: str,
        action_id: str,
        block_id: str,
        value: str,
        view: dict[str, Any],
    ) -> Reply:
        return self.interactive(
            {
                "type": "block_suggestion",
                "user": self._user(user_id, user_name),
                "container": {"type": "view", "view_id": view.get("id")},
                "action_id": action_id,
                "block_id": block_id,
                "value": value,
                "view": view,
            }
        )

    def view_submission(
        self, *, user_id: str, user_name: str, view: dict[str, Any], trigger_id: str
    ) -> Reply:
        return self.interactive(
            {
                "type": "view_submission",
                "user": self._user(user_id, user_name),
                "view": view,
                "trigger_id": trigger_id,
                "response_urls": [],
            }
        )

    def message_shortcut(
        self,
        *,
        user_id: str,
        user_name: str,
        callback_id: str,
        channel: dict[str, Any],
        message: dict[str, Any],
        trigger_id: str,
        response_url: str,
    ) -> Reply:
        return self.interactive(
            {
                "type": "message_action",
                "callback_id": callback_id,
                "trigger_id": trigger_id,
                "user": self._user(user_id, user_name),
                "channel": channel,
                "message": message,
                "message_ts": message.get("ts"),
                "response_url": response_url,
            }
        )

    def event(self, event: dict[str, Any]) -> Reply:
        body = {
            "token": "playground-verification-token",
            "team_id": self.team_id,
            "api_app_id": self.app_id,
            "type": "event_callback",
            "event_id": f"Ev{uuid.uuid4().hex[:10].upper()}",
            "event_time": int(time.time()),
            "event": event,
        }
        return self.post(json.dumps(body), "application/json")
