"""The `/cs log` one-line grammar (PRODUCT.md §2), as a pure function.

    <account> <type> [date] <note...> [#tag ...] [+|-|~]

No I/O: the caller passes "now" in the user's own time zone and a predicate
that says whether some words name an account (the in-memory index), so the
parser is fast, deterministic and testable without Slack or a database.
Anything it cannot accept raises `LogParseError` with a sentence that says
what was wrong and shows the right form.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.errors import BadInput
from bot.slack.help import usage

# Canonical type -> aliases (the canonical name is always accepted too).
TYPE_ALIASES: dict[str, tuple[str, ...]] = {
    "call": ("phone", "phonecall", "phone-call", "zoom", "dial"),
    "meeting": ("meet", "mtg", "onsite", "visit"),
    "email": ("e-mail", "mail", "emailed"),
    "qbr": ("quarterly-business-review",),
    "ebr": ("executive-business-review",),
    "exec-sponsor": ("exec", "sponsor", "execsponsor", "exec_sponsor", "exec-sponsor-call"),
    "onboarding": ("onboard", "kickoff", "kick-off"),
    "training": ("train", "enablement", "workshop"),
    "nps-followup": ("nps", "npsfollowup", "nps-follow-up", "nps_followup"),
    "escalation-review": ("escalation", "esc-review", "escalationreview", "escalation_review"),
    "renewal-discussion": ("renewal", "renewals", "renewal-call", "renewal_discussion"),
    "other": ("misc", "note", "general"),
}
TYPES: tuple[str, ...] = tuple(TYPE_ALIASES)
TYPE_LABELS: dict[str, str] = {
    "call": "Call",
    "meeting": "Meeting",
    "email": "Email",
    "qbr": "QBR",
    "ebr": "EBR",
    "exec-sponsor": "Exec sponsor",
    "onboarding": "Onboarding",
    "training": "Training",
    "nps-followup": "NPS follow-up",
    "escalation-review": "Escalation review",
    "renewal-discussion": "Renewal discussion",
    "other": "Other",
}
_TYPE_BY_WORD: dict[str, str] = {}
for _canonical, _aliases in TYPE_ALIASES.items():
    _TYPE_BY_WORD[_canonical] = _canonical
    for _alias in _aliases:
        _TYPE_BY_WORD[_alias] = _canonical

SENTIMENTS: dict[str, int] = {"+": 1, "~": 0, "-": -1, "\u2212": -1, "\u2013": -1}
SENTIMENT_LABELS: dict[int, str] = {1: "positive", 0: "neutral", -1: "negative"}

WEEKDAYS: dict[str, int] = {}
for _i, _names in enumerate(
    (
        ("monday", "mon"),
        ("tuesday", "tue", "tues"),
        ("wednesday", "wed"),
        ("thursday", "thu", "thur", "thurs"),
        ("friday", "fri"),
        ("saturday", "sat"),
        ("sunday", "sun"),
    )
):
    for _name in _names:
        WEEKDAYS[_name] = _i

# Notes arrive from a slash command; the ambiguous-account buttons carry them
# in a button value (Slack: < 2000 characters), so one-line notes are bounded.
MAX_NOTE_CHARS = 900
MAX_TAGS = 10
MAX_TAG_CHARS = 40
DATE_FORMS = "`today`, `yesterday`, a weekday (`tue`), `2026-11-20`, `11/20` or `3d` (3 days ago)"

_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_MONTH_DAY = re.compile(r"^(\d{1,2})/(\d{1,2})(?:/(\d{2}|\d{4}))?$")
_DAYS_AGO = re.compile(r"^(\d{1,4})d$")
_TAG = re.compile(r"^#([\w][\w\-/.]*)$")
# Words that name a day to come: refused as a date, never kept as the note's first word.
_FUTURE_WORDS = frozenset({"tomorrow", "tmrw", "tmr", "tomorow", "tommorow", "tommorrow", "overmorrow"})
_DAYS_AHEAD = re.compile(r"^(?:\+|in)(\d{1,4})d$")
_LOOKS_LIKE_DATE = re.compile(r"^\d{1,4}[-/]\d{1,2}([-/]\d{1,4})?$")


_SLACK_CHANNEL_REF = re.compile(r"<#[A-Z0-9]+\|([^>]*)>")


def from_slack(text: str) -> str:
    """Slash-command text as the user typed it. With `should_escape` (manifest.yml)
    Slack sends `&amp; &lt; &gt;` and turns `#renewal` into `<#C123|renewal>` when
    such a channel exists: undo both, so 'O'Reilly & Sons' and #tags read as typed.
    User mentions (`<@U123|name>`) and links stay Slack markup."""
    text = _SLACK_CHANNEL_REF.sub(lambda m: "#" + m.group(1), text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


class LogParseError(BadInput):
    """The line could not be read; the message says why and shows the form."""


@dataclass(frozen=True)
class LogCommand:
    """What the user asked to record, before the account name is resolved."""

    account_text: str
    type: str
    on: date  # the day it happened, in the user's time zone
    note: str
    tags: tuple[str, ...] = ()
    sentiment: int = 0
    date_given: bool = False


def type_for(word: str) -> str | None:
    """The canonical touchpoint type for a word or alias, or None."""
    return _TYPE_BY_WORD.get(word.casefold().strip())


def _fail(what: str) -> LogParseError:
    return LogParseError(f"{what}\nThe form is: {usage('log').splitlines()[0]}")


def _clean(text: str) -> str:
    """Drop control characters (keep whitespace) so notes are safe to echo."""
    if text.isprintable():
        return text
    return "".join(ch if not unicodedata.category(ch).startswith("C") or ch.isspace() else " " for ch in text)


def parse_date(word: str, today: date) -> date | None:
    """A date form relative to `today` (the user's local date), or None when the
    word is not a date at all. Raises LogParseError for a date that is not
    valid or lies in the future."""
    w = word.casefold()
    if w == "today":
        return today
    if w in ("yesterday", "yday"):
        return today - timedelta(days=1)
    if w in _FUTURE_WORDS or _DAYS_AHEAD.match(w):
        raise _fail(
            f"`{word}` is in the future (today is {today:%a %Y-%m-%d} in your time zone). "
            "Log what already happened, today or earlier."
        )
    if w in WEEKDAYS:
        # The most recent such day; today's own weekday name means today.
        return today - timedelta(days=(today.weekday() - WEEKDAYS[w]) % 7)
    m = _DAYS_AGO.match(w)
    if m:
        days = int(m.group(1))
        if days > 3660:
            raise _fail(f"`{word}` is too far back. Dates: {DATE_FORMS}.")
        return today - timedelta(days=days)
    m = _ISO.match(w)
    if m:
        try:
            found = date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        except ValueError:
            raise _fail(f"`{word}` is not a date. Dates: {DATE_FORMS}.") from None
        if found > today:
            raise _fail(
                f"`{word}` is in the future (today is {today:%a %Y-%m-%d} in your time zone). "
                "Log what already happened, today or earlier."
            )
        return found
    m = _MONTH_DAY.match(w)
    if m:
        month, day, year = int(m.group(1)), int(m.group(2)), m.group(3)
        try:
            if year is None:
                found = date(today.year, month, day)
                if found > today:  # 12/30 typed on Jan 2: last year's
                    found = date(today.year - 1, month, day)
            else:
                full = int(year) + (2000 if len(year) == 2 else 0)
                found = date(full, month, day)
        except ValueError:
            raise _fail(f"`{word}` is not a date (month/day). Dates: {DATE_FORMS}.") from None
        if found > today:
            raise _fail(
                f"`{word}` is in the future (today is {today:%a %Y-%m-%d} in your time zone). "
                "Log what already happened, today or earlier."
            )
        return found
    if _LOOKS_LIKE_DATE.match(w):
        raise _fail(f"`{word}` is not a date. Dates: {DATE_FORMS}.")
    return None


def parse_log(text: str, *, today: date, is_account: Callable[[str], bool]) -> LogCommand:
    """Read one `/cs log` line. `today` is the user's local date; `is_account`
    says whether some words name an account exactly (case/punctuation aside)."""
    words = _clean(text).split()
    if not words:
        raise _fail("Tell me the account, the type and what happened.")

    sentiment = 0
    if words[-1] in SENTIMENTS:
        sentiment = SENTIMENTS[words[-1]]
        words = words[:-1]
        if not words:
            raise _fail("Tell me the account, the type and what happened before the sentiment.")

    # The longest run of leading words that names an account and is followed by a type.
    split = None
    for i in range(len(words) - 1, 0, -1):
        if type_for(words[i]) is not None and is_account(" ".join(words[:i])):
            split = i
            break
    if split is None:
        split = next((i for i in range(1, len(words)) if type_for(words[i]) is not None), None)
    if split is None:
        if type_for(words[0]) is not None:
            raise _fail("Start with the account name, then the type.")
        types = ", ".join(f"`{t}`" for t in TYPES)
        raise _fail(f"I could not find the touchpoint type after the account name. Types: {types}.")

    account_text = " ".join(words[:split])
    kind = type_for(words[split])
    assert kind is not None
    rest = words[split + 1 :]

    on = today
    date_given = False
    if rest:
        found = parse_date(rest[0], today)
        if found is not None:
            on, date_given = found, True
            rest = rest[1:]

    tags: list[str] = []
    note_words: list[str] = []
    for word in rest:
        m = _TAG.match(word)
        if m:
            tag = m.group(1).casefold()
            if len(tag) > MAX_TAG_CHARS:
                raise _fail(
                    f"The tag `#{tag[:MAX_TAG_CHARS]}…` is too long (at most {MAX_TAG_CHARS} characters)."
                )
            if tag not in tags:
                tags.append(tag)
        else:
            note_words.append(word)
    if len(tags) > MAX_TAGS:
        raise _fail(f"That is {len(tags)} tags; a touchpoint takes at most {MAX_TAGS}.")
    note = " ".join(note_words)
    if not note:
        raise _fail("Add a note after the type (and date): what happened?")
    if len(note) > MAX_NOTE_CHARS:
        raise _fail(
            f"That note is {len(note)} characters; one line takes at most {MAX_NOTE_CHARS}. "
            "For a longer note use the form: `/cs log` with nothing after it."
        )
    return LogCommand(
        account_text=account_text,
        type=kind,
        on=on,
        note=note,
        tags=tuple(tags),
        sentiment=sentiment,
        date_given=date_given,
    )


def local_today(now: datetime, tz: ZoneInfo) -> date:
    """The user's calendar date at `now` (what "today" means to them)."""
    return now.astimezone(tz).date()


def occurred_at(on: date, now: datetime, tz: ZoneInfo) -> datetime:
    """When a touchpoint on local day `on` happened, in UTC: now when it is
    today, else noon that day in the user's zone (never in the future)."""
    local_now = now.astimezone(tz)
    if on >= local_now.date():
        return now
    return datetime.combine(on, time(12, 0), tzinfo=tz).astimezone(now.tzinfo)


def parse_tags(text: str) -> tuple[str, ...]:
    """Tags typed in the form: separated by commas or spaces, `#` optional."""
    out: list[str] = []
    for word in re.split(r"[\s,]+", _clean(text)):
        tag = word.lstrip("#").casefold()
        if tag and tag not in out:
            out.append(tag[:MAX_TAG_CHARS])
    return tuple(out[:MAX_TAGS])
