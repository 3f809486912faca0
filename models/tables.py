"""The SQLModel tables of PRODUCT.md §3. Money is integer cents; every
timestamp is timezone-aware UTC (see UTCDateTime)."""

from __future__ import annotations

import datetime as dt
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.types import UTCDateTime

ROLES = ("csm", "director", "exec", "admin")
STAGES = ("onboarding", "adopting", "mature", "renewing", "churned")


def _ts(nullable: bool = False, index: bool = False) -> Any:
    return Field(default=None, sa_column=Column(UTCDateTime(), nullable=nullable, index=index))


class Account(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(sa_column=Column(Text, nullable=False, unique=True))
    external_id: str | None = Field(default=None, sa_column=Column(Text, unique=True, nullable=True))
    segment: str | None = Field(default=None, index=True)
    csm_slack_id: str | None = Field(default=None, index=True)
    arr_cents: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, default=0))
    renewal_date: date | None = None
    contract_start: date | None = None
    stage: str | None = None
    licensed_users: int | None = None
    created_at: datetime = _ts()
    updated_at: datetime = _ts()


class Member(SQLModel, table=True):
    slack_id: str = Field(primary_key=True)
    role: str = Field(default="csm")
    manager_slack_id: str | None = None
    name: str | None = None
    email: str | None = None
    created_at: datetime = _ts()
    updated_at: datetime = _ts()


class Touchpoint(SQLModel, table=True):
    __table_args__ = (Index("ix_touchpoint_account_occurred", "account_id", "occurred_at"),)

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="account.id")
    author_slack_id: str
    type: str
    occurred_at: datetime = _ts()
    note: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    sentiment: int = Field(default=0)  # +1 positive, 0 neutral, -1 negative
    tags: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    permalink: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    # Same request delivered twice (Slack retry, double click) writes once.
    idempotency_key: str | None = Field(default=None, sa_column=Column(Text, unique=True, nullable=True))
    created_at: datetime = _ts()
    deleted_at: datetime | None = _ts(nullable=True)


