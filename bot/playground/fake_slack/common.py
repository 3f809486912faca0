"""What every part of the fake shares: Slack's limits, the recorded calls, failure
rules, and small parsing helpers."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

# Fields Slack accepts as JSON-encoded strings in form posts; decoded so tests can inspect them.
_JSON_FIELDS = ("blocks", "metadata", "view", "attachments", "files", "outputs")

# Limits enforced by Slack (https://api.slack.com/reference/block-kit).
MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
MAX_TEXT_LEN = 40_000
MAX_SECTION_TEXT = 3000
MAX_SECTION_FIELDS = 10
MAX_FIELD_TEXT = 2000
MAX_HEADER_TEXT = 150
MAX_ACTIONS_ELEMENTS = 25
MAX_CONTEXT_ELEMENTS = 10
MAX_BUTTON_TEXT = 75
MAX_BUTTON_VALUE = 2000
MAX_ID_LEN = 255
MAX_VIEW_TITLE = 24
MAX_PRIVATE_METADATA = 3000
RESPONSE_URL_MAX_USES = 5

_BLOCK_TYPES = {
    "actions",
    "call",
    "context",
    "divider",
    "file",
    "header",
    "image",
    "input",
    "markdown",
    "rich_text",
    "section",
    "table",
    "video",
}

_FIRST_TS_MICROS = 1_700_000_000_000_100


@dataclass
class Call:
    """One Web API request as the fake saw it, and what it answered."""

    method: str
    args: dict[str, Any]
    token: str | None
    headers: dict[str, str]
    response: dict[str, Any]
    at: float
    status: int = 200  # HTTP status answered; 0 when the request was hung and closed unanswered


@dataclass
class ResponseCall:
    """One POST to a ``response_url`` handed out by :meth:`FakeSlack.response_url`."""

    url: str
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)
    status: int = 200
    at: float = 0.0


@dataclass
class _Rule:
    method: str
    status: int
    error: str | None
    retry_after: int | None
    remaining: int
    hang: bool
    drop: bool = False  # do the work (store the post), then close the connection unanswered
    late: bool = False  # hold the request until released, then do the work: an answer after the timeout


class _Headers(dict):
    """Request headers with lower-cased keys and case-insensitive lookup (urllib sends "Content-type")."""

    def __init__(self, items: Any = ()) -> None:
        super().__init__((str(k).lower(), v) for k, v in items)

    def __getitem__(self, key: str) -> str:
        return super().__getitem__(key.lower())

    def __contains__(self, key: object) -> bool:
        return super().__contains__(str(key).lower())

    def get(self, key: str, default: Any = None) -> Any:  # type: ignore[override]
        return super().get(key.lower(), default)


class _SlackError(Exception):
    """Raised by method handlers to answer ``{"ok": false, "error": ...}``."""

    def __init__(self, error: str, **extra: Any) -> None:
        super().__init__(error)
        self.error = error
        self.extra = extra


def _truthy(value: Any) -> bool:
    return value in (True, 1, "1", "true", "True", "TRUE")


def _ts_key(ts: Any) -> Decimal:
    try:
        return Decimal(str(ts))
    except InvalidOperation:
        raise _SlackError("invalid_ts_latest") from None


def _int_arg(args: dict[str, Any], name: str, default: int) -> int:
    value = args.get(name)
    if value in (None, ""):
        return default
    try:
        return int(value)
    except (TypeError, ValueError):
        raise _SlackError("invalid_arguments") from None
