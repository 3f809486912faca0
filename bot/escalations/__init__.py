"""Escalations (PRODUCT.md §5): parsing `/cs escalate`, the manager chain and who
may act, the service (open, acknowledge, resolve, reassign, escalate, note), the
policy (SLAs, business hours) and its step, the flows, the blocks, and the stats
the digest reads.

May import: `bot/slack/`, `bot/delivery/` (to queue pages), the process modules,
`models/`; other wings only through their public functions."""
