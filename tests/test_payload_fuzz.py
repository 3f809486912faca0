"""Signed interactivity payloads, mutated (PRODUCT.md §8): real payloads of the
bot's buttons, forms, shortcut and menu search with keys missing, wrong types,
nulls and strings that name nothing. Every one is signed, so it reaches the app:
none may answer 500, log a traceback, or write a row.

Each example breaks at least one field its listener relies on (applied last, so
random noise elsewhere cannot mend it); the valid payload itself is never sent."""

from __future__ import annotations

import copy
import json
import logging
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlmodel import SQLModel

from bot.escalations.blocks import OPEN_OWNER_BLOCK, OPEN_SEVERITY_BLOCK, OPEN_SUMMARY_BLOCK
from bot.slack.action_ids import ActionId, CallbackId
from bot.touchpoints.form import B_ACCOUNT, B_NOTE
from models.db import session_scope
from models.tables import Account, Alert
from tests.escalation_helpers import ESC_CHANNEL, action_elements, flush, parent, seed_team
from tests.harness import Bot
from tests.test_alert_wiring_e2e import escalation_values
from tests.test_log_e2e import _form_values

pytestmark = pytest.mark.e2e

Path = tuple[Any, ...]
WRONG_TYPES: list[Any] = [None, 0, -1, 10**30, 1.5, True, [], [None], {}, {"id": None}, ""]
EMPTY_TEXT = [None, 0, [], {}, "", "   ", "\n\t"]  # a required text input left empty (or not text)
BAD_STRINGS = [
    "",
    "   ",
    "-1",
    "0",
    "999999",
    "abc",
    "{",
    "null",
    "[]",
    '{"escalation_id": "x"}',
    "\x00",
    "💥" * 50,
]


def _user(user_id: str = "UCSM1") -> dict[str, Any]:
    return {"id": user_id, "username": user_id.lower(), "team_id": "T0001"}


def _base(payload: dict[str, Any]) -> dict[str, Any]:
    payload.update(team={"id": "T0001", "domain": "acme-cs"}, api_app_id="A0CSBOT", token="t")
    payload["trigger_id"] = "1.2.trig"
    return payload


def _click(message: dict[str, Any], action_id: str, response_url: str, **extra: Any) -> dict[str, Any]:
    block_id, element = action_elements(message)[action_id]
    action = {"action_id": action_id, "block_id": block_id, "type": element["type"], "action_ts": "1.5"}
    if "value" in element:
        action["value"] = element["value"]
    action.update(extra)
    return _base(
        {
            "type": "block_actions",
            "user": _user(),
            "channel": {"id": ESC_CHANNEL, "name": "escalations"},
            "container": {"type": "message", "message_ts": message["ts"], "channel_id": ESC_CHANNEL},
            "message": message,
            "response_url": response_url,
            "actions": [action],
        }
    )


def _submission(callback_id: str, values: dict[str, Any], metadata: str, view_id: str) -> dict[str, Any]:
    return _base(
        {
            "type": "view_submission",
            "user": _user(),
            "view": {
                "id": view_id,
                "type": "modal",
                "callback_id": callback_id,
                "private_metadata": metadata,
                "state": {"values": values},
                "hash": "h1",
            },
        }
    )


REQUIRED_BLOCK_ACTION: list[Path] = [
    ("user",),
    ("user", "id"),
    ("actions",),
    ("actions", 0),
    ("actions", 0, "action_id"),
    ("type",),
]
REQUIRED_VIEW: list[Path] = [
    ("user",),
    ("user", "id"),
    ("view",),
    ("view", "id"),
    ("view", "state"),
    ("view", "state", "values"),
    ("type",),
]


