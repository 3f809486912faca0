"""What a command flow in bot/ hands back to its listener: the reply's text and blocks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class Answer:
    """What to show the user (ephemeral)."""

    text: str
    blocks: list[dict[str, Any]] | None = None
