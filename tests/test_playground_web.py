"""The playground's page API (PRODUCT.md §7.1): a typed `/cs` command goes to the bot as
a signed slash command and its answer shows to its author only; the API takes JSON
from this machine only, and a mistake is answered in one line."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bot.runner import Playground
from tests.playground_tour import MAYA

LEO = "UCSM02"


@pytest.fixture
def http(playground: Playground) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=playground.page_url, timeout=30) as client:
        yield client


def test_a_typed_command_is_a_signed_slash_command_answered_to_its_author_only(
    playground: Playground, http: httpx.Client
) -> None:
    answer = http.post(
        "/api/command", json={"user": MAYA, "channel": "CGENERAL", "text": "/cs account Northwind"}
    )
    assert answer.json() == {"ok": True, "status": 200}
    # In the ack, or (a busy machine, past the ack budget) a moment later through its response_url.
    assert playground.fake.wait_for(
        lambda: any("Northwind Traders" in str(e.blocks) for e in playground.workspace.ephemerals)
        or any("Northwind Traders" in str(r.body) for r in playground.fake.responses),
        timeout=20,
    )
    mine = http.get("/api/state", params={"user": MAYA, "channel": "CGENERAL"}).json()
    texts = [e["text"] for e in mine["ephemerals"]]
    assert texts[0] == "/cs account Northwind"  # the echo of what was typed
    assert any("Northwind Traders" in str(e["blocks"]) for e in mine["ephemerals"])
    theirs = http.get("/api/state", params={"user": LEO, "channel": "CGENERAL"}).json()
    assert theirs["ephemerals"] == []
    assert playground.fake.messages_in("CGENERAL") == []  # nothing was posted to the channel


def test_the_api_takes_json_addressed_to_this_machine_only(
    playground: Playground, http: httpx.Client
) -> None:
    form = http.post(
        "/api/command",
        content='{"user": "UCSM01", "channel": "CGENERAL", "text": "nps Northwind 0"}',
        headers={"Content-Type": "text/plain"},
    )
    assert form.status_code == 415
    rebound = http.get("/api/state", params={"user": MAYA}, headers={"Host": "evil.example"})
    assert rebound.status_code == 400
    assert not playground.fake.responses and not playground.workspace.ephemerals
    page = http.get("/")
    assert "default-src 'self'" in page.headers["content-security-policy"]


def test_mistakes_get_one_line(http: httpx.Client) -> None:
    clock = http.post("/api/clock", json={"step": "year"})
    assert clock.status_code == 400 and clock.json()["error"] == "step must be one of hour, day, monday"
    stranger = http.post("/api/command", json={"user": "UNOBODY", "channel": "CGENERAL", "text": "help"})
    assert stranger.status_code == 400 and stranger.json()["error"] == "unknown person UNOBODY"
    closed = http.post("/api/submit", json={"user": MAYA, "values": {}})
    assert closed.status_code == 400 and closed.json()["error"] == "no form is open"


def test_csbot_doctor_passes_against_the_playgrounds_local_slack(
    playground: Playground, tmp_path: Path
) -> None:
    """`csbot doctor` (a real subprocess) with the playground's settings — its database,
    its local Slack, its escalations channel and subscribed channels — passes every check."""
    import os
    import subprocess
    import sys

    s = playground.settings
    assert s.slack_bot_token is not None and s.slack_signing_secret is not None
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "CSBOT_", "DATABASE_URL"))
    } | {
        "DATABASE_URL": s.database_url,
        "SLACK_BOT_TOKEN": s.slack_bot_token.reveal(),
        "SLACK_SIGNING_SECRET": s.slack_signing_secret.reveal(),
        "SLACK_API_URL": s.slack_api_url,
        "CSBOT_ESCALATION_CHANNEL": s.escalation_channel or "",
        "CSBOT_ADMINS": ",".join(s.admins),
        "CSBOT_TZ": s.tz,
    }
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "doctor"], env=env, cwd=tmp_path, capture_output=True, text=True,
        timeout=120,
    )
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    assert lines[-1] == "All checks passed.", lines
    assert not [line for line in lines if line.startswith("✗")], lines
    assert any(line.startswith("✓ Slack token works") for line in lines), lines
    assert any(line.startswith("✓ escalations channel #cs-escalations") for line in lines), lines
    assert any(line.startswith("✓ subscribed channel #cs-leadership") for line in lines), lines
