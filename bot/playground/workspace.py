"""The local Slack the playground page shows (PRODUCT.md §7.1).

The fake Web API records what the bot did (messages, edits, ephemerals, views,
Home tabs); this class adds what only Slack's client knows: which modal each
person has open, the ephemeral replies that came back in an ack or through a
response_url, and the inline errors of a submitted modal. The page reads
`state()`; every click goes through `SlackSender` as a real signed request."""

from __future__ import annotations

import copy
import itertools
import threading
from dataclasses import dataclass, field
from typing import Any

from bot.playground.fake_slack import FakeSlack
from bot.playground.sender import Reply, SlackSender, escape_mentions, new_trigger_id
from bot.playground.team import BY_ID, CHANNELS, CUSTOMER_CONTACT, CUSTOMER_MESSAGE, TEAM, Person

LOG_SHORTCUT = "log_as_touchpoint"  # CallbackId.LOG_AS_TOUCHPOINT in manifest.yml


@dataclass
class Ephemeral:
    id: int
    user: str
    channel: str
    text: str
    blocks: list[dict[str, Any]] | None = None
    thread_ts: str | None = None
    kind: str = "bot"  # bot (a reply only you see) / echo (the command you typed)


@dataclass
class _Origin:
    """Where a response_url came from: who clicked, in which channel, on which ephemeral."""

    user: str
    channel: str
    ephemeral: int | None = None


@dataclass
class Modal:
    id: str
    view: dict[str, Any] | None = None  # set when the view came in an ack (response_action update/push)


@dataclass
class _Seen:
    responses: int = 0
    ephemerals: int = 0
    calls: int = 0


