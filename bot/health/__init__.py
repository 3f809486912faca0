"""Customer health (PRODUCT.md §4): the scorecard, evaluating a portfolio, the
at-risk alert rules and their buttons, the health blocks and the account card's
health section, `/cs risk`.

May import: `bot/slack/`, `bot/delivery/`, the process modules, `models/`; other
wings only through their public functions."""