def _payloads(bot: Bot) -> dict[str, tuple[dict[str, Any], list[Path], list[tuple[Path, ...]]]]:
    """name -> (real payload, required paths (any change breaks it), groups of value
    paths (a wrong type or a string that names nothing, in all of a group, breaks it:
    an escalation button names its escalation by its value and by its block id))."""
    bot.send.command("escalate Acme Corp sev1 checkout down for EU users", user_id="UCSM2")
    flush(bot)
    msg = parent(bot)
    url = bot.fake.response_url()
    with session_scope(bot.engine) as s:
        acme = s.exec(select(Account).where(Account.name == "Acme Corp")).scalars().one()
        s.add(Alert(account_id=acme.id, reasons=["red"], first_seen=bot.clock.now(), news_at=bot.clock.now()))
        acme_id = acme.id
    undo_value = bot.send.command("nps Acme Corp 3 slow", user_id="UCSM1").json()["blocks"][-1]["elements"][
        0
    ]["value"]
    button = (*REQUIRED_BLOCK_ACTION, ("actions", 0, "value"))
    esc_ids = [(("actions", 0, "value"), ("actions", 0, "block_id"))]
    snooze = _click(msg, ActionId.ESC_ACK, url)
    snooze["actions"][0].update(
        action_id=ActionId.ALERT_SNOOZE, value=str(acme_id), block_id=f"alert_{acme_id}"
    )
    undo = _click(msg, ActionId.ESC_ACK, url)
    undo["actions"][0].update(action_id=ActionId.UNDO, value=undo_value, block_id="b1")
    note_values = {"note": {"note_input": {"type": "plain_text_input", "value": "Customer confirms"}}}
    meta = json.dumps({"escalation_id": 1})
    log_values = _form_values(acme_id)
    return {
        "acknowledge": (_click(msg, ActionId.ESC_ACK, url), list(REQUIRED_BLOCK_ACTION), esc_ids),
        "escalate": (_click(msg, ActionId.ESC_ESCALATE, url), list(REQUIRED_BLOCK_ACTION), esc_ids),
        "reassign": (
            _click(msg, ActionId.ESC_REASSIGN, url, selected_user="UCSM2"),
            list(REQUIRED_BLOCK_ACTION),
            [(("actions", 0, "selected_user"),), *esc_ids],
        ),
        "note button": (_click(msg, ActionId.ESC_NOTE, url), list(REQUIRED_BLOCK_ACTION), esc_ids),
        "snooze": (snooze, list(button), [(("actions", 0, "value"),)]),
        "undo": (undo, list(button), [(("actions", 0, "value"),)]),
        "note form": (
            _submission(CallbackId.ESC_NOTE_MODAL, note_values, meta, "VNOTE"),
            [*REQUIRED_VIEW, ("view", "state", "values", "note", "note_input", "value")],
            [
                (("view", "private_metadata"),),
                (("view", "state", "values", "note", "note_input", "value"), "text"),
            ],
        ),
        "resolve form": (
            _submission(CallbackId.ESC_RESOLVE_MODAL, note_values, meta, "VRES"),
            [*REQUIRED_VIEW, ("view", "state", "values", "note", "note_input", "value")],
            [
                (("view", "private_metadata"),),
                (("view", "state", "values", "note", "note_input", "value"), "text"),
            ],
        ),
        "open escalation form": (
            _submission(
                CallbackId.ESC_OPEN_MODAL,
                escalation_values(owner="UCSM1"),
                json.dumps({"account_id": acme_id}),
                "VOPEN",
            ),
            [*REQUIRED_VIEW, ("view", "private_metadata")],
            [
                (("view", "state", "values", OPEN_SUMMARY_BLOCK, ActionId.ESC_FORM_SUMMARY, "value"), "text"),
                (
                    (
                        "view",
                        "state",
                        "values",
                        OPEN_SEVERITY_BLOCK,
                        ActionId.ESC_FORM_SEVERITY,
                        "selected_option",
                    ),
                ),
                (("view", "state", "values", OPEN_OWNER_BLOCK, ActionId.ESC_FORM_OWNER, "selected_user"),),
            ],
        ),
        "log form": (
            _submission(CallbackId.LOG_MODAL, log_values, "{}", "VLOG"),
            [*REQUIRED_VIEW, ("view", "state", "values", B_ACCOUNT, ActionId.LOG_ACCOUNT, "selected_option")],
            [
                (("view", "state", "values", B_ACCOUNT, ActionId.LOG_ACCOUNT, "selected_option", "value"),),
                (("view", "state", "values", B_NOTE, ActionId.LOG_NOTE, "value"), "text"),
            ],
        ),
    }


