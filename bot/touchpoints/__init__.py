"""Touchpoints (PRODUCT.md §2 `/cs log`): the one-line grammar, the log flow and
form, recording, the confirmation and Undo.

May import: `bot/slack/`, the process modules, `models/`; other wings only
through their public functions."""
