"""Delivery (PRODUCT.md §6.3): writing to the Outbox, the only way the bot posts on
its own, and channel subscriptions with their schedules.

May import: `bot/slack/`, the process modules (`bot/schedules.py` for the schedule
types), `models/`. Never `jobs/`: the scheduler depends on delivery, not the
reverse."""
