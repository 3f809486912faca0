"""Slack's request signature (v0 HMAC-SHA256 of `v0:timestamp:body`).

The playground signs what its page sends exactly as Slack does, so every click
goes through the bot's real verification; the tests sign with the same function."""

from __future__ import annotations

import hashlib
import hmac


def signature(secret: str, timestamp: int, body: str) -> str:
    """The `X-Slack-Signature` header Slack would send for `body` at `timestamp`."""
    base = f"v0:{timestamp}:{body}".encode()
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def signed_headers(secret: str, timestamp: int, body: str, content_type: str) -> dict[str, str]:
    """The headers of a signed Slack request."""
    return {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": str(timestamp),
        "X-Slack-Signature": signature(secret, timestamp, body),
    }
