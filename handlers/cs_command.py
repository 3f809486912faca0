"""The `/cs` command in plain values: the request, the reply, the sub-command
type, and the one mapping of errors to what the user sees (app-wide: the Bolt
error handler uses it too)."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from bot.deps import Deps
from bot.errors import CsbotError
from bot.slack.answer import Answer

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CommandRequest:
    """A `/cs` invocation, in plain values."""

    user_id: str
    channel_id: str
    team_id: str
    sub: str
    args: str
    trigger_id: str | None = None
    response_url: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_body(cls, body: dict[str, Any]) -> CommandRequest:
        text = (body.get("text") or "").strip()
        sub, _, args = text.partition(" ")
        return cls(
            user_id=body.get("user_id", ""),
            channel_id=body.get("channel_id", ""),
            team_id=body.get("team_id", ""),
            sub=sub.lower(),
            args=args.strip(),
            trigger_id=body.get("trigger_id"),
            response_url=body.get("response_url"),
            raw=body,
        )


@dataclass
class Reply:
    """An answer to the user. Ephemeral unless they asked to share."""

    text: str
    blocks: list[dict[str, Any]] | None = None
    response_type: str = "ephemeral"
    replace_original: bool | None = None

    def as_ack(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"text": self.text, "response_type": self.response_type}
        if self.blocks is not None:
            kwargs["blocks"] = self.blocks
        return kwargs

    def as_respond(self) -> dict[str, Any]:
        kwargs = self.as_ack()
        if self.replace_original is not None:
            kwargs["replace_original"] = self.replace_original
        return kwargs


Subcommand = Callable[[CommandRequest, Deps], "Reply | None"]


def from_flow(flow: Callable[[Deps, str, str], Answer]) -> Subcommand:
    """A sub-command whose whole flow lives in bot/ (parse, check, write, answer):
    hand it the user and the typed text, and show the Answer it returns."""

    def run(request: CommandRequest, deps: Deps) -> Reply:
        answer = flow(deps, request.user_id, request.args)
        return Reply(text=answer.text, blocks=answer.blocks)

    return run


def error_reply(exc: BaseException) -> Reply:
    """Known errors become their own sentence; anything else a reference id."""
    if isinstance(exc, CsbotError):
        return Reply(text=exc.message)
    ref = uuid.uuid4().hex[:8]
    if isinstance(exc, SQLAlchemyError):
        # A database's own message quotes the values it refused (a note, an amount):
        # log where it failed, never what was typed.
        statement = (getattr(exc, "statement", None) or "").split("\n", 1)[0][:160]
        origin = type(getattr(exc, "orig", None) or exc).__name__
        log.error("database error ref=%s: %s in %r", ref, origin, statement)
    else:
        log.error("unexpected error ref=%s", ref, exc_info=exc)
    return Reply(text=f":warning: Something went wrong on our side (reference `{ref}`). Nothing was saved.")
