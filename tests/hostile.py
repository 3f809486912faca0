"""Hostile text, and the check that none of it reaches Slack as markup: no live
broadcast, no live link or mention the user typed, no unescaped `&<>` in mrkdwn.

`violations(payload)` walks anything the bot sent (a message, blocks, a view, a
response_url body) and names each text that breaks the rule."""

from __future__ import annotations

import re
from typing import Any

# What a user, a modal or an import file can put in a field (Slack sends
# `<!channel>` for a typed @channel, `<@U…|name>` for a picked mention).
HOSTILE = (
    "<!channel> <!here> <!everyone> <!subteam^S0EVIL|@cs-team> <@UEVIL|boss> "
    "<https://evil.example/login|click here> <#CEVIL|general> Tom & Jerry <b>1 < 2</b> &amp;"
)
# An account name typed as its prefix "Evilcorp" in commands.
HOSTILE_NAME = "Evilcorp <!channel> & <https://evil.example|Sons> <@UEVIL>"

_BROADCAST = re.compile(r"<!(channel|here|everyone|subteam)", re.IGNORECASE)
# The markup the bot writes itself: mentions of people it means (never UEVIL), channel
# links, Slack's date token, and links that are not the user's.
_BOT_TOKEN = re.compile(
    r"<@(?!UEVIL)[UW][A-Z0-9]+>|<#(?!CEVIL)C[A-Z0-9]+(?:\|[^<>]*)?>|<!date\^[^<>]*>|<(?![^<>]*evil)https?://[^<>\s]+(?:\|[^<>]*)?>"
)
_ENTITY = re.compile(r"&(amp|lt|gt);")


def _bot_usage_lines() -> list[str]:
    from bot.slack.help import COMMANDS, usage

    lines = {usage(c[0]) for c in COMMANDS} | {f"`{c[1]}`" for c in COMMANDS}
    lines.add("`/cs team add @user <role> [manager @user]`")  # bot/accounts/team.py's own
    lines.add("Premier Support & Success")  # the product's name, the bot's own label (metrics, digest)
    return sorted(lines, key=len, reverse=True)


_USAGE = _bot_usage_lines()


def _check_mrkdwn(text: str, where: str, allow_typed_mentions: bool = False) -> list[str]:
    found: list[str] = []
    for line in _USAGE:  # the bot's own usage lines (`/cs renewal <account> …`)
        text = text.replace(line, "")
    if allow_typed_mentions:  # the author's own ephemeral copy (it notifies nobody)
        text = text.replace("<@UEVIL|boss>", "").replace("<@UEVIL>", "")
    if _BROADCAST.search(text):
        found.append(f"{where}: live broadcast in {text[:120]!r}")
    if "<@UEVIL" in text or "<#CEVIL" in text:
        found.append(f"{where}: a typed mention or channel link is live in {text[:120]!r}")
    if re.search(r"<[^<>]*evil\.example", text):
        found.append(f"{where}: a typed link is live in {text[:120]!r}")
    rest = _ENTITY.sub("", _BOT_TOKEN.sub("", text))
    if any(c in rest for c in "&<>"):
        found.append(f"{where}: unescaped &<> in {text[:160]!r}")
    return found


def _check_plain(text: str, where: str) -> list[str]:
    # Slack never parses plain_text, but a raw token there still reads as one.
    if _BROADCAST.search(text) or "<@UEVIL" in text or re.search(r"<[^<>]*evil\.example", text):
        return [f"{where}: Slack markup shown raw in plain text {text[:120]!r}"]
    return []


def violations(payload: Any, where: str = "$", *, allow_typed_mentions: bool = False) -> list[str]:
    """Every text in `payload` that breaks the rule (empty when it is clean).
    `allow_typed_mentions`: an ephemeral answer to the person who typed them."""
    found: list[str] = []
    if isinstance(payload, dict):
        kind = payload.get("type")
        text = payload.get("text")
        if isinstance(text, str):
            if kind == "plain_text":
                found += _check_plain(text, where)
            else:  # mrkdwn text objects, and a message's own `text` (Slack parses it)
                found += _check_mrkdwn(text, where, allow_typed_mentions)
        for key, value in payload.items():
            if key == "text" and isinstance(value, str):
                continue
            if key in ("private_metadata", "value", "action_id", "block_id", "callback_id", "initial_value"):
                continue  # data for the bot, never rendered as markup
            found += violations(value, f"{where}.{key}", allow_typed_mentions=allow_typed_mentions)
    elif isinstance(payload, list):
        for i, item in enumerate(payload):
            found += violations(item, f"{where}[{i}]", allow_typed_mentions=allow_typed_mentions)
    return found
