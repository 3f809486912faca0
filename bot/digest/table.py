"""The per-CSM table as monospaced text (PRODUCT.md §6.2).

A Slack table sent as an image is illegible on a phone and cannot be copied, so the
table is text: a mrkdwn section whose text is a ``` code block. Why a section and not
a `rich_text_preformatted` element: slack_sdk's SectionBlock model and the fake Slack
both enforce the section's 3,000-character limit, so "too long" fails in tests the way
it would fail in Slack; rich_text has no length check in slack_sdk's models. Every row
is at most PHONE_WIDTH characters, so it does not wrap on a phone (~40 monospaced
characters across), and columns stay aligned."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bot.digest.format import money
from bot.slack.escape import escape_entities

PHONE_WIDTH = 40
NAME_WIDTH = 10
# (title, width) after the name; right-aligned.
COLUMNS = (("Acc", 4), ("ARR", 6), ("Cov", 4), ("TP", 3), ("Risk", 4), ("Esc", 3))
MAX_TEXT = 3000  # Slack's limit for a section's text


def plain_name(name: str, width: int = NAME_WIDTH) -> str:
    """A name that cannot break the code block or the alignment: no backticks or
    control characters, cut to `width` with an ellipsis."""
    clean = "".join(ch if ch.isprintable() else " " for ch in name).replace("`", "'").strip() or "?"
    return clean if len(clean) <= width else clean[: width - 1] + "…"


def escape(text: str) -> str:
    # Slack parses &, < and > even inside code blocks; escaped, they show as typed.
    return escape_entities(text)


def _row(name: str, cells: Sequence[str]) -> str:
    parts = [f"{name:<{NAME_WIDTH}}"] + [
        f"{cell:>{width}}" for cell, (_, width) in zip(cells, COLUMNS, strict=False)
    ]
    return " ".join(parts)


def _cells(row: Any) -> list[str]:
    coverage = "n/a" if row.coverage is None else f"{row.coverage * 100:.0f}%"
    return [
        str(row.accounts),
        money(row.arr_cents),
        coverage,
        str(row.touchpoints),
        str(row.at_risk),
        str(row.open_escalations),
    ]


def csm_table_lines(rows: Sequence[Any], names: Mapping[str, str], *, limit: int | None = None) -> list[str]:
    """The table's lines (unescaped): header, rule, one line per CSM, and a line
    '… and N more' when `limit` cuts it."""
    header = _row("CSM", [title for title, _ in COLUMNS])
    lines = [header, "-" * len(header)]
    shown = rows if limit is None else rows[:limit]
    for row in shown:
        lines.append(_row(plain_name(names.get(row.csm) or row.csm), _cells(row)))
    if len(shown) < len(rows):
        lines.append(f"… and {len(rows) - len(shown)} more")
    return lines


def csm_table_text(rows: Sequence[Any], names: Mapping[str, str], *, more_hint: str) -> str:
    """The table as a ``` block within Slack's section limit; rows that do not fit
    are cut with '… and N more' and `more_hint` (the command that shows them all)."""
    limit = len(rows)
    while True:
        lines = csm_table_lines(rows, names, limit=limit)
        body = "```\n" + escape("\n".join(lines)) + "\n```"
        if limit < len(rows):
            body += f"\n{more_hint}"
        if len(body) <= MAX_TEXT or limit == 0:
            return body
        limit -= 1
