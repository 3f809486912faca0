"""What `csbot import accounts --help` says about every column (PRODUCT.md §3.1):
the forms a value may take and the other names a CRM may give the column, built
from the same alias table the reader uses, so the help never drifts from it."""

from __future__ import annotations

from bot.accounts.csv_import import ALIASES, DATE_FORMS
from models.tables import STAGES

_ACCOUNT_COLUMNS: tuple[tuple[str, str], ...] = (
    ("name", "required; the account's name as the team says it"),
    ("arr", "required; dollars: 120000, 120,000.50, $120k, 1.2m"),
    ("external_id", "your CRM's ID; the key when present (a row with a new name renames the account)"),
    ("segment", "free text, e.g. Enterprise, Mid-Market, SMB"),
    ("csm", "the CSM's Slack member ID (U…) or email (looked up in Slack)"),
    ("renewal_date", f"{DATE_FORMS}"),
    ("contract_start", f"{DATE_FORMS}"),
    ("stage", ", ".join(STAGES)),
    ("licensed_users", "a whole number (seats)"),
)


def _other_names(column: str) -> str:
    names = [n.replace("_", " ") for n in ALIASES.get(column, ())]
    return f" Also read as: {', '.join(names)}." if names else ""


def accounts_help() -> str:
    """The epilog: one paragraph per column (click keeps `\\b` blocks as written)."""
    lines = ["\b", "Columns (an empty cell clears an optional value):"]
    for column, forms in _ACCOUNT_COLUMNS:
        lines.append(f"  {column}: {forms}.{_other_names(column)}")
    lines += [
        "",
        "\b",
        "A file with a bad row is rejected whole, every bad row listed by line; unknown",
        "columns are ignored and named. Samples: examples/accounts.csv, examples/crm_export.csv.",
    ]
    return "\n".join(lines)
