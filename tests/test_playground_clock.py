"""The playground's clock (PRODUCT.md §7.1): +1 hour, +1 day, the next Monday 09:00 in
the team's time zone; it only moves forward, and a playground started again goes on
from the last moment its scheduler saw."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.playground.clock import PlaygroundClock, target_of
from bot.runner import Playground

NY = "America/New_York"
FRIDAY_9AM_NY = datetime(2026, 11, 20, 14, 0, tzinfo=UTC)


def test_steps_land_where_the_page_says() -> None:
    assert target_of("hour", FRIDAY_9AM_NY, NY) == FRIDAY_9AM_NY + timedelta(hours=1)
    assert target_of("day", FRIDAY_9AM_NY, NY) == FRIDAY_9AM_NY + timedelta(days=1)
    monday = target_of("monday", FRIDAY_9AM_NY, NY)
    assert monday.replace(second=0) == datetime(2026, 11, 23, 14, 0, tzinfo=UTC)  # 09:00 EST
    early_monday = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)  # 07:00 in New York: today's 09:00 is next
    assert target_of("monday", early_monday, NY).replace(second=0) == datetime(
        2026, 11, 23, 14, 0, tzinfo=UTC
    )
    late_monday = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
    assert target_of("monday", late_monday, NY).replace(second=0) == datetime(2026, 11, 30, 14, 0, tzinfo=UTC)
    with pytest.raises(ValueError):
        target_of("year", FRIDAY_9AM_NY, NY)


def test_the_clock_only_moves_forward() -> None:
    clock = PlaygroundClock(FRIDAY_9AM_NY)
    assert clock.jump(timedelta(days=1)) >= FRIDAY_9AM_NY + timedelta(days=1)
    with pytest.raises(ValueError):
        clock.jump(timedelta(hours=-1))


def test_a_restarted_playground_goes_on_from_where_it_was(tmp_path: Path) -> None:
    first = Playground(tmp_path, port=0, fresh=True).start()
    try:
        moved_to = first.advancer.advance("day")
    finally:
        first.stop()
    again = Playground(tmp_path, port=0).start()
    try:
        assert not again.fresh
        assert again.clock.now() >= moved_to - timedelta(minutes=5)  # the last step's scheduler run
    finally:
        again.stop()
