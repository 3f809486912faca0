"""Accounts and people: matching typed names to accounts, the account card (its
query and blocks), the CSV importers, members and roles, `/cs team`.

May import: `bot/slack/`, the process modules, `models/`; other wings only
through their public functions."""
