"""Reading people out of typed text: Slack sends a picked @-mention as `<@U123|name>`
or `<@U123>`; some commands also accept a pasted bare user ID."""

from __future__ import annotations

import re

_MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|([^>]*))?>")
_BARE_ID = re.compile(r"[UW][A-Z0-9]{2,}")


def mention(token: str, *, bare_id: bool = False) -> tuple[str, str | None] | None:
    """(user id, the name Slack sent with it or None) when the whole token is one mention
    (or, with `bare_id`, a bare user ID such as U0123); None otherwise."""
    if (m := _MENTION.fullmatch(token)) is not None:
        return m.group(1), m.group(2) or None
    if bare_id and is_user_id(token):
        return token, None
    return None


def is_user_id(token: str) -> bool:
    """A bare Slack user ID (U… or W…), as in CSBOT_ADMINS or a CSV's csm column."""
    return _BARE_ID.fullmatch(token) is not None


def mentioned_user(token: str) -> str | None:
    """The user id when the whole token is one `<@U…>` mention, else None."""
    found = mention(token)
    return found[0] if found is not None else None
