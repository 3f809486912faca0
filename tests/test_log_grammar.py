"""The `/cs log` grammar: a table of lines and what they mean, every error
message, the time-zone edges, and a property test that arbitrary text only
ever yields a LogParseError."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.accounts.matching import normalize
from bot.touchpoints.grammar import (
    MAX_NOTE_CHARS,
    TYPE_ALIASES,
    LogCommand,
    LogParseError,
    from_slack,
    local_today,
    occurred_at,
    parse_log,
    parse_tags,
)

FRI = date(2026, 11, 20)  # a Friday
ACCOUNTS = {
    normalize(n) for n in ("Acme", "Acme Corp", "Globex Health Systems", "Call Center Co", "O'Reilly & Sons")
}
USAGE = "/cs log <account> <type> [date] <note...> [#tag ...] [+|-|~]"


def is_account(text: str) -> bool:
    return normalize(text) in ACCOUNTS


def parse(text: str, today: date = FRI) -> LogCommand:
    return parse_log(text, today=today, is_account=is_account)


def cmd(
    account: str,
    type_: str,
    on: date,
    note: str,
    tags: tuple[str, ...] = (),
    sentiment: int = 0,
    date_given: bool = False,
) -> LogCommand:
    return LogCommand(account, type_, on, note, tags, sentiment, date_given)


# Every alias and canonical name, each in a line, resolves to its type.
ALIAS_CASES = [
    (f"Acme {word} hello", cmd("Acme", canonical, FRI, "hello"))
    for canonical, aliases in TYPE_ALIASES.items()
    for word in (canonical, canonical.upper(), *aliases)
]

CASES: list[tuple[str, date, LogCommand]] = [
    # dates
    ("Acme call today hi", FRI, cmd("Acme", "call", FRI, "hi", date_given=True)),
    ("Acme call hi", FRI, cmd("Acme", "call", FRI, "hi")),
    ("Acme call yesterday hi", FRI, cmd("Acme", "call", date(2026, 11, 19), "hi", date_given=True)),
    ("Acme call Yday hi", FRI, cmd("Acme", "call", date(2026, 11, 19), "hi", date_given=True)),
    ("Acme call tue hi", FRI, cmd("Acme", "call", date(2026, 11, 17), "hi", date_given=True)),
    ("Acme call Tuesday hi", FRI, cmd("Acme", "call", date(2026, 11, 17), "hi", date_given=True)),
    ("Acme call thurs hi", FRI, cmd("Acme", "call", date(2026, 11, 19), "hi", date_given=True)),
    ("Acme call sat hi", FRI, cmd("Acme", "call", date(2026, 11, 14), "hi", date_given=True)),
    ("Acme call sunday hi", FRI, cmd("Acme", "call", date(2026, 11, 15), "hi", date_given=True)),
    ("Acme call mon hi", FRI, cmd("Acme", "call", date(2026, 11, 16), "hi", date_given=True)),
    ("Acme call wed hi", FRI, cmd("Acme", "call", date(2026, 11, 18), "hi", date_given=True)),
    # weekday on the same weekday: today (the most recent one that is not in the future)
    ("Acme call friday hi", FRI, cmd("Acme", "call", FRI, "hi", date_given=True)),
    ("Acme call fri hi", FRI, cmd("Acme", "call", FRI, "hi", date_given=True)),
    ("Acme call 2026-11-20 hi", FRI, cmd("Acme", "call", FRI, "hi", date_given=True)),
    ("Acme call 2026-1-5 hi", FRI, cmd("Acme", "call", date(2026, 1, 5), "hi", date_given=True)),
    ("Acme call 11/20 hi", FRI, cmd("Acme", "call", FRI, "hi", date_given=True)),
    ("Acme call 11/2 hi", FRI, cmd("Acme", "call", date(2026, 11, 2), "hi", date_given=True)),
    ("Acme call 10/31/2026 hi", FRI, cmd("Acme", "call", date(2026, 10, 31), "hi", date_given=True)),
    ("Acme call 10/31/25 hi", FRI, cmd("Acme", "call", date(2025, 10, 31), "hi", date_given=True)),
    ("Acme call 3d hi", FRI, cmd("Acme", "call", date(2026, 11, 17), "hi", date_given=True)),
    ("Acme call 0d hi", FRI, cmd("Acme", "call", FRI, "hi", date_given=True)),
    # month and year boundaries
    (
        "Acme call yesterday hi",
        date(2026, 12, 1),
        cmd("Acme", "call", date(2026, 11, 30), "hi", date_given=True),
    ),
    ("Acme call 3d hi", date(2026, 3, 2), cmd("Acme", "call", date(2026, 2, 27), "hi", date_given=True)),
    ("Acme call fri hi", date(2026, 12, 1), cmd("Acme", "call", date(2026, 11, 27), "hi", date_given=True)),
    (
        "Acme call yesterday hi",
        date(2027, 1, 1),
        cmd("Acme", "call", date(2026, 12, 31), "hi", date_given=True),
    ),
    # m/d without a year that would be in the future: last year's
    ("Acme call 12/30 hi", date(2027, 1, 2), cmd("Acme", "call", date(2026, 12, 30), "hi", date_given=True)),
    ("Acme call 2/29 hi", date(2028, 3, 1), cmd("Acme", "call", date(2028, 2, 29), "hi", date_given=True)),
    # tags anywhere in the note, lower-cased, de-duplicated; sentiment last
    (
        "Acme call hi #Renewal there #pricing #renewal",
        FRI,
        cmd("Acme", "call", FRI, "hi there", ("renewal", "pricing")),
    ),
    ("Acme call hi +", FRI, cmd("Acme", "call", FRI, "hi", sentiment=1)),
    ("Acme call hi -", FRI, cmd("Acme", "call", FRI, "hi", sentiment=-1)),
    ("Acme call hi ~", FRI, cmd("Acme", "call", FRI, "hi", sentiment=0)),
    ("Acme call hi #x −", FRI, cmd("Acme", "call", FRI, "hi", ("x",), sentiment=-1)),
    (
        "Acme call yesterday went well #exec #q4 +",
        FRI,
        cmd("Acme", "call", date(2026, 11, 19), "went well", ("exec", "q4"), 1, True),
    ),
    ("Acme call a - b + c", FRI, cmd("Acme", "call", FRI, "a - b + c")),
    ("Acme call c# is #", FRI, cmd("Acme", "call", FRI, "c# is #")),
    # multi-word accounts: the longest prefix that names an account, then the type
    ("Acme Corp call hi", FRI, cmd("Acme Corp", "call", FRI, "hi")),
    ("acme corp. meeting hi", FRI, cmd("acme corp.", "meeting", FRI, "hi")),
    (
        "Globex Health Systems qbr yesterday renewal risk +",
        FRI,
        cmd("Globex Health Systems", "qbr", date(2026, 11, 19), "renewal risk", (), 1, True),
    ),
    ("Call Center Co call hi", FRI, cmd("Call Center Co", "call", FRI, "hi")),
    ("O'Reilly & Sons email sent the deck", FRI, cmd("O'Reilly & Sons", "email", FRI, "sent the deck")),
    # a type word later in the note does not move the split
    (
        "Acme call renewal discussion next email",
        FRI,
        cmd("Acme", "call", FRI, "renewal discussion next email"),
    ),
    # an unknown name: the words before the first type word (matched fuzzily later)
    ("Initec Labs call hi", FRI, cmd("Initec Labs", "call", FRI, "hi")),
    ("Glob call meeting notes", FRI, cmd("Glob", "call", FRI, "meeting notes")),
    # whitespace and control characters
    ("  Acme\tcall\n hi\x00there  ", FRI, cmd("Acme", "call", FRI, "hi there")),
]


@pytest.mark.parametrize(("line", "expected"), ALIAS_CASES, ids=[c[0] for c in ALIAS_CASES])
def test_every_type_alias(line: str, expected: LogCommand) -> None:
    assert parse(line) == expected


@pytest.mark.parametrize(("line", "today", "expected"), CASES, ids=[f"{c[0]}@{c[1]}" for c in CASES])
def test_lines(line: str, today: date, expected: LogCommand) -> None:
    assert parse(line, today) == expected


ERRORS: list[tuple[str, str]] = [
    ("", "Tell me the account, the type and what happened."),
    ("   ", "Tell me the account, the type and what happened."),
    ("+", "Tell me the account, the type and what happened before the sentiment."),
    ("call Acme hello", "Start with the account name, then the type."),
    ("Acme hello there", "I could not find the touchpoint type after the account name. Types: `call`, "),
    ("Acme", "I could not find the touchpoint type after the account name."),
    ("Acme call", "Add a note after the type (and date): what happened?"),
    ("Acme call yesterday +", "Add a note after the type (and date): what happened?"),
    ("Acme call #only #tags", "Add a note after the type (and date): what happened?"),
    ("Acme call 2026-02-30 hi", "`2026-02-30` is not a date. Dates: `today`, `yesterday`, a weekday"),
    ("Acme call 13/45 hi", "`13/45` is not a date (month/day)."),
    ("Acme call 2026-11 hi", "`2026-11` is not a date."),
    ("Acme call 2026-11-21 hi", "`2026-11-21` is in the future (today is Fri 2026-11-20 in your time zone)."),
    ("Acme call 12/01/2026 hi", "`12/01/2026` is in the future (today is Fri 2026-11-20 in your time zone)."),
    ("Acme call 9999d hi", "`9999d` is too far back."),
    ("Acme call hi #" + "x" * 41, "is too long (at most 40 characters)."),
    (
        "Acme call hi " + " ".join(f"#t{i}" for i in range(11)),
        "That is 11 tags; a touchpoint takes at most 10.",
    ),
    (
        "Acme call " + "y" * (MAX_NOTE_CHARS + 1),
        f"That note is {MAX_NOTE_CHARS + 1} characters; one line takes at most",
    ),
]


@pytest.mark.parametrize(("line", "message"), ERRORS, ids=[e[1][:40] for e in ERRORS])
def test_error_messages_say_what_is_wrong_and_show_the_form(line: str, message: str) -> None:
    with pytest.raises(LogParseError) as caught:
        parse(line)
    assert message in caught.value.message
    assert caught.value.message.endswith(f"The form is: `{USAGE}`")


NY, PARIS = ZoneInfo("America/New_York"), ZoneInfo("Europe/Paris")


def test_time_zone_edge_at_midnight() -> None:
    # 04:30 UTC on Sat 21 Nov: still Friday 23:30 in New York, already Saturday in Paris.
    now = datetime(2026, 11, 21, 4, 30, tzinfo=UTC)
    assert local_today(now, NY) == FRI
    assert local_today(now, PARIS) == date(2026, 11, 21)
    with pytest.raises(LogParseError, match="`2026-11-21` is in the future"):
        parse("Acme call 2026-11-21 hi", local_today(now, NY))
    assert parse("Acme call 2026-11-21 hi", local_today(now, PARIS)).on == date(2026, 11, 21)
    assert parse("Acme call yesterday hi", local_today(now, NY)).on == date(2026, 11, 19)
    assert parse("Acme call yesterday hi", local_today(now, PARIS)).on == FRI
    assert parse("Acme call sat hi", local_today(now, NY)).on == date(2026, 11, 14)
    # Today means now; an earlier day means noon that day where the user is.
    assert occurred_at(FRI, now, NY) == now
    assert occurred_at(date(2026, 11, 19), now, NY) == datetime(2026, 11, 19, 17, 0, tzinfo=UTC)
    assert occurred_at(FRI, now, PARIS) == datetime(2026, 11, 20, 11, 0, tzinfo=UTC)


def test_slack_escaped_text_reads_as_typed() -> None:
    line = from_slack("O'Reilly &amp; Sons email x &lt;y&gt; <@U1|jo> <#C0AB12|renewal> <#C0AB13> +")
    assert line == "O'Reilly & Sons email x <y> <@U1|jo> #renewal <#C0AB13> +"
    assert parse(line) == cmd("O'Reilly & Sons", "email", FRI, "x <y> <@U1|jo> <#C0AB13>", ("renewal",), 1)


def test_form_tags() -> None:
    assert parse_tags("#Renewal, pricing  exec,#renewal") == ("renewal", "pricing", "exec")
    assert parse_tags("") == ()


@settings(max_examples=400, deadline=None)
@given(
    text=st.text(max_size=300)
    | st.lists(
        st.sampled_from(
            [
                "Acme",
                "Corp",
                "call",
                "qbr",
                "yesterday",
                "fri",
                "11/20",
                "2026-02-30",
                "3d",
                "#t",
                "+",
                "-",
                "~",
                "x",
                "13/45",
                "2026-12-01",
                "#",
                "9999d",
                "Globex",
            ]
        ),
        max_size=12,
    ).map(" ".join),
    today=st.dates(min_value=date(1990, 1, 1), max_value=date(2100, 12, 31)),
)
def test_arbitrary_text_only_ever_raises_the_parse_error(text: str, today: date) -> None:
    try:
        result = parse(from_slack(text), today)
    except LogParseError as exc:
        assert exc.message
        return
    assert result.note and result.account_text and result.on <= today