@dataclass
class Workspace:
    fake: FakeSlack
    sender: SlackSender
    people: tuple[Person, ...] = TEAM
    ephemerals: list[Ephemeral] = field(default_factory=list)
    modals: dict[str, list[Modal]] = field(default_factory=dict)  # user -> stack (top last)
    errors: dict[str, dict[str, str]] = field(default_factory=dict)  # user -> block_id -> message

    def __post_init__(self) -> None:
        self.lock = threading.RLock()
        self._ids = itertools.count(1)
        self._origins: dict[str, _Origin] = {}
        self._triggers: dict[str, str] = {}  # trigger_id -> user
        self._seen = _Seen()
        self._version = 0

    # ------------------------------------------------------------------ setup

    def populate(self) -> None:
        """Tell the fake who is in the workspace and which channels exist."""
        for p in self.people:
            self.fake.add_user(p.slack_id, name=p.name, email=p.email, tz=p.tz)
        self.fake.add_user(CUSTOMER_CONTACT.slack_id, name=CUSTOMER_CONTACT.name, tz=CUSTOMER_CONTACT.tz)
        for channel in CHANNELS:
            self.fake.add_channel(channel.id, name=channel.name)
        customer = CHANNELS[-1]
        if not self.fake.messages_in(customer.id):
            self.fake.add_message(customer.id, CUSTOMER_MESSAGE, user=CUSTOMER_CONTACT.slack_id)

    def person(self, user_id: str) -> Person:
        found = BY_ID.get(user_id) or next((p for p in self.people if p.slack_id == user_id), None)
        if found is None:
            raise KeyError(f"unknown person {user_id}")
        return found

    # ------------------------------------------------------------------ bookkeeping

    def _touch(self) -> None:
        self._version += 1

    def version(self) -> int:
        with self.fake._lock:
            return self._version + len(self.fake.calls) + len(self.fake.responses)

    def _trigger(self, user: str) -> str:
        trigger = new_trigger_id()
        self._triggers[trigger] = user
        return trigger

    def _response_url(self, origin: _Origin) -> str:
        url = self.fake.response_url()
        self._origins[url] = origin
        return url

    def _add_ephemeral(self, user: str, channel: str, body: dict[str, Any], **extra: Any) -> Ephemeral:
        eph = Ephemeral(next(self._ids), user, channel, body.get("text") or "", body.get("blocks"), **extra)
        self.ephemerals.append(eph)
        self._touch()
        return eph

    def _post_as_bot(self, channel: str, body: dict[str, Any]) -> None:
        self.fake.add_message(
            channel, body.get("text") or "", user=self.fake.bot_user_id, blocks=body.get("blocks")
        )

    def _answer(self, user: str, channel: str, body: dict[str, Any], *, replace: int | None = None) -> None:
        """A reply to a person's command or click: in the channel, replacing their ephemeral, or a new one."""
        if not (body.get("text") or body.get("blocks") or body.get("delete_original")):
            return
        if body.get("response_type") == "in_channel":
            self._post_as_bot(channel, body)
            return
        target = next((e for e in self.ephemerals if e.id == replace), None)
        if target is not None and body.get("delete_original") in (True, "true"):
            self.ephemerals.remove(target)
            self._touch()
            return
        if target is not None and body.get("replace_original") in (True, "true"):
            target.text, target.blocks = body.get("text") or "", body.get("blocks")
            self._touch()
            return
        self._add_ephemeral(user, channel, body)

    def sync(self) -> None:
        """Fold what the fake recorded since last time into the page's state."""
        with self.lock, self.fake._lock:
            responses = self.fake.responses[self._seen.responses :]
            ephemerals = self.fake.ephemerals[self._seen.ephemerals :]
            calls = self.fake.calls[self._seen.calls :]
            self._seen = _Seen(len(self.fake.responses), len(self.fake.ephemerals), len(self.fake.calls))
        with self.lock:
            for r in responses:
                origin = self._origins.get(r.url)
                if origin is not None and r.status == 200:
                    self._answer(origin.user, origin.channel, r.body, replace=origin.ephemeral)
            for e in ephemerals:
                self._add_ephemeral(e["recipient"], e["channel"], e, thread_ts=e.get("thread_ts"))
            for c in calls:
                self._view_call(c.method, c.args, c.response)

    def _view_call(self, method: str, args: dict[str, Any], response: dict[str, Any]) -> None:
        if method not in ("views.open", "views.push") or not response.get("ok"):
            return
        user = self._triggers.get(str(args.get("trigger_id") or ""))
        if user is None:
            return
        view_id = response["view"]["id"]
        stack = self.modals.setdefault(user, [])
        if method == "views.open":
            stack.clear()
        stack.append(Modal(view_id))
        self.errors.pop(user, None)
        self._touch()

    # ------------------------------------------------------------------ what the page shows

    def top_view(self, user: str) -> dict[str, Any] | None:
        stack = self.modals.get(user) or []
        if not stack:
            return None
        top = stack[-1]
        if top.view is not None:
            return copy.deepcopy(top.view)
        with self.fake._lock:
            stored = self.fake.views.get(top.id)
            return copy.deepcopy(stored) if stored else None

    def channel_name(self, channel: str) -> str:
        return next((c.name for c in CHANNELS if c.id == channel), "directmessage")

    # ------------------------------------------------------------------ what a person does

    def say(self, user: str, channel: str, text: str) -> None:
        """A plain message typed by a person (something to use the message shortcut on)."""
        self.person(user)
        self.fake.add_message(
            channel, text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;"), user=user
        )
        self._touch()

    def command(self, user: str, channel: str, text: str) -> Reply:
        """`/cs …` typed in `channel`: the echo only its author sees, then the bot's answer."""
        me = self.person(user)
        with self.lock:
            self._add_ephemeral(user, channel, {"text": f"/cs {text}".rstrip()}, kind="echo")
            url = self._response_url(_Origin(user, channel))
        reply = self.sender.command(
            escape_mentions(text, {p.slack_id: p.name for p in self.people}),
            user_id=user,
            user_name=me.name,
            channel_id=channel,
            channel_name=self.channel_name(channel),
            response_url=url,
            trigger_id=self._trigger(user),
        )
        with self.lock:
            if reply.status == 200:
                self._answer(user, channel, reply.body)
            else:
                self._add_ephemeral(
                    user, channel, {"text": f'/cs failed with the error "dispatch_failed" ({reply.status})'}
                )
        self.sync()
        return reply

    def action(self, user: str, where: dict[str, Any], action: dict[str, Any]) -> Reply:
        """A button, select or date picker: block_actions from a message, an ephemeral, a modal or Home."""
        me = self.person(user)
        kind = where.get("kind")
        trigger = self._trigger(user)
        if kind in ("modal", "home"):
            view = self.top_view(user) if kind == "modal" else copy.deepcopy(self.fake.home_tabs.get(user))
            if view is None:
                raise KeyError("that view is not open any more")
            view["state"] = {"values": where.get("values") or {}}
            reply = self.sender.block_actions(
                user_id=user,
                user_name=me.name,
                action=action,
                trigger_id=trigger,
                container={"type": "view", "view_id": view["id"]},
                view=view,
            )
        else:
            channel = str(where.get("channel"))
            chan = {"id": channel, "name": self.channel_name(channel)}
            eph = where.get("ephemeral")
            url = self._response_url(_Origin(user, channel, int(eph) if eph else None))
            if eph:
                container = {
                    "type": "message",
                    "message_ts": "0",
                    "channel_id": channel,
                    "is_ephemeral": True,
                }
                message = None
            else:
                message = self._message(channel, str(where.get("ts")))
                container = {
                    "type": "message",
                    "message_ts": message["ts"],
                    "channel_id": channel,
                    "is_ephemeral": False,
                }
            reply = self.sender.block_actions(
                user_id=user,
                user_name=me.name,
                action=action,
                trigger_id=trigger,
                container=container,
                channel=chan,
                message=message,
                response_url=url,
            )
        self.sync()
        return reply

    def _message(self, channel: str, ts: str) -> dict[str, Any]:
        found = next((m for m in self.fake.messages_in(channel) if m["ts"] == ts), None)
        if found is None:
            raise KeyError("that message is gone")
        return found

    def options(self, user: str, action_id: str, block_id: str, value: str) -> list[dict[str, Any]]:
        """An external_select's search in the open modal (block_suggestion)."""
        view = self.top_view(user)
        if view is None:
            return []
        reply = self.sender.block_suggestion(
            user_id=user,
            user_name=self.person(user).name,
            action_id=action_id,
            block_id=block_id,
            value=value,
            view=view,
        )
        return list(reply.body.get("options") or [])

    def submit(self, user: str, values: dict[str, Any]) -> Reply:
        """Submit the top modal: close it, or show the ack's inline errors, update or push."""
        view = self.top_view(user)
        if view is None:
            raise KeyError("no form is open")
        view["state"] = {"values": values}
        reply = self.sender.view_submission(
            user_id=user, user_name=self.person(user).name, view=view, trigger_id=self._trigger(user)
        )
        with self.lock:
            stack = self.modals.setdefault(user, [])
            action = reply.body.get("response_action") if reply.status == 200 else "errors"
            if action == "errors":
                self.errors[user] = dict(
                    reply.body.get("errors") or {"": "The bot could not take this form."}
                )
            else:
                self.errors.pop(user, None)
                if action == "clear":
                    stack.clear()
                elif action == "update" and stack:
                    stack[-1] = Modal(stack[-1].id, {**reply.body["view"], "id": stack[-1].id})
                elif action == "push":
                    stack.append(Modal(f"VL{next(self._ids)}", reply.body["view"]))
                elif stack:
                    stack.pop()
            self._touch()
        self.sync()
        return reply

    def close(self, user: str) -> None:
        with self.lock:
            stack = self.modals.get(user) or []
            if stack:
                stack.pop()
            self.errors.pop(user, None)
            self._touch()

    def shortcut(self, user: str, channel: str, ts: str) -> Reply:
        """The "Log as touchpoint" message shortcut on one message."""
        message = self._message(channel, ts)
        reply = self.sender.message_shortcut(
            user_id=user,
            user_name=self.person(user).name,
            callback_id=LOG_SHORTCUT,
            channel={"id": channel, "name": self.channel_name(channel)},
            message=message,
            trigger_id=self._trigger(user),
            response_url=self._response_url(_Origin(user, channel)),
        )
        self.sync()  # the form opens after the ack: the page's next poll shows it
        return reply

    def open_home(self, user: str) -> Reply:
        """The person opened the bot's Home tab (app_home_opened)."""
        reply = self.sender.event(
            {
                "type": "app_home_opened",
                "user": user,
                "channel": self.fake.dm_channel_id(user),
                "tab": "home",
                "event_ts": "0",
            }
        )
        self.sync()
        return reply
