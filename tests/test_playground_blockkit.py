"""Every Block Kit block and element the bot sends has a drawing on the playground's
page (bot/playground/static/blockkit.js; PRODUCT.md §7.1).

A tour of the bot's surfaces on a fresh playground — commands, their buttons, the
forms, alerts, escalations and their pages, Home — collects every block the bot
sent (messages, edits, ephemerals, response_url answers, acks, views), and the
modal builders are called directly too; any type the page has no drawer for fails."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Any

from bot.escalations.blocks import note_modal, open_escalation_modal
from bot.runner import Playground
from bot.slack.action_ids import CallbackId
from bot.touchpoints.form import log_modal
from tests.playground_tour import sent_blocks, tour

JS = Path(__file__).resolve().parent.parent / "bot" / "playground" / "static" / "blockkit.js"
MAYA = "UCSM01"
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
