"""Block Kit elements every builder uses."""

from __future__ import annotations

from typing import Any

from bot.slack.escape import readable

BUTTON_TEXT_LIMIT = 75  # Slack rejects longer button labels


def button(action_id: str, label: str, value: str, *, style: str | None = None) -> dict[str, Any]:
    """A button; `style` is "primary" or "danger" (Slack's only two). The label may
    be foreign (an account name): its Slack tokens are shown as they read."""
    element: dict[str, Any] = {
        "type": "button",
        "action_id": str(action_id),
        "text": {"type": "plain_text", "text": readable(label)[:BUTTON_TEXT_LIMIT]},
        "value": value,
    }
    if style:
        element["style"] = style
    return element
