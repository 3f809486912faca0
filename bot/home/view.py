"""The App Home tab."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bot.slack.help import help_text

if TYPE_CHECKING:
    from bot.deps import Deps


def home_view(user_id: str, deps: Deps) -> dict[str, Any]:
    return {
        "type": "home",
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": "csbot"}},
            {"type": "section", "text": {"type": "mrkdwn", "text": help_text()[:3000]}},
        ],
    }
