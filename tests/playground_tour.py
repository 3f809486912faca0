"""A tour of the bot's surfaces on a running playground, and every block the bot sent
on the way: what the Block Kit drawing tests walk (PRODUCT.md §7.1). Also the
`sample_db` and `playground` fixtures every playground test uses (a pytest plugin,
listed in tests/conftest.py)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.runner import Playground, fresh_sqlite, seed_demo

MAYA, LEO, DANA = "UCSM01", "UCSM02", "UDIR01"


def sample_team_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample portfolio's database as `csbot playground --fresh` writes it (a test
    module's session fixture makes it once; each test's playground starts from a copy)."""
    path = tmp_path_factory.mktemp("sample-team") / "csbot-playground.db"
    seed_demo(fresh_sqlite(path))
    return path


@pytest.fixture(scope="session")
def sample_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return sample_team_db(tmp_path_factory)


@pytest.fixture
def playground(tmp_path: Path, sample_db: Path) -> Iterator[Playground]:
    """A started playground on a copy of the sample database (as --fresh makes it, once per run)."""
    shutil.copyfile(sample_db, tmp_path / "csbot-playground.db")
    pg = Playground(tmp_path, port=0).start()
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
    assert pg.fake.wait_for(lambda: pg.fake.messages_in("CESCALATE"), timeout=30)
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
    ws.open_home(DANA)
    pg.advancer.advance("monday")  # scoring, alerts, re-pages, the digest where there is one
    pg.fake.wait_for(lambda: len(pg.fake.calls_to("views.open")) >= 2, timeout=5)
