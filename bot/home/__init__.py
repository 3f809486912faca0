"""The App Home tab (PRODUCT.md §2.1).

May import: `bot/slack/`, the process modules, `models/`; other wings only
through their public functions."""
