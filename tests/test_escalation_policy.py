"""The escalation policy: defaults, the TOML override and its validation, the
business-hours calendar, the frozen snapshot; and the policy step's claim (a
duplicate or late run, or an ack in between, pages nobody)."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select

from bot.app import build_app
from bot.clock import ManualClock
from bot.errors import SettingsError
from bot.escalations.policy import BusinessHours, default_policy, load_policy, next_due, parse_policy
from bot.escalations.policy_step import run_policy_step
from bot.escalations.service import acknowledge, open_escalation, resolve
from bot.escalations.stats import escalation_stats
from bot.settings import Settings
from jobs.escalation_policy import due_escalations, run_escalation_policy
from models.db import session_scope
from models.tables import Account, Escalation, EscalationEvent, Outbox
from tests.escalation_helpers import seed_team
from tests.harness import START

NY = "America/New_York"


def ny(y: int, mo: int, d: int, h: int, mi: int = 0) -> datetime:
    from zoneinfo import ZoneInfo

    return datetime(y, mo, d, h, mi, tzinfo=ZoneInfo(NY)).astimezone(UTC)


# --- defaults and the calendar ------------------------------------------------------------


def test_default_slas() -> None:
    policy = default_policy(NY)
    opened = ny(2026, 11, 18, 10, 0)  # a Wednesday
    assert next_due(policy.snapshot("sev1"), opened) == opened + timedelta(minutes=15)
    assert next_due(policy.snapshot("sev2"), opened) == opened + timedelta(hours=1)
    assert next_due(policy.snapshot("sev3"), opened) == ny(2026, 11, 19, 10, 0)  # one business day
    assert policy.snapshot("sev3")["hours"] == {
        "tz": NY,
        "days": [0, 1, 2, 3, 4],
        "start": "09:00",
        "end": "17:00",
        "holidays": [],
    }


@pytest.mark.parametrize(
    ("start", "minutes", "expected"),
    [
        (ny(2026, 11, 20, 16, 30), 8 * 60, ny(2026, 11, 23, 16, 30)),  # Friday 16:30 -> Monday 16:30
        (ny(2026, 11, 21, 12, 0), 60, ny(2026, 11, 23, 10, 0)),  # Saturday -> Monday 10:00
        (ny(2026, 11, 23, 7, 0), 30, ny(2026, 11, 23, 9, 30)),  # before opening
        (ny(2026, 11, 23, 17, 0), 1, ny(2026, 11, 24, 9, 1)),  # at closing time
        (ny(2026, 11, 23, 16, 59), 1, ny(2026, 11, 23, 17, 0)),  # exactly at close
        (ny(2026, 11, 20, 16, 0), 17 * 60, ny(2026, 11, 24, 17, 0)),  # 1 h Fri + Mon + Tue
        # across the end of daylight saving time (Sunday 1 Nov 2026): still wall-clock 09-17
        (ny(2026, 10, 30, 16, 0), 2 * 60, ny(2026, 11, 2, 10, 0)),
    ],
)
def test_business_hours_add(start: datetime, minutes: int, expected: datetime) -> None:
    assert BusinessHours(tz=NY).add(start, minutes) == expected


def test_holidays_are_skipped() -> None:
    hours = BusinessHours(tz=NY, holidays=("2026-11-26", "2026-11-27"))  # Thanksgiving + Friday
    assert hours.add(ny(2026, 11, 25, 16, 0), 120) == ny(2026, 11, 30, 10, 0)


# --- the TOML override --------------------------------------------------------------------


def test_toml_overrides_only_what_it_names(tmp_path: Path) -> None:
    path = tmp_path / "policy.toml"
    path.write_text(
        """
[sla]
sev1 = "10m"
sev3 = "4bh"

[business_hours]
days = ["Mon", "tue", "wed", "thu"]
start = "08:00"
end = "18:00"
tz = "Europe/Paris"
holidays = [2026-12-25, "2026-12-31"]