class AuditLog(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    at: datetime = _ts(index=True)
    actor_slack_id: str
    action: str  # e.g. touchpoint.create, touchpoint.undo, account.import
    entity: str
    entity_id: str | None = None
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


# --- delivery and scheduling -------------------------------------------------


def _outbox_lane(context: Any) -> str:
    """Where a row queues for pacing and order: its channel, its DM user, or the message it edits."""
    params = context.get_current_parameters()
    if params.get("channel"):
        return str(params["channel"])
    if params.get("dm_user"):
        return f"dm:{params['dm_user']}"
    return f"upd:{params.get('update_key') or ''}"


class Outbox(SQLModel, table=True):
    """Every message the bot posts on its own: written with the change that
    causes it, delivered by the worker, never posted twice (its key)."""

    __table_args__ = (
        Index("ix_outbox_due", "state", "next_attempt_at"),
        Index("ix_outbox_lane_state", "lane", "state"),
        Index("ix_outbox_lane_pace", "lane", "pace_at"),
        Index("ix_outbox_order_state", "order_key", "state"),
        Index("ix_outbox_depends_on", "depends_on"),
    )

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(sa_column=Column(Text, nullable=False, unique=True))
    method: str = Field(default="chat.postMessage")  # or chat.update
    channel: str | None = None  # channel ID; None when dm_user is set
    dm_user: str | None = None  # post to this user's DM (conversations.open)
    thread_key: str | None = None  # key of the Outbox row whose ts is our thread_ts
    thread_ts: str | None = None
    update_key: str | None = None  # chat.update: key of the Outbox row whose message we edit
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    priority: int = Field(default=0)  # 0 urgent (pages), 1 normal, 2 bulk (digests)
    state: str = Field(default="pending")  # pending / sent / dead
    attempts: int = Field(default=0)
    next_attempt_at: datetime = _ts()
    last_error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    posted_channel: str | None = None
    posted_ts: str | None = None
    created_at: datetime = _ts()
    sent_at: datetime | None = _ts(nullable=True)
    # Delivery bookkeeping (jobs/outbox.py). `lane`: messages in one lane go out in
    # order and paced (~1/s, Slack's per-channel limit); set on insert.
    lane: str = Field(default=None, sa_column=Column(Text, nullable=False, default=_outbox_lane))
    # A worker owns the row until `claimed_until` (its `claim_token` guards the result).
    claimed_until: datetime | None = _ts(nullable=True)
    claim_token: str | None = None
    # The last attempt may have reached Slack (crash, timeout, 5xx): look in the
    # channel's history for the key before posting again.
    in_doubt: bool = Field(default=False)
    failures: int = Field(default=0)  # consecutive retryable failures (backoff exponent)
    pace_at: datetime | None = _ts(nullable=True)  # the lane's pacing time after this send
    # Strict order only where Slack shows it: the replies of one thread, the edits of
    # one message ("thread:<key>", "upd:<key>"); NULL for a top-level post or DM.
    order_key: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    # The key of the row that must be posted first (thread parent, edited message, linked message).
    depends_on: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    # A page for this escalation: never given up on a transient error while it is unacknowledged.
    escalation_id: int | None = None
    reported_at: datetime | None = _ts(nullable=True)  # when admins were told it is dead


class JobRun(SQLModel, table=True):
    """One row per job per period, so a period's run happens once across
    restarts and replicas."""

    __table_args__ = (UniqueConstraint("job", "period", name="uq_jobrun_job_period"),)

    id: int | None = Field(default=None, primary_key=True)
    job: str
    period: str
    started_at: datetime = _ts()
    finished_at: datetime | None = _ts(nullable=True)
    outcome: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class Subscription(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("channel_id", "kind", name="uq_subscription_channel_kind"),)

    id: int | None = Field(default=None, primary_key=True)
    channel_id: str
    kind: str  # alerts / digest
    filter_segment: str | None = None
    filter_csm: str | None = None
    day: int | None = None  # 0 = Monday; digests only
    time_of_day: str = Field(default="09:00")  # HH:MM in tz
    tz: str = Field(default="UTC")
    created_by: str
    created_at: datetime = _ts()
    # alerts: the newest Alert.news_at this channel has been told about (None: created_at)
    alerts_posted_through: datetime | None = _ts(nullable=True)


# --- escalations ---------------------------------------------------------------


class Escalation(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="account.id", index=True)
    severity: str  # sev1 / sev2 / sev3
    summary: str = Field(sa_column=Column(Text, nullable=False))
    owner_slack_id: str
    opened_by: str
    status: str = Field(default="open", index=True)  # open / acknowledged / resolved
    level: int = Field(default=0)  # how far up the chain it has been paged
    channel_id: str | None = None
    thread_ts: str | None = None
    parent_key: str | None = None  # Outbox key of the parent message
    policy: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    step: int = Field(default=0)  # next policy step to run
    next_page_at: datetime | None = _ts(nullable=True, index=True)
    opened_at: datetime = _ts()
    acknowledged_at: datetime | None = _ts(nullable=True)
    acknowledged_by: str | None = None
    resolved_at: datetime | None = _ts(nullable=True)
    resolved_by: str | None = None
    resolution: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class EscalationEvent(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    escalation_id: int = Field(foreign_key="escalation.id", index=True)
    at: datetime = _ts()
    actor_slack_id: str | None = None  # None when the policy acted
    kind: str  # opened / acknowledged / note / reassigned / escalated / repaged / resolved
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


# --- customer health -----------------------------------------------------------


class NpsResponse(SQLModel, table=True):
    __table_args__ = (Index("ix_nps_account_responded", "account_id", "responded_at"),)

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="account.id")
    responded_at: datetime = _ts()
    score: int
    respondent: str | None = None
    comment: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    recorded_by: str | None = None
    created_at: datetime = _ts()
    deleted_at: datetime | None = _ts(nullable=True)


class UsageSnapshot(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("account_id", "date", name="uq_usage_account_date"),)

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="account.id")
    date: dt.date
    active_users: int
    licensed_users: int
    feature_adoption_pct: float | None = None


