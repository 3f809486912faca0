"""Known errors: each carries the sentence the user sees. The app-wide error
handler turns them into an ephemeral reply; anything else gets a reference id."""

from __future__ import annotations


class CsbotError(Exception):
    """An error whose message is safe and useful to show the user as is."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadInput(CsbotError):
    """The user typed something we cannot act on; nothing was written."""


class NotAllowed(CsbotError):
    """The user lacks the role the action needs; nothing was written."""


class NotFound(CsbotError):
    """The thing the user named does not exist."""


class SettingsError(Exception):
    """A setting is missing or malformed; the message is one line naming it."""
