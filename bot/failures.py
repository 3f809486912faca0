"""The one line a person reads when the database or Slack says no (PRODUCT.md §7):
what failed and what to change, never a traceback. The CLI, the doctor and the
start-up check share these sentences so the same failure reads the same everywhere."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy.engine import make_url

# Slack errors a person can fix, and the fix.
SLACK_FIXES: dict[str, str] = {
    "invalid_auth": "SLACK_BOT_TOKEN is wrong: copy the Bot User OAuth Token (OAuth & Permissions) again",
    "not_authed": "SLACK_BOT_TOKEN is not set",
    "token_revoked": "the token was revoked: reinstall the app and copy the new Bot User OAuth Token",
    "account_inactive": "the app was uninstalled or its bot deactivated: reinstall the app",
    "missing_scope": "add the scope (OAuth & Permissions, or paste manifest.yml again) and reinstall the app",
    "not_in_channel": "invite the bot to the channel (/invite @csbot in it)",
    "channel_not_found": "the channel ID is wrong or the channel is private without the bot in it",
    "is_archived": "the channel is archived: unarchive it or choose another",
    "ratelimited": "Slack is rate limiting this app: wait a minute and try again",
}


def slack_error_line(method: str, error: str, needed: str | None = None) -> str:
    """`Slack refused auth.test (invalid_auth): SLACK_BOT_TOKEN is wrong: …`."""
    fix = SLACK_FIXES.get(error, "see https://api.slack.com/methods/" + method)
    if error == "missing_scope" and needed:
        fix = f"add the {needed} scope to the app (OAuth & Permissions) and reinstall it"
    return f"Slack refused {method} ({error}): {fix}"


def slack_exception_line(exc: BaseException, method: str = "the request") -> str:
    """One line for whatever slack_sdk raised."""
    from slack_sdk.errors import SlackApiError

    if isinstance(exc, SlackApiError):
        response: Any = exc.response
        url = getattr(response, "api_url", "") or ""
        name = url.rstrip("/").rsplit("/", 1)[-1] or method
        error = response.get("error", "unknown_error") if hasattr(response, "get") else "unknown_error"
        needed = response.get("needed") if hasattr(response, "get") else None
        return slack_error_line(name, str(error), needed)
    reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return f"could not reach Slack ({reason}): check the network and SLACK_API_URL"


def database_error_line(exc: BaseException, url: str) -> str:
    """One line for a database that cannot be opened or refuses us."""
    text = str(getattr(exc, "orig", None) or exc)
    first = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
    if url.startswith("sqlite"):
        path = url.split(":///", 1)[-1]
        if "unable to open database file" in text:
            return f"cannot open the SQLite file {path}: check that its folder exists and is writable"
        if "locked" in text:
            return f"the SQLite file {path} is locked by another process: stop it or wait, then try again"
        return f"the SQLite database {path} failed ({first})"
    try:
        parsed = make_url(url)
        host = f"{parsed.host or 'localhost'}:{parsed.port or 5432}"
        user = parsed.username or "?"
    except Exception:  # a URL SQLAlchemy cannot parse was refused at settings time
        host, user = "?", "?"
    lowered = text.lower()
    if "password authentication failed" in lowered or "no password supplied" in lowered:
        return (
            f"PostgreSQL at {host} refused the password of user {user}: fix it in DATABASE_URL "
            "(write @ : / in it as %40 %3A %2F)"
        )
    missing = re.search(r'database "([^"]+)" does not exist', text)
    if missing:
        name = missing.group(1)
        return f"PostgreSQL at {host} has no database {name}: create it (createdb {name}) or fix DATABASE_URL"
    role = re.search(r'role "([^"]+)" does not exist', text)
    if role:
        return f"PostgreSQL at {host} has no user {role.group(1)}: create it or fix DATABASE_URL"
    if (
        "translate host name" in lowered
        or "name or service not known" in lowered
        or "resolve host" in lowered
    ):
        return f"the database host {host.rsplit(':', 1)[0]} is unknown: fix the host in DATABASE_URL"
    if "connection refused" in lowered or "could not connect" in lowered or "timeout" in lowered:
        return f"PostgreSQL at {host} is not answering: start it, or fix the host and port in DATABASE_URL"
    return f"the database at {host} failed ({first})"
