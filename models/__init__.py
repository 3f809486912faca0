"""SQLModel tables, the engine and session helpers, and the set-based queries."""

from models.tables import (  # noqa: F401  (importing registers every table on SQLModel.metadata)
    Account,
    Alert,
    AuditLog,
    Escalation,
    EscalationEvent,
    Expansion,
    HealthSnapshot,
    JobRun,
    Member,
    NpsResponse,
    Outbox,
    RenewalEvent,
    Subscription,
    Touchpoint,
    UsageSnapshot,
)
