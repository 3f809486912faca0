"""What every listener, job and CLI command needs, built once per process."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from slack_sdk import WebClient
from sqlalchemy.engine import Engine

from bot.accounts.matching import AccountIndex
from bot.clock import Clock
from bot.escalations.policy import EscalationPolicy
from bot.settings import Settings
from bot.slack.users import UserDirectory, slack_fetch


@dataclass
class Deps:
    settings: Settings
    engine: Engine
    clock: Clock
    client: WebClient
    accounts: AccountIndex
    # How long a slash command may work before we ack and answer via response_url.
    ack_budget_seconds: float = 2.0
    executor: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(max_workers=16, thread_name_prefix="csbot-work")
    )
    # Called after a commit that wrote Outbox rows, so the worker sends them now.
    outbox_wakeup: threading.Event = field(default_factory=threading.Event)
    on_outbox_written: Callable[[], None] | None = None
    # The escalation policy (defaults + CSBOT_ESCALATION_POLICY), validated at start-up.
    escalation_policy: EscalationPolicy | None = None
    # People's Slack time zones, cached; built from `client` when not given.
    users: UserDirectory | None = None
    # Account card sections bound to this app (its clock, its scorecard), by name:
    # `fn(session, card, tz, today) -> blocks`. Set once per build_app; adding a
    # name again replaces it, so building several apps never shows a section twice.
    card_sections: dict[str, Callable[..., list[dict[str, Any]]]] = field(default_factory=dict)
    # This app's `/cs` sub-commands by name, built from each feature's registration
    # when the app is built (handlers/commands.py): `fn(request, deps) -> Reply | None`.
    subcommands: dict[str, Callable[..., Any]] = field(default_factory=dict)
    # The Home tab (bot/home): what it keeps between publishes (bot.home.flow.HomeState),
    # and the hook that rebuilds a person's desk after their own write (both set when
    # the events listeners are registered): `fn(user_id, notice=None)`, never blocking.
    home: Any = None
    on_own_write: Callable[..., None] | None = None

    def __post_init__(self) -> None:
        if self.users is None:
            self.users = UserDirectory(slack_fetch(self.client), self.settings.zone)

    def own_write(self, user_id: str, *, notice: str | None = None) -> None:
        """The person changed something from Slack: their Home tab is rebuilt in the background."""
        if self.on_own_write is not None:
            self.on_own_write(user_id, notice=notice)

    def wake_outbox(self) -> None:
        self.outbox_wakeup.set()
        if self.on_outbox_written is not None:
            self.on_outbox_written()