def _rows(bot: Bot) -> int:
    with session_scope(bot.engine) as s:
        return sum(
            s.execute(select(func.count()).select_from(t)).scalar_one()
            for t in SQLModel.metadata.sorted_tables
        )


def _set(payload: Any, path: Path, value: Any, *, delete: bool = False) -> None:
    """Set (or delete) `path`; creates missing dict keys, skips when a parent is not a container."""
    node = payload
    for key in path[:-1]:
        if isinstance(node, dict) and isinstance(key, str):
            node = node.setdefault(key, {})
        elif isinstance(node, list) and isinstance(key, int) and key < len(node):
            node = node[key]
        else:
            return
    last = path[-1]
    if isinstance(node, dict) and isinstance(last, str):
        if delete:
            node.pop(last, None)
        else:
            node[last] = value
    elif isinstance(node, list) and isinstance(last, int) and last < len(node):
        if delete:
            node.pop(last)
        else:
            node[last] = value


def _paths(payload: Any, prefix: Path = ()) -> list[Path]:
    found: list[Path] = []
    if isinstance(payload, dict):
        for key, value in payload.items():
            found.append((*prefix, key))
            found += _paths(value, (*prefix, key))
    elif isinstance(payload, list):
        for i, value in enumerate(payload[:3]):
            found.append((*prefix, i))
            found += _paths(value, (*prefix, i))
    return found


@pytest.fixture
def fuzz_bot(bot: Bot, caplog: pytest.LogCaptureFixture) -> Iterator[tuple[Bot, dict[str, Any]]]:
    seed_team(bot.engine, bot.clock)
    bot.deps.accounts.invalidate()
    bot.deps.ack_budget_seconds = 30.0  # answers in the HTTP reply even on a loaded machine
    payloads = _payloads(bot)
    flush(bot)
    yield bot, payloads


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    derandomize=True,
)
@given(data=st.data())
def test_mutated_signed_payloads_never_500_never_write(
    fuzz_bot: tuple[Bot, dict[str, Any]], caplog: pytest.LogCaptureFixture, data: st.DataObject
) -> None:
    bot, payloads = fuzz_bot
    name = data.draw(st.sampled_from(sorted(payloads)), label="payload")
    real, required, values = payloads[name]
    payload = copy.deepcopy(real)
    # noise anywhere first ...
    for path in data.draw(st.lists(st.sampled_from(_paths(real)), max_size=2), label="noise"):
        if data.draw(st.booleans(), label="delete"):
            _set(payload, path, None, delete=True)
        else:
            _set(payload, path, data.draw(st.sampled_from(WRONG_TYPES), label="noise value"))
    # ... then the change that breaks it
    if values and data.draw(st.booleans(), label="break a value"):
        group = data.draw(st.sampled_from(values), label="value paths")
        paths = [p for p in group if p != "text"]
        choices = EMPTY_TEXT if "text" in group else [*WRONG_TYPES[:-1], *BAD_STRINGS]
        bad = data.draw(st.sampled_from(choices), label="bad value")
        for path in paths:
            _set(payload, path, bad)
    else:
        path = data.draw(st.sampled_from(required), label="required path")
        if data.draw(st.booleans(), label="delete required"):
            _set(payload, path, None, delete=True)
        else:
            _set(payload, path, data.draw(st.sampled_from(WRONG_TYPES), label="wrong type"))
    if isinstance(payload.get("trigger_id"), str):
        payload["trigger_id"] = f"{time.time_ns()}.trig"  # a fresh request each time
    before = _rows(bot)
    caplog.clear()
    response = bot.send.post(urlencode({"payload": json.dumps(payload)}), "application/x-www-form-urlencoded")
    bot.deps.executor.submit(lambda: None).result(timeout=10)  # work handed on after the ack is done
    assert response.status_code < 500, (name, payload)
    assert _rows(bot) == before, (name, payload)
    tracebacks = [r.getMessage() for r in caplog.records if r.exc_info and not r.name.startswith("httpx")]
    assert tracebacks == [], (name, payload)
    assert all(r.levelno < logging.ERROR for r in caplog.records), [r.getMessage() for r in caplog.records]
