"""Email -> Slack user ID for the accounts import (users.lookupByEmail, once per
email, before the import's transaction opens). A 429 is Slack asking us to wait:
we wait what Retry-After says and go on, rather than calling the token bad."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

MAX_RATE_LIMITED_WAITS = 5


class LookupFailed(Exception):
    """Slack refused a lookup for a reason a person must fix; the message says which."""


def lookup_emails(
    client: WebClient,
    emails: Iterable[str],
    *,
    sleep: Callable[[float], None] = time.sleep,
    max_waits: int = MAX_RATE_LIMITED_WAITS,
) -> dict[str, str | None]:
    """Each email's user ID, or None when no Slack user has it."""
    from bot.failures import slack_error_line

    found: dict[str, str | None] = {}
    for email in emails:
        waits = 0
        while True:
            try:
                found[email] = client.users_lookupByEmail(email=email)["user"]["id"]
                break
            except SlackApiError as exc:
                error = str(exc.response.get("error", "unknown_error"))
                if exc.response.status_code == 429 or error == "ratelimited":
                    if waits >= max_waits:
                        raise LookupFailed(
                            f"Slack kept rate limiting users.lookupByEmail after {waits} waits: "
                            "run the import again in a few minutes"
                        ) from None
                    waits += 1
                    headers = {k.lower(): v for k, v in (exc.response.headers or {}).items()}
                    wait = headers.get("retry-after", "1")
                    sleep(float((wait[0] if isinstance(wait, list) else wait) or 1))
                    continue
                if error == "users_not_found":
                    found[email] = None
                    break
                line = slack_error_line("users.lookupByEmail", error, exc.response.get("needed"))
                raise LookupFailed(line) from None
    return found
