"""Money as integer cents: parsing what people type and showing it back."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from bot.errors import BadInput

_AMOUNT = re.compile(r"^\$?\s*(\d{1,3}(?:,\d{3})+|\d+)?(\.\d+)?\s*([kmb])?$", re.IGNORECASE)
_SCALE = {None: 1, "k": 1_000, "m": 1_000_000, "b": 1_000_000_000}
# No customer's contract is near it, and every column holds it (BIGINT cents) many
# times over, so a slip of the keyboard is refused rather than recorded.
MAX_CENTS = 10_000_000_000 * 100


class AmountTooLarge(BadInput, ValueError):
    """An amount above MAX_CENTS: refused with its own sentence (a ValueError too,
    for the callers that turn any bad amount into their usage line)."""


def parse_dollars(text: str) -> int:
    """'$120k', '120,000', '120000.50', '1.2m' -> cents. Raises ValueError."""
    raw = text.strip()
    match = _AMOUNT.match(raw)
    if not raw or match is None or (match.group(1) is None and match.group(2) is None):
        raise ValueError(f"{text!r} is not an amount (try 120000, 120,000.50, $120k or 1.2m)")
    whole = (match.group(1) or "0").replace(",", "")
    try:
        value = Decimal(whole + (match.group(2) or "")) * _SCALE[(match.group(3) or "").lower() or None]
    except InvalidOperation:
        raise ValueError(f"{text!r} is not an amount") from None
    cents = value * 100
    if cents != cents.to_integral_value():
        raise ValueError(f"{text!r} has fractions of a cent")
    if abs(cents) > MAX_CENTS:
        raise AmountTooLarge(
            f"{text.strip()[:40]} is more than {format_cents(MAX_CENTS)}, the most an amount may be. "
            "Nothing was recorded"
        )
    return int(cents)


def format_cents(cents: int, *, compact: bool = False) -> str:
    """12000050 -> '$120,000.50'; compact: '$120k', '$1.2m'."""
    sign = "-" if cents < 0 else ""
    cents = abs(cents)
    if compact:
        dollars = cents / 100
        for size, suffix in ((1_000_000_000, "b"), (1_000_000, "m"), (1_000, "k")):
            if dollars >= size:
                return f"{sign}${dollars / size:.1f}".rstrip("0").rstrip(".") + suffix
        return f"{sign}${dollars:,.0f}"
    whole, frac = divmod(cents, 100)
    return f"{sign}${whole:,}" + (f".{frac:02d}" if frac else "")
