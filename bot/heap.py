"""The long-running process and Python's garbage collector (PRODUCT.md §9).

What start-up builds (modules, SQLAlchemy's mappers, the app's listeners) lives
as long as the process, yet a full collection walks all of it, and a request
that builds many objects (the director's figures hold a row per account) sets
one off: at 10,000 accounts that walk was about a sixth of the Home tab's time.
`settle_startup_heap` collects once and moves what survived into the
collector's permanent generation (`gc.freeze`), so later collections walk only
what requests create. Called once, when start-up is done; never from tests or
library code (a frozen object is never collected)."""

from __future__ import annotations

import gc


def settle_startup_heap() -> int:
    """Collect, then freeze what is left; returns how many objects were frozen."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()
