"""Every Block Kit block and element the bot sends has a drawing on the playground's
page (bot/playground/static/blockkit.js; PRODUCT.md §7.1).

A tour of the bot's surfaces on a fresh playground — commands, their buttons, the
forms, alerts, escalations and their pages, Home — collects every block the bot
sent (messages, edits, ephemerals, response_url answers, acks, views), and the
modal builders are called directly too; any type the page has no drawer for fails."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from bot.escalations.blocks import note_modal, open_escalation_modal
from bot.runner import Playground
from bot.slack.action_ids import CallbackId
from bot.touchpoints.form import log_modal

JS = Path(__file__).resolve().parent.parent / "bot" / "playground" / "static" / "blockkit.js"
MAYA, LEO = "UCSM01", "UCSM02"
TEXT_OBJECTS = {"mrkdwn", "plain_text"}


def drawers(table: str) -> set[str]:
    """The names of the drawers in one of blockkit.js's tables (BLOCKS, ELEMENTS)."""
    source = JS.read_text()
    body = source[source.index(f"const {table} = {{") :]
    body = body[: body.index("\n  };")]
    return set(re.findall(r"^    (\w+)\(", body, flags=re.M))


def types_in(blocks: list[dict[str, Any]]) -> tuple[set[str], set[str]]:
    """(block types, element types) in a list of blocks, nested elements included."""
    block_types: set[str] = set()
    element_types: set[str] = set()
    for b in blocks:
        block_types.add(b["type"])
        elements = [b.get("accessory"), b.get("element"), *(b.get("elements") or [])]
        for el in elements:
            if isinstance(el, dict) and b["type"] in ("section", "input", "actions"):
                element_types.add(el["type"])
            if isinstance(el, dict) and b["type"] == "context" and el["type"] not in TEXT_OBJECTS:
                element_types.add(el["type"])
    return block_types, element_types


@pytest.fixture
def playground(tmp_path: Path) -> Iterator[Playground]:
    pg = Playground(tmp_path, port=0, fresh=True).start()
    try:
        yield pg
    finally:
        pg.stop()


def sent_blocks(pg: Playground) -> list[list[dict[str, Any]]]:
    found: list[list[dict[str, Any]]] = []
    for call in pg.fake.calls:
        if call.args.get("blocks"):
            found.append(call.args["blocks"])
        view = call.args.get("view")
        if isinstance(view, dict):
            found.append(view.get("blocks") or [])
    found += [r.body["blocks"] for r in pg.fake.responses if r.body.get("blocks")]
    found += [e.blocks for e in pg.workspace.ephemerals if e.blocks]
    return found


def tour(pg: Playground) -> None:
    ws = pg.workspace
    for text in (
        "help",
        "log Northwind call yesterday went well +",
        "log Zzyzx call today x",
        "log nor call today ok",
        "account Northwind",
        "account a",
        "risk",
        "risk team",
        "escalations all",
        "escalate Northwind sev1 @leo exports failing",
        "nps Northwind 9 great",
        "team list",
        "subscriptions",
        "log",
    ):
        ws.command(MAYA, "CGENERAL", text)
    assert pg.fake.wait_for(lambda: pg.fake.messages_in("CESCALATE"), timeout=10)
    parent = pg.fake.messages_in("CESCALATE")[0]
    esc_id = next(b for b in parent["blocks"] if b["type"] == "actions")["elements"][0]["value"]
    ws.action(
        LEO,
        {"kind": "message", "channel": "CESCALATE", "ts": parent["ts"]},
        {"action_id": "esc_ack", "block_id": "b", "type": "button", "value": esc_id},
    )
    ws.action(
        LEO,
        {"kind": "message", "channel": "CESCALATE", "ts": parent["ts"]},
        {"action_id": "esc_note", "block_id": "b", "type": "button", "value": esc_id},
    )
    alert = pg.fake.messages_in("CALERTS")[0]
    account_id = next(b for b in alert["blocks"] if b["type"] == "actions")["elements"][0]["value"]
    ws.action(
        MAYA,
        {"kind": "message", "channel": "CALERTS", "ts": alert["ts"]},
        {"action_id": "alert_open_escalation", "block_id": "b", "type": "button", "value": account_id},
    )
    ws.open_home(MAYA)
    ws.open_home("UDIR01")
    pg.advancer.advance("monday")  # scoring, alerts, re-pages, the digest where there is one
    pg.fake.wait_for(lambda: len(pg.fake.calls_to("views.open")) >= 2, timeout=5)


def test_every_block_the_bot_sends_has_a_drawing(playground: Playground) -> None:
    tour(playground)
    outputs = sent_blocks(playground)
    outputs += [
        log_modal(today=date(2026, 11, 20))["blocks"],
        note_modal(CallbackId.ESC_NOTE_MODAL, 1, "Acme", resolve=False)["blocks"],
        note_modal(CallbackId.ESC_RESOLVE_MODAL, 1, "Acme", resolve=True)["blocks"],
        open_escalation_modal(1, "Acme", csm=MAYA, slas={"sev1": "15 min", "sev2": "1 h", "sev3": "1 day"})[
            "blocks"
        ],
    ]
    blocks, elements = set(), set()
    for out in outputs:
        b, e = types_in(out)
        blocks |= b
        elements |= e
    # The tour reached the surfaces it should (a tour that reaches nothing proves nothing).
    assert {"header", "section", "context", "actions", "input"} <= blocks
    assert {"button", "static_select", "external_select", "users_select", "plain_text_input"} <= elements
    assert blocks <= drawers("BLOCKS"), f"no drawing for blocks {sorted(blocks - drawers('BLOCKS'))}"
    assert elements <= drawers("ELEMENTS"), (
        f"no drawing for elements {sorted(elements - drawers('ELEMENTS'))}"
    )


def test_the_drawer_tables_are_read_from_the_page_script() -> None:
    assert {"header", "section", "context", "divider", "actions", "image", "rich_text", "input"} <= drawers(
        "BLOCKS"
    )
    assert {"button", "static_select", "external_select", "users_select", "datepicker"} <= drawers("ELEMENTS")
