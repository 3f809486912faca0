"""Which bot-token scope each Web API method the bot calls needs (PRODUCT.md §7,
manifest.yml). `csbot doctor` compares the token's scopes (Slack's
`x-oauth-scopes` header) with BOT_SCOPES; the fake Slack refuses a method whose
scope it was not given; a test checks the code, this table and the manifest agree."""

from __future__ import annotations

# method -> the scopes that allow it (any one, by conversation type where Slack splits them)
METHOD_SCOPES: dict[str, tuple[str, ...]] = {
    "auth.test": (),
    # Socket Mode's handshake uses the app-level token (connections:write), not a bot scope.
    "apps.connections.open": (),
    "chat.postMessage": ("chat:write",),
    "chat.update": ("chat:write",),
    "chat.postEphemeral": ("chat:write",),
    "chat.getPermalink": (),
    "conversations.history": ("channels:history", "groups:history", "im:history"),
    "conversations.replies": ("channels:history", "groups:history", "im:history"),
    "conversations.info": ("channels:read", "groups:read", "im:read", "mpim:read"),
    "conversations.open": ("im:write",),
    "users.info": ("users:read",),
    "users.lookupByEmail": ("users:read.email",),
    "views.open": (),
    "views.push": (),
    "views.update": (),
    "views.publish": (),
    # files_upload_v2 (the weekly digest's chart, PRODUCT.md §6.2)
    "files.getUploadURLExternal": ("files:write",),
    "files.completeUploadExternal": ("files:write",),
}

# The scopes manifest.yml asks for: every one needed by a method above, plus
# `commands` (the /cs slash command and the message shortcut).
BOT_SCOPES: tuple[str, ...] = (
    "commands",
    "chat:write",
    "channels:history",
    "groups:history",
    "im:history",
    "channels:read",
    "groups:read",
    "im:read",
    "mpim:read",
    "im:write",
    "users:read",
    "users:read.email",
    "files:write",
)

# conversations.* scopes by the kind of conversation an ID names.
_BY_PREFIX = {
    "conversations.history": {"C": "channels:history", "G": "groups:history", "D": "im:history"},
    "conversations.replies": {"C": "channels:history", "G": "groups:history", "D": "im:history"},
    "conversations.info": {"C": "channels:read", "G": "groups:read", "D": "im:read"},
}


def scope_needed(method: str, channel: str | None = None, *, is_mpim: bool = False) -> str | None:
    """The one scope `method` needs here (on `channel`), or None when it needs none."""
    scopes = METHOD_SCOPES.get(method, ())
    if not scopes:
        return None
    by_prefix = _BY_PREFIX.get(method)
    if by_prefix and channel:
        if is_mpim and method == "conversations.info":
            return "mpim:read"
        return by_prefix.get(channel[:1], scopes[0])
    return scopes[0]


def missing_scopes(granted: set[str]) -> list[str]:
    """The manifest's scopes the token lacks, in the manifest's order."""
    return [s for s in BOT_SCOPES if s not in granted]