[steps]
order = ["owner", "owner", "next_level"]
"""
    )
    policy = load_policy(path, NY)
    assert policy.sla["sev1"].minutes == 10 and not policy.sla["sev1"].business
    assert policy.sla["sev2"].minutes == 60  # the default stays
    assert policy.sla["sev3"].minutes == 240 and policy.sla["sev3"].business
    assert policy.hours.days == (0, 1, 2, 3)
    assert policy.hours.tz == "Europe/Paris"
    assert policy.hours.holidays == ("2026-12-25", "2026-12-31")
    assert policy.steps == ("owner", "owner", "next_level")
    # one business day is this calendar's day: 10 h
    assert (
        parse_policy({"sla": {"sev2": "1bd"}, "business_hours": {"start": "08:00", "end": "18:00"}})
        .sla["sev2"]
        .minutes
        == 600
    )


@pytest.mark.parametrize(
    ("toml", "named"),
    [
        ('[sla]\nsev1 = "fast"\n', "sla.sev1 is 'fast': use a duration such as \"15m\""),
        ('[sla]\nsev4 = "1h"\n', "sla.sev4 is not a known key (known: sev1, sev2, sev3)"),
        ('[sla]\nsev2 = "0m"\n', "sla.sev2 is '0m': it must be more than zero"),
        ('[business_hours]\nstart = "9am"\n', "business_hours.start is '9am': use 24-hour HH:MM"),
        (
            '[business_hours]\nstart = "18:00"\n',
            "business_hours.end (17:00) must be after business_hours.start",
        ),
        ('[business_hours]\ndays = ["funday"]\n', "business_hours.days has ['funday']"),
        ('[business_hours]\ntz = "Mars/Olympus"\n', "business_hours.tz is 'Mars/Olympus'"),
        ('[business_hours]\nholidays = ["xmas"]\n', "business_hours.holidays has 'xmas': use YYYY-MM-DD"),
        ('[steps]\norder = ["owner", "ceo"]\n', "steps.order has 'ceo': each step is owner or next_level"),
        ("[escalate]\nx = 1\n", "escalate is not a known key"),
        ("sla = 5\n", "sla must be a table"),
        ("[sla\n", "is not valid TOML"),
    ],
)
def test_bad_policy_file_is_one_line_naming_the_key(tmp_path: Path, toml: str, named: str) -> None:
    path = tmp_path / "policy.toml"
    path.write_text(toml)
    with pytest.raises(SettingsError) as err:
        load_policy(path, NY)
    message = str(err.value)
    assert message.startswith(f"CSBOT_ESCALATION_POLICY is malformed: {path}")
    assert named in message
    assert "\n" not in message


def test_build_app_refuses_a_bad_policy(tmp_path: Path) -> None:
    path = tmp_path / "policy.toml"
    path.write_text('[sla]\nsev1 = "soon"\n')
    settings = Settings(escalation_policy_path=path)
    from models.db import make_engine

    engine = make_engine("sqlite://")
    with pytest.raises(SettingsError, match="sla.sev1"):
        build_app(settings, engine)


def test_csbot_run_with_a_bad_policy_exits_2_with_one_line(tmp_path: Path) -> None:
    path = tmp_path / "policy.toml"
    path.write_text('[business_hours]\nend = "25:00"\n')
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "SLACK_BOT_TOKEN": "xoxb-1",
        "SLACK_SIGNING_SECRET": "abcdef0123456789",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}",
        "CSBOT_ESCALATION_POLICY": str(path),
        "PYTHONPATH": str(Path(__file__).resolve().parent.parent),
    }
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "run"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"csbot: CSBOT_ESCALATION_POLICY is malformed: {path}: business_hours.end is '25:00': "
        'use 24-hour HH:MM such as "09:00"'
    ]


# --- the frozen snapshot and the claim ----------------------------------------------------


def _open(engine: Engine, clock: ManualClock, severity: str = "sev1", policy_toml: dict | None = None) -> int:
    policy = parse_policy(policy_toml or {}, tz=NY)
    with session_scope(engine) as s:
        acme = s.exec(select(Account).where(Account.name == "Acme Corp")).one()
        opened = open_escalation(
            s,
            clock,
            account_id=acme.id,  # type: ignore[arg-type]
            severity=severity,
            summary="checkout down",
            owner="UCSM1",
            opened_by="UCSM2",
            channel="CESC",
            policy=policy,
        )
    return opened.escalation_id


def _pages(engine: Engine) -> list[str]:
    with session_scope(engine) as s:
        return sorted(k for k in s.exec(select(Outbox.key)).all() if ":step:" in k and ":dm:" in k)


def test_the_policy_is_frozen_at_open(engine: Engine) -> None:
    clock = ManualClock(START)
    seed_team(engine, clock)
    esc_id = _open(engine, clock, policy_toml={"sla": {"sev1": "5m"}, "steps": {"order": ["owner"]}})
    # a later policy (another file) does not change this escalation
    _open(engine, clock, policy_toml={"sla": {"sev1": "50m"}})
    clock.advance(minutes=5)
    assert run_escalation_policy(engine, clock) == 1
    clock.advance(hours=3)
    assert run_escalation_policy(engine, clock) == 1  # only the second one (50 min), once
    with session_scope(engine) as s:
        first = s.get(Escalation, esc_id)
        assert first is not None
        assert (first.step, first.next_page_at) == (1, None)  # its one step done: no more pages
    assert _pages(engine) == [
        f"esc:{esc_id}:step:0:{int((START + timedelta(minutes=5)).timestamp())}:dm:UCSM1",
        f"esc:2:step:0:{int((START + timedelta(minutes=50)).timestamp())}:dm:UCSM1",
    ]


def test_a_duplicate_claim_and_an_ack_in_between_page_nobody(engine: Engine) -> None:
    clock = ManualClock(START)
    seed_team(engine, clock)
    first = _open(engine, clock)
    second = _open(engine, clock)
    clock.advance(minutes=15)
    due = due_escalations(engine, clock)
    assert [d[:2] for d in due] == [(first, 0), (second, 0)]
    # two runs race for the first: one wins
    with session_scope(engine) as s:
        assert run_policy_step(s, clock, *due[0]) is True  # type: ignore[arg-type]
    with session_scope(engine) as s:
        assert run_policy_step(s, clock, *due[0]) is False  # type: ignore[arg-type]
    # the owner acknowledges the second after the job selected it, before it pages
    with session_scope(engine) as s:
        acknowledge(s, clock, Settings(), second, "UCSM1")
    with session_scope(engine) as s:
        assert run_policy_step(s, clock, *due[1]) is False  # type: ignore[arg-type]
    assert _pages(engine) == [f"esc:{first}:step:0:{int(clock.now().timestamp())}:dm:UCSM1"]
    with session_scope(engine) as s:
        kinds = s.exec(select(EscalationEvent.escalation_id, EscalationEvent.kind)).all()
    assert sorted(kinds) == sorted([(1, "opened"), (1, "repaged"), (2, "opened"), (2, "acknowledged")])


def test_a_late_job_gives_the_next_level_a_full_sla_from_now(engine: Engine) -> None:
    clock = ManualClock(START)
    seed_team(engine, clock)
    esc_id = _open(engine, clock)
    clock.advance(hours=2)  # the scheduler was down for two hours
    assert run_escalation_policy(engine, clock) == 1  # one step per run, not a burst
    with session_scope(engine) as s:
        esc = s.get(Escalation, esc_id)
        assert esc is not None and esc.step == 1
        assert esc.next_page_at == clock.now() + timedelta(minutes=15)


def test_escalation_stats_for_the_digest(engine: Engine) -> None:
    clock = ManualClock(START)
    seed_team(engine, clock)
    a = _open(engine, clock)
    b = _open(engine, clock)
    c = _open(engine, clock)
    clock.advance(minutes=6)
    with session_scope(engine) as s:
        acknowledge(s, clock, Settings(), a, "UCSM1")
    clock.advance(minutes=54)  # 1 h after opening
    with session_scope(engine) as s:
        resolve(s, clock, Settings(), a, "UCSM1", "fixed")
        resolve(s, clock, Settings(), b, "UCSM2", "not an issue")  # by the opener, never acknowledged
    with session_scope(engine) as s:
        stats = escalation_stats(s, START, START + timedelta(days=7))
        esc_b = s.get(Escalation, b)
        assert esc_b is not None and esc_b.acknowledged_at == esc_b.resolved_at
        empty = escalation_stats(s, START + timedelta(days=7), START + timedelta(days=14))
    assert (stats.opened, stats.resolved) == (3, 2)
    assert stats.median_time_to_ack == timedelta(minutes=33)  # median of 6 and 60 min
    assert stats.median_time_to_resolve == timedelta(hours=1)
    assert (empty.opened, empty.resolved, empty.median_time_to_ack) == (0, 0, None)
    assert c == 3


def test_the_example_policy_file_is_valid_and_equals_the_defaults() -> None:
    example = Path(__file__).resolve().parent.parent / "escalation_policy.example.toml"
    assert load_policy(example, NY) == default_policy(NY)
