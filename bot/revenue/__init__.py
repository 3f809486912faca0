"""Revenue (PRODUCT.md §6.0): `/cs nps`, `/cs renewal`, `/cs upsell` and what
they record.

May import: `bot/slack/`, the process modules, `models/`; other wings only
through their public functions."""
