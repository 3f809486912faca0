"""Block Kit as readable terminal text: what `csbot demo` prints for each message the
bot would post (PRODUCT.md §7). Mentions become @names, links their labels."""

from __future__ import annotations

import re
import textwrap
from typing import Any

_LINK = re.compile(r"<([^<>|]+)(?:\|([^<>]*))?>")


def plain(text: str, names: dict[str, str]) -> str:
    """Slack mrkdwn -> plain text: <@U1> -> @maya, <url|label> -> label, entities decoded."""

    def link(m: re.Match[str]) -> str:
        target, label = m.group(1), m.group(2)
        if target.startswith("@"):
            return "@" + names.get(target[1:], label or target[1:])
        if target.startswith("#"):
            return "#" + (label or names.get(target[1:], target[1:]))
        if target.startswith("!date^"):
            return label or ""
        if target.startswith("!"):
            return "@" + target[1:].split("^")[0]
        return label or target

    return _LINK.sub(link, text).replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _element(el: dict[str, Any], names: dict[str, str]) -> str:
    label = (el.get("text") or el.get("placeholder") or {}).get("text") or el.get("type", "")
    return f"[{plain(label, names)}]"


def render(blocks: list[dict[str, Any]] | None, text: str, names: dict[str, str], width: int = 100) -> str:
    """One message as lines of text (its blocks, else its text)."""
    if not blocks:
        return plain(text, names)
    lines: list[str] = []
    for b in blocks:
        kind = b.get("type")
        if kind == "header":
            title = plain(b["text"]["text"], names)
            lines += [title, "=" * min(width, len(title))]
        elif kind == "section":
            if b.get("text"):
                lines += [plain(b["text"]["text"], names)]
            for f in b.get("fields") or []:
                lines += ["  " + plain(f["text"], names).replace("\n", " ")]
            if b.get("accessory"):
                lines += ["  " + _element(b["accessory"], names)]
        elif kind == "context":
            parts = [plain(e.get("text", ""), names) for e in b.get("elements") or [] if "text" in e]
            lines += ["  " + " · ".join(parts)]
        elif kind == "divider":
            lines += ["-" * 40]
        elif kind == "actions":
            lines += ["  " + " ".join(_element(e, names) for e in b.get("elements") or [])]
        elif kind == "image":
            lines += [f"  (image: {b.get('alt_text', '')})"]
        elif kind == "rich_text":
            for part in b.get("elements") or []:
                lines += ["".join(str(x.get("text", "")) for x in part.get("elements") or [])]
    out: list[str] = []
    for line in lines:
        for piece in line.split("\n"):
            out += textwrap.wrap(piece, width, subsequent_indent="    ") or [""]
    return "\n".join(out)
