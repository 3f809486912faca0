"""The shape of what Slack sends, checked once before any listener reads it.

A signed payload can still be malformed (a proxy, a replayed and edited body, a
Slack change): `actions` empty, no `user`, a view without state, a number where an
id belongs. Listeners index into these freely, so a bad shape is stopped here:
one warning line naming what was wrong (never the content) and an empty ack —
never a 500 or a traceback. Bolt itself reads some of these as it dispatches, so
the check runs before Bolt (bot/slack/once.py), after the front door's signature
check (bot/slack/web.py)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import BoltResponse

log = logging.getLogger("csbot.requests")

_STR_OR_NONE = (str, type(None))


class Malformed(ValueError):
    pass


def _need(cond: bool, what: str) -> None:
    if not cond:
        raise Malformed(what)


def _id_of(body: dict[str, Any], key: str) -> None:
    obj = body.get(key)
    _need(isinstance(obj, dict), f"{key} is not an object")
    _need(isinstance(obj.get("id"), str) and bool(obj["id"]), f"{key}.id is not a string")


def _optional_object(body: dict[str, Any], key: str) -> None:
    if key in body:
        _need(isinstance(body[key], dict | type(None)), f"{key} is not an object")


def _optional_strings(obj: dict[str, Any], keys: tuple[str, ...], where: str) -> None:
    for key in keys:
        if key in obj:
            _need(isinstance(obj[key], _STR_OR_NONE), f"{where}.{key} is not a string")


def _option(value: Any, where: str) -> None:
    _need(isinstance(value, dict | type(None)), f"{where} is not an object")
    if isinstance(value, dict):
        _need(isinstance(value.get("value"), str), f"{where}.value is not a string")


def _element(element: Any, where: str, *, action: bool = False) -> None:
    _need(isinstance(element, dict), f"{where} is not an object")
    if action:  # a clicked element: Slack omits what it has no value for, never sends null
        for key in ("value", "selected_user", "block_id", "action_ts"):
            if key in element:
                _need(isinstance(element[key], str), f"{where}.{key} is not a string")
    _optional_strings(
        element,
        (
            "type",
            "value",
            "selected_user",
            "selected_date",
            "selected_time",
            "selected_conversation",
            "selected_channel",
            "block_id",
            "action_id",
            "action_ts",
        ),
        where,
    )
    if "selected_option" in element:
        _option(element["selected_option"], f"{where}.selected_option")
    for key in ("selected_options", "selected_users", "selected_conversations", "selected_channels"):
        if key in element:
            items = element[key]
            _need(isinstance(items, list | type(None)), f"{where}.{key} is not a list")
            for item in items or []:
                if key == "selected_options":
                    _option(item, f"{where}.{key}[]")
                else:
                    _need(isinstance(item, str), f"{where}.{key}[] is not a string")


def _block_actions(body: dict[str, Any]) -> None:
    _id_of(body, "user")
    actions = body.get("actions")
    _need(isinstance(actions, list) and len(actions) > 0, "actions is not a non-empty list")
    for action in actions:
        _element(action, "actions[]", action=True)
        _need(isinstance(action.get("action_id"), str), "actions[].action_id is not a string")
    _optional_strings(body, ("trigger_id", "response_url"), "payload")
    for key in ("channel", "container", "message", "view", "team"):
        _optional_object(body, key)
    if isinstance(body.get("channel"), dict):
        _optional_strings(body["channel"], ("id",), "channel")
    if isinstance(body.get("view"), dict):
        _view(body["view"], state_required=False)


def _view(view: Any, *, state_required: bool = True) -> None:
    _need(isinstance(view, dict), "view is not an object")
    _optional_strings(view, ("id", "callback_id", "private_metadata", "hash", "type"), "view")
    state = view.get("state")
    if state is None and not state_required:
        return
    _need(isinstance(state, dict), "view.state is not an object")
    values = state.get("values")
    _need(isinstance(values, dict), "view.state.values is not an object")
    for block in values.values():
        _need(isinstance(block, dict), "view.state.values[block] is not an object")
        for element in block.values():
            _element(element, "view.state.values[block][action]")


def _view_submission(body: dict[str, Any]) -> None:
    _id_of(body, "user")
    _view(body.get("view"))
    _need(isinstance(body["view"].get("id"), str) and bool(body["view"]["id"]), "view.id is not a string")
    _optional_strings(body, ("trigger_id",), "payload")


def _view_closed(body: dict[str, Any]) -> None:
    _id_of(body, "user")
    _view(body.get("view"), state_required=False)


def _shortcut(body: dict[str, Any]) -> None:
    _id_of(body, "user")
    _need(isinstance(body.get("trigger_id"), str) and bool(body["trigger_id"]), "trigger_id is not a string")
    _optional_strings(body, ("callback_id", "response_url", "message_ts"), "payload")
    for key in ("channel", "message", "team"):
        _optional_object(body, key)
    if isinstance(body.get("channel"), dict):
        _optional_strings(body["channel"], ("id",), "channel")
    if isinstance(body.get("message"), dict):
        _optional_strings(body["message"], ("text", "ts", "user", "thread_ts"), "message")


def _suggestion(body: dict[str, Any]) -> None:
    _id_of(body, "user")
    _optional_strings(body, ("value", "action_id", "block_id"), "payload")


def _event(body: dict[str, Any]) -> None:
    event = body.get("event")
    _need(isinstance(event, dict), "event is not an object")
    _need(isinstance(event.get("type"), str), "event.type is not a string")
    _optional_strings(event, ("user", "tab", "channel", "text"), "event")


_CHECKS: dict[str, Callable[[dict[str, Any]], None]] = {
    "block_actions": _block_actions,
    "view_submission": _view_submission,
    "view_closed": _view_closed,
    "shortcut": _shortcut,
    "message_action": _shortcut,
    "block_suggestion": _suggestion,
    "event_callback": _event,
}


def check_shape(body: Any) -> str | None:
    """What is wrong with a payload's shape, or None when listeners can read it."""
    if not isinstance(body, dict):
        return "the payload is not an object"
    if "command" in body:
        return None if isinstance(body.get("user_id"), str) and body["user_id"] else "user_id is missing"
    if "type" not in body:
        return None  # ssl_check, url_verification and the like: Bolt answers them
    kind = body.get("type")
    if not isinstance(kind, str):
        return "type is not a string"
    check = _CHECKS.get(kind)
    if check is None:
        return None
    try:
        check(body)
    except Malformed as exc:
        return str(exc)
    return None


def refuse_malformed(body: Any) -> BoltResponse | None:
    """An empty ack (and one warning line) for a malformed payload; None for a good one."""
    problem = check_shape(body)
    if problem is None:
        return None
    kind = body.get("type") if isinstance(body, dict) else None
    log.warning("ignored a malformed %s payload: %s", kind if isinstance(kind, str) else "?", problem)
    return BoltResponse(status=200, body="")
