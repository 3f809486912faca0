"""Account matching (PRODUCT.md §2): exact, then case/punctuation-insensitive,
then prefix, then fuzzy. Names live in an in-memory index so that a command
never scans the account table."""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass
from enum import StrEnum

from rapidfuzz import fuzz, process
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from models.tables import Account

_NON_WORD = re.compile(r"[\W_]+", re.UNICODE)
FUZZY_CUTOFF = 80
MAX_CANDIDATES = 5


def normalize(name: str) -> str:
    """Case- and punctuation-insensitive form: 'Acme, Inc.' -> 'acme inc'."""
    return " ".join(_NON_WORD.sub(" ", name.casefold()).split())


@dataclass(frozen=True)
class AccountRef:
    id: int
    name: str


class MatchKind(StrEnum):
    EXACT = "exact"
    NORMALIZED = "normalized"
    PREFIX = "prefix"
    FUZZY = "fuzzy"
    NONE = "none"


@dataclass(frozen=True)
class Match:
    kind: MatchKind
    candidates: tuple[AccountRef, ...]  # one: use it; several: ask; none: see suggestions
    suggestions: tuple[AccountRef, ...] = ()

    @property
    def unique(self) -> AccountRef | None:
        return self.candidates[0] if len(self.candidates) == 1 else None


class AccountIndex:
    """Names -> accounts, reloaded when the account table changes.

    The change check is one cheap aggregate query, done at most every
    `recheck_seconds`; `invalidate()` forces a reload after a local write.
    """

    def __init__(self, engine: Engine, recheck_seconds: float = 5.0) -> None:
        self._engine = engine
        self._recheck_seconds = recheck_seconds
        self._lock = threading.Lock()
        self._version: tuple[object, ...] | None = None
        self._checked_at = float("-inf")
        self._by_name: dict[str, AccountRef] = {}
        self._by_norm: dict[str, list[AccountRef]] = {}
        self._norm_sorted: list[str] = []
        self._refs: list[AccountRef] = []
        self._by_id: dict[int, AccountRef] = {}

    def invalidate(self) -> None:
        with self._lock:
            self._version = None
            self._checked_at = float("-inf")

    def _ensure_fresh(self) -> None:
        now = time.monotonic()
        if now - self._checked_at < self._recheck_seconds and self._version is not None:
            return
        with self._lock:
            if now - self._checked_at < self._recheck_seconds and self._version is not None:
                return
            with self._engine.connect() as conn:
                version = tuple(
                    conn.execute(
                        select(func.count(Account.id), func.max(Account.id), func.max(Account.updated_at))
                    ).one()
                )
                if version != self._version:
                    rows = conn.execute(select(Account.id, Account.name)).all()
                    self._load([AccountRef(id=r[0], name=r[1]) for r in rows])
                    self._version = version
            self._checked_at = now

    def _load(self, refs: list[AccountRef]) -> None:
        by_norm: dict[str, list[AccountRef]] = {}
        for ref in refs:
            by_norm.setdefault(normalize(ref.name), []).append(ref)
        self._by_name = {r.name: r for r in refs}
        self._by_norm = by_norm
        self._norm_sorted = sorted(by_norm)
        self._refs = refs
        self._by_id = {r.id: r for r in refs}

    def all(self) -> list[AccountRef]:
        self._ensure_fresh()
        return list(self._refs)

    def get_exact(self, name: str) -> AccountRef | None:
        self._ensure_fresh()
        return self._by_name.get(name)

    def names_normalized(self) -> dict[str, list[AccountRef]]:
        self._ensure_fresh()
        return self._by_norm

    def match(self, query: str) -> Match:
        self._ensure_fresh()
        query = query.strip()
        if not query:
            return Match(MatchKind.NONE, ())
        exact = self._by_name.get(query)
        if exact is not None:
            return Match(MatchKind.EXACT, (exact,))
        norm = normalize(query)
        if not norm:
            return Match(MatchKind.NONE, ())
        same = self._by_norm.get(norm)
        if same:
            return Match(MatchKind.NORMALIZED, tuple(same))
        prefixed = self._prefix(norm)
        if prefixed:
            return Match(MatchKind.PREFIX, tuple(prefixed))
        close = self.closest(norm)
        strong = [ref for ref, score in close if score >= FUZZY_CUTOFF]
        if strong:
            return Match(MatchKind.FUZZY, tuple(strong[:MAX_CANDIDATES]))
        return Match(MatchKind.NONE, (), tuple(ref for ref, _ in close[:3]))

    def _prefix(self, norm: str) -> list[AccountRef]:
        import bisect

        found: list[AccountRef] = []
        start = bisect.bisect_left(self._norm_sorted, norm)
        for key in self._norm_sorted[start:]:
            if not key.startswith(norm):
                break
            found.extend(self._by_norm[key])
            if len(found) > MAX_CANDIDATES:
                break
        return found

    def closest(self, norm: str, limit: int = MAX_CANDIDATES) -> list[tuple[AccountRef, float]]:
        results = process.extract(norm, self._norm_sorted, scorer=fuzz.WRatio, limit=limit)
        out: list[tuple[AccountRef, float]] = []
        for key, score, _ in results:
            for ref in self._by_norm[key]:
                out.append((ref, float(score)))
        return out[:limit]

    # --- issue 4: the /cs log grammar and the account picker -------------------

    def has_name(self, text: str) -> bool:
        """True when `text` names an account as typed (case and punctuation aside)."""
        self._ensure_fresh()
        return text in self._by_name or normalize(text) in self._by_norm

    def get(self, account_id: int) -> AccountRef | None:
        self._ensure_fresh()
        return self._by_id.get(account_id)

    def search(self, query: str, limit: int = 20) -> list[AccountRef]:
        """Names for a picker as the user types: prefix matches first (alphabetical),
        then fuzzy ones; with no query, the first names alphabetically."""
        import bisect

        self._ensure_fresh()
        norm = normalize(query)
        found: list[AccountRef] = []
        seen: set[int] = set()

        def add(refs: list[AccountRef]) -> None:
            for ref in refs:
                if ref.id not in seen and len(found) < limit:
                    seen.add(ref.id)
                    found.append(ref)

        start = bisect.bisect_left(self._norm_sorted, norm)
        for key in self._norm_sorted[start:]:
            if len(found) >= limit or not key.startswith(norm):
                break
            add(self._by_norm[key])
        if norm and len(found) < limit:
            for ref, _score in self.closest(norm, limit=limit):
                add([ref])
        return found
