"""Telling the admins about something they must fix (a start-up check that failed,
e.g. an escalations channel the bot cannot post in): a DM to each admin through the
Outbox, once a day (the key carries the date, so restarts do not repeat it)."""

from __future__ import annotations

import hashlib

from sqlalchemy.engine import Engine

from bot.clock import Clock
from bot.delivery.dead_letters import admin_ids
from bot.delivery.outbox import enqueue
from bot.settings import Settings
from models.db import session_scope


def warn_admins(engine: Engine, clock: Clock, settings: Settings, warnings: list[str]) -> bool:
    """Queue one DM per admin and warning; True when anything was queued."""
    if not warnings:
        return False
    day = clock.now().date().isoformat()
    with session_scope(engine) as session:
        admins = admin_ids(session, settings.admins)
        for warning in warnings:
            digest = hashlib.sha1(warning.encode()).hexdigest()[:12]
            for admin in sorted(admins):
                key = f"startup-warning:{day}:{admin}:{digest}"
                enqueue(session, clock, key=key, text=f":warning: {warning}", dm_user=admin)
    return True
