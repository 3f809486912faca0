"""The one escaping rule for text the bot did not write itself (typed text, modal
input, imported names, NPS respondents, comments) before it reaches Slack.

Slack reads `<…>` in mrkdwn as markup: `<!channel>` pings a whole channel under
the bot's name, `<https://evil.example|click>` is a disguised link, `<@U123>` pings
that person. So foreign text is shown, never obeyed:
- Slack's own tokens in it become their readable form — `<@U1|casey>` → `@casey`,
  `<!here>` → `@here`, `<#C1|general>` → `#general`, `<https://x|click>` →
  `click (https://x)` — so what was typed still reads right, but nothing pings and
  no link hides where it goes;
- then `&`, `<`, `>` are escaped (`&amp;`, `&lt;`, `&gt;`), so nothing is markup.
Mentions stay live only where the bot writes them itself (`<@{owner}>` of someone
it pages), outside the escaped text.

`escape` is for mrkdwn (and a message's `text`); `readable` is for plain_text
fields, which Slack never parses but where a raw token would read badly.
Block Kit builders take plain values and call these themselves."""

from __future__ import annotations

import re
from typing import Any

# Slack's tokens: a mention, a channel, a special (`!here`, `!date^…`) or a link
# (`scheme:…`). Other angle brackets ("<b>", "1 < 2") are plain text and only escaped.
_TOKEN = re.compile(r"<([@#!][^<>]*|[A-Za-z][A-Za-z0-9+.-]*:[^<>]*)>")
_USER_MENTION = re.compile(r"<@[UW][A-Z0-9]{2,}(?:\|[^<>|]*)?>")


def _readable_token(match: re.Match[str]) -> str:
    inner = match.group(1)
    target, _, label = inner.partition("|")
    if target.startswith("@"):  # a user mention
        return "@" + (label or target[1:])
    if target.startswith("#"):  # a channel link
        return "#" + (label or target[1:])
    if target.startswith("!"):  # <!here>, <!channel>, <!everyone>, <!subteam^S1|@team>, <!date^…|fallback>
        word = target[1:]
        if word.startswith("subteam^"):
            return label if label.startswith("@") else "@" + (label or word.split("^", 1)[1])
        if word.startswith("date^"):
            return label or "a date"
        return "@" + word.split("^", 1)[0]
    if label and label != target:
        return f"{label} ({target})"
    return target if target else match.group(0)


def readable(text: Any) -> str:
    """Slack tokens in foreign text turned into how they read (for plain_text)."""
    if text is None:
        return ""
    return _TOKEN.sub(_readable_token, str(text))


_PARTIAL_ENTITY = re.compile(r"&[a-z]{0,3}$")


def _entities(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def escape(text: Any, limit: int | None = None, *, keep_mentions: bool = False) -> str:
    """Foreign text made safe for mrkdwn: tokens readable, then `&<>` escaped.
    With `limit`, at most that many characters, never cutting an entity in two.

    `keep_mentions` keeps the typer's own `<@U…>` mentions live — only for an
    ephemeral answer to the person who typed them (an ephemeral message notifies
    nobody); never in anything posted to a channel, a DM or a thread."""
    if keep_mentions and text is not None:
        raw = str(text)
        parts, last = [], 0
        for m in _USER_MENTION.finditer(raw):
            parts += [_entities(readable(raw[last : m.start()])), m.group(0)]
            last = m.end()
        parts.append(_entities(readable(raw[last:])))
        out = "".join(parts)
    else:
        out = _entities(readable(text))
    if limit is not None and len(out) > limit:
        out = _PARTIAL_ENTITY.sub("", out[:limit])
    return out


def escape_entities(text: Any) -> str:
    """Only `&<>` escaped: Slack's tokens then show literally, as typed (`<!channel>`),
    and are as dead as with `escape`. The digest, the metrics and App Home show
    foreign text this way (their tests pin it)."""
    return _entities("" if text is None else str(text))


def clip(text: str, limit: int) -> str:
    """Escaped mrkdwn cut to `limit` characters (with "…"), never inside an entity."""
    if len(text) <= limit:
        return text
    return _PARTIAL_ENTITY.sub("", text[: limit - 1]) + "…"


def escape_all(values: Any) -> list[str]:
    """`escape` of each value (names in a list, reasons, tags)."""
    return [escape(v) for v in values]
