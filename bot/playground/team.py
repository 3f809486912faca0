"""The sample team and workspace the playground and `csbot demo` share (PRODUCT.md §7.1):
five CSMs under a director, a CS exec, an admin, and the channels the bot posts to."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Person:
    slack_id: str
    name: str  # Slack display name
    full_name: str
    role: str  # csm / director / exec / admin
    manager: str | None = None
    tz: str = "America/New_York"

    @property
    def email(self) -> str:
        return f"{self.name}@example.com"

    @property
    def label(self) -> str:
        return f"{self.full_name} ({ROLE_LABELS[self.role]})"


ROLE_LABELS = {"csm": "CSM", "director": "Director", "exec": "VP CS", "admin": "Admin"}

TEAM: tuple[Person, ...] = (
    Person("UCSM01", "maya", "Maya Chen", "csm", "UDIR01"),
    Person("UCSM02", "leo", "Leo Okafor", "csm", "UDIR01"),
    Person("UCSM03", "sofia", "Sofia Rossi", "csm", "UDIR01", "Europe/Rome"),
    Person("UCSM04", "sam", "Sam Patel", "csm", "UDIR01", "America/Chicago"),
    Person("UCSM05", "noor", "Noor Haddad", "csm", "UDIR01"),
    Person("UDIR01", "dana", "Dana Whitfield", "director", "UEXEC01"),
    Person("UEXEC01", "eve", "Eve Marsh", "exec"),
    Person("UADMIN01", "alex", "Alex Kim", "admin", None, "UTC"),
)
CSMS = tuple(p for p in TEAM if p.role == "csm")
BY_ID = {p.slack_id: p for p in TEAM}


@dataclass(frozen=True)
class Channel:
    id: str
    name: str
    purpose: str


ESCALATIONS = Channel(
    "CESCALATE", "cs-escalations", "Escalations: parent message per escalation, pages in its thread"
)
ALERTS = Channel("CALERTS", "cs-alerts", "At-risk alerts, one message per run")
LEADERSHIP = Channel("CLEADERS", "cs-leadership", "The weekly digest (Monday 09:00)")
GENERAL = Channel("CGENERAL", "general", "Say hello; try /cs help")
CUSTOMER = Channel("CACMESHARED", "ext-northwind", "A Slack Connect channel with a customer")
CHANNELS: tuple[Channel, ...] = (GENERAL, ALERTS, ESCALATIONS, LEADERSHIP, CUSTOMER)

# A customer in the shared channel, so "Log as touchpoint" has a message to log.
CUSTOMER_CONTACT = Person("UEXT01", "jordan.northwind", "Jordan (Northwind)", "csm")
CUSTOMER_MESSAGE = (
    "Hi team, the new SSO rollout went well for most of our users, but reporting exports "
    "are still timing out for the finance group. Can we get on a call this week?"
)
