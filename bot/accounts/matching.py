"""Account matching (PRODUCT.md §2): exact, then case/punctuation-insensitive,
then prefix, then fuzzy. Names live in an in-memory index so that a command
never scans the account table."""

from __future__ import annotations

import bisect
import re
import threading
import time
from collections.abc import Iterator
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


@dataclass(frozen=True)
class _Names:
    """One consistent view of the account names. Replaced whole on reload, so a
    reader that took it never sees half of an old index and half of a new one."""

    by_name: dict[str, AccountRef]
    by_norm: dict[str, list[AccountRef]]
    norm_sorted: list[str]
    by_id: dict[int, AccountRef]

    @classmethod
    def of(cls, refs: list[AccountRef]) -> _Names:
        by_norm: dict[str, list[AccountRef]] = {}
        for ref in refs:
            by_norm.setdefault(normalize(ref.name), []).append(ref)
        return cls({r.name: r for r in refs}, by_norm, sorted(by_norm), {r.id: r for r in refs})

    def prefixed(self, norm: str) -> Iterator[list[AccountRef]]:
        """The accounts whose normalized name starts with `norm`, alphabetically."""
        for key in self.norm_sorted[bisect.bisect_left(self.norm_sorted, norm) :]:
            if not key.startswith(norm):
                return
            yield self.by_norm[key]

    def closest(self, norm: str, limit: int) -> list[tuple[AccountRef, float]]:
        results = process.extract(norm, self.norm_sorted, scorer=fuzz.WRatio, limit=limit)
        return [(ref, float(score)) for key, score, _ in results for ref in self.by_norm[key]][:limit]


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
        self._names = _Names.of([])

    def invalidate(self) -> None:
        with self._lock:
            self._version = None
            self._checked_at = float("-inf")

    def _fresh(self) -> _Names:
        now = time.monotonic()
        if now - self._checked_at < self._recheck_seconds and self._version is not None:
            return self._names
        with self._lock:
            if now - self._checked_at < self._recheck_seconds and self._version is not None:
                return self._names
            with self._engine.connect() as conn:
                version = tuple(
                    conn.execute(
                        select(func.count(Account.id), func.max(Account.id), func.max(Account.updated_at))
                    ).one()
                )
                if version != self._version:
                    rows = conn.execute(select(Account.id, Account.name)).all()
                    self._names = _Names.of([AccountRef(id=r[0], name=r[1]) for r in rows])
                    self._version = version
            self._checked_at = now
            return self._names

    def match(self, query: str) -> Match:
        names = self._fresh()
        query = query.strip()
        if not query:
            return Match(MatchKind.NONE, ())
        exact = names.by_name.get(query)
        if exact is not None:
            return Match(MatchKind.EXACT, (exact,))
        norm = normalize(query)
        if not norm:
            return Match(MatchKind.NONE, ())
        same = names.by_norm.get(norm)
        if same:
            return Match(MatchKind.NORMALIZED, tuple(same))
        prefixed: list[AccountRef] = []
        for refs in names.prefixed(norm):
            prefixed.extend(refs)
            if len(prefixed) > MAX_CANDIDATES:
                break
        if prefixed:
            return Match(MatchKind.PREFIX, tuple(prefixed))
        close = names.closest(norm, MAX_CANDIDATES)
        strong = [ref for ref, score in close if score >= FUZZY_CUTOFF]
        if strong:
            return Match(MatchKind.FUZZY, tuple(strong[:MAX_CANDIDATES]))
        return Match(MatchKind.NONE, (), tuple(ref for ref, _ in close[:3]))

    def has_name(self, text: str) -> bool:
        """True when `text` names an account as typed (case and punctuation aside)."""
        names = self._fresh()
        return text in names.by_name or normalize(text) in names.by_norm

    def get(self, account_id: int) -> AccountRef | None:
        return self._fresh().by_id.get(account_id)

    def search(self, query: str, limit: int = 20) -> list[AccountRef]:
        """Names for a picker as the user types: prefix matches first (alphabetical),
        then fuzzy ones; with no query, the first names alphabetically."""
        names = self._fresh()
        norm = normalize(query)
        found: list[AccountRef] = []
        seen: set[int] = set()

        def add(refs: list[AccountRef]) -> None:
            for ref in refs:
                if ref.id not in seen and len(found) < limit:
                    seen.add(ref.id)
                    found.append(ref)

        for refs in names.prefixed(norm):
            if len(found) >= limit:
                break
            add(refs)
        if norm and len(found) < limit:
            add([ref for ref, _score in names.closest(norm, limit)])
        return found
