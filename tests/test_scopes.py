"""The app's scopes are exactly what the code calls (PRODUCT.md §7): every Web API
method in bot/, handlers/ and jobs/ is in the table of required scopes, the
table's scopes are what manifest.yml asks for, each with a comment saying why;
the fake Slack refuses a method whose scope the token lacks, like Slack."""

from __future__ import annotations

import re
from pathlib import Path

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.playground.fake_slack import FakeSlack
from bot.slack.scopes import BOT_SCOPES, METHOD_SCOPES
from models.db import session_scope
from models.tables import Member
from tests.harness import START, Bot

ROOT = Path(__file__).resolve().parent.parent
_FAMILIES = "chat|conversations|users|views|reactions|files|auth|apps|team|pins|bookmarks|usergroups"
_CALL = re.compile(rf"\bclient\.({_FAMILIES})_(\w+)")
_NAMED = re.compile(r"""method\s*=\s*["']([a-z]+\.[A-Za-z]+)["']|["'](chat\.(?:update|postMessage))["']""")
# slack_sdk helpers that call several methods
_HELPERS = {"files.upload_v2": ("files.getUploadURLExternal", "files.completeUploadExternal")}


def _dotted(name: str) -> str:
    """slack_sdk's `apps_connections_open` is `apps.connections.open`; `upload_v2` is a helper."""
    return name if name == "upload_v2" else name.replace("_", ".")


def _called_methods() -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for package in ("bot", "handlers", "jobs"):
        for path in (ROOT / package).rglob("*.py"):
            if "playground" in path.parts:
                continue  # the fake Slack implements methods; it does not call them
            source = path.read_text()
            names = {f"{family}.{_dotted(name)}" for family, name in _CALL.findall(source)}
            names |= {a or b for a, b in _NAMED.findall(source)}
            for name in names:
                for method in _HELPERS.get(name, (name,)):
                    found.setdefault(method, set()).add(str(path.relative_to(ROOT)))
    return found


def _manifest_scopes() -> dict[str, str]:
    """scope -> its comment, from the bot scope list of manifest.yml."""
    lines = (ROOT / "manifest.yml").read_text().splitlines()
    start = lines.index("    bot:")
    scopes: dict[str, str] = {}
    for line in lines[start + 1 :]:
        match = re.match(r"\s+- ([a-z:.]+)\s*(?:#\s*(.*))?$", line)
        if match is None:
            break
        scopes[match.group(1)] = match.group(2) or ""
    return scopes


def test_every_method_the_code_calls_has_its_scopes_in_the_table() -> None:
    called = _called_methods()
    assert {"chat.postMessage", "chat.update", "conversations.info", "users.lookupByEmail"} <= set(called)
    unknown = {m: sorted(where) for m, where in called.items() if m not in METHOD_SCOPES}
    assert not unknown, f"add these to bot/slack/scopes.py METHOD_SCOPES: {unknown}"


def test_the_manifest_asks_for_exactly_the_table_scopes_each_with_a_reason() -> None:
    manifest = _manifest_scopes()
    assert list(manifest) == list(BOT_SCOPES)
    needed = {scope for scopes in METHOD_SCOPES.values() for scope in scopes} | {"commands"}
    assert set(manifest) == needed
    assert all(len(reason) > 10 for reason in manifest.values()), manifest
    assert "chat:write.public" not in manifest  # the bot joins the channels it posts in


def test_the_fake_refuses_a_method_without_its_scope() -> None:
    with FakeSlack(scopes=set(BOT_SCOPES) - {"im:read"}) as fake:
        fake.add_user("UCSM1")
        client = WebClient(token=fake.bot_token, base_url=fake.api_url)
        dm = client.conversations_open(users="UCSM1")["channel"]["id"]
        try:
            client.conversations_info(channel=dm)
            raise AssertionError("conversations.info on a DM needs im:read")
        except SlackApiError as exc:
            assert exc.response["error"] == "missing_scope"
            assert exc.response["needed"] == "im:read"
        answer = client.auth_test()
        assert "im:read" not in answer.headers["x-oauth-scopes"].split(",")
        assert "chat:write" in answer.headers["x-oauth-scopes"].split(",")


def test_subscribe_typed_in_a_dm_says_to_use_a_channel_not_something_went_wrong(bot: Bot) -> None:
    with session_scope(bot.engine) as s:
        s.add(Member(slack_id="UDIR1", role="director", name="dana", created_at=START, updated_at=START))
    dm = "D0TWOPEOPLE"  # a DM between two people: Slack does not show it to the bot
    reply = bot.send.command("subscribe alerts", user_id="UDIR1", channel_id=dm).json()
    assert "I'm not in this channel yet" in reply["text"]
    assert "Something went wrong" not in reply["text"]
    assert [c.response.get("error") for c in bot.fake.calls_to("conversations.info")] == ["channel_not_found"]