class RenewalEvent(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="account.id", index=True)
    outcome: str  # renewed / churned / downgraded
    # renewed: the ARR it renewed at; downgraded: the reduction; churned: the ARR lost
    amount_cents: int = Field(sa_column=Column(BigInteger, nullable=False))
    occurred_at: datetime = _ts(index=True)
    recorded_by: str
    created_at: datetime = _ts()
    deleted_at: datetime | None = _ts(nullable=True)
    # The renewal that was due (§6.1 renewal rate): its date and the ARR due then.
    due_date: date | None = Field(default=None, index=True)
    arr_due_cents: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    # What Undo puts back (§6.0): the stage and contract start before the outcome.
    prior_stage: str | None = None
    prior_contract_start: date | None = None


class Expansion(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="account.id", index=True)
    amount_cents: int = Field(sa_column=Column(BigInteger, nullable=False))
    note: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    product: str | None = None  # the `#product` tag of `/cs upsell` ("premier": Premier Support & Success)
    occurred_at: datetime = _ts(index=True)
    recorded_by: str
    created_at: datetime = _ts()
    deleted_at: datetime | None = _ts(nullable=True)


class HealthSnapshot(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("account_id", "date", name="uq_health_account_date"),)

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="account.id")
    date: dt.date = Field(index=True)
    score: int | None = None
    band: str | None = None  # green / yellow / red
    reasons: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    measures: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    # at risk by §4 that day (None: written before this was recorded; read as band == red)
    at_risk: bool | None = None


class Alert(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="account.id", index=True)
    kind: str = Field(default="at_risk")
    reasons: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    state: str = Field(default="open")  # open / closed
    first_seen: datetime = _ts()
    last_posted: datetime | None = _ts(nullable=True)
    snoozed_until: datetime | None = _ts(nullable=True)
    # when it last became news (newly at risk, a new reason, the snooze over): the
    # subscriptions' own jobs post the alerts newer than their watermark
    news_at: datetime | None = _ts(nullable=True)


# --- revenue history (PRODUCT.md §6.0) -------------------------------------------

MOVEMENT_KINDS = ("new", "expansion", "contraction", "churn", "reactivation")
MOVEMENT_SOURCES = ("import", "movements", "upsell", "renewal", "backfill")


class ArrMovement(SQLModel, table=True):
    """One change to an account's ARR. Account.arr_cents is always the sum of
    the account's live movements (bot/revenue/ledger.py keeps it so); ARR on
    any day is the sum of the movements effective on or before it."""

    __table_args__ = (
        Index("ix_arrmovement_account_effective", "account_id", "effective_date"),
        Index("ix_arrmovement_ref", "ref"),
    )

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="account.id")
    kind: str  # one of MOVEMENT_KINDS
    amount_cents: int = Field(sa_column=Column(BigInteger, nullable=False))  # signed
    # The team's local day it takes effect.
    effective_date: date = Field(index=True)
    # The instant, when one is known (a Slack command): periods in another time
    # zone place the movement by it. None for dated imports.
    effective_at: datetime | None = _ts(nullable=True)
    source: str  # one of MOVEMENT_SOURCES
    # what wrote it, so Undo finds it: "renewalevent:12", "expansion:3", "import:<run>"
    ref: str | None = None
    product: str | None = None  # expansions tagged `#product`
    note: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    stage_before: str | None = None  # the account's stage before (Undo restores it)
    recorded_by: str | None = None
    created_at: datetime = _ts()
    deleted_at: datetime | None = _ts(nullable=True)

# --- requests from Slack ------------------------------------------------------


class SlackRequest(SQLModel, table=True):
    """A Slack request that wrote something, by a key the request carries (its
    trigger_id, view id or signature): stored in the transaction of its first
    write under a unique key, so a second delivery — a retry, a replay, another
    replica, after a restart — writes nothing and answers what the first did."""

    key: str = Field(sa_column=Column(Text, primary_key=True))
    answer: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    created_at: datetime = _ts(index=True)
