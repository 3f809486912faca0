"""The scorecard of PRODUCT.md §4, table-driven at every boundary, with its
re-normalisation, bands, at-risk rules, TOML override and TOML errors."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from bot.errors import SettingsError
from bot.health.scorecard import DEFAULT_SCORECARD, load_scorecard, parse_scorecard
from bot.health.scoring import HealthInputs, band_of, risk_reasons, score_account

NOW = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
TODAY = NOW.date()


def measure(inputs: HealthInputs, key: str) -> float | None:
    return next(m.score for m in score_account(inputs, NOW).measures if m.key == key)


@pytest.mark.parametrize(
    ("days", "expected"),
    [(0, 100), (13, 100), (14, 100), (15, 97.83), (37, 50), (59, 2.17), (60, 0), (61, 0), (400, 0)],
)
def test_recency_is_100_up_to_14_days_and_0_from_60(days: int, expected: float) -> None:
    got = measure(HealthInputs(last_touch_at=NOW - timedelta(days=days)), "recency")
    assert got == pytest.approx(expected, abs=0.01)


@pytest.mark.parametrize(
    ("active", "licensed", "expected"),
    [(10, 50, 0), (9, 50, 0), (11, 50, 3.33), (25, 50, 50), (39, 50, 96.67), (40, 50, 100), (60, 50, 100)],
)
def test_adoption_is_0_at_20_percent_and_100_at_80(active: int, licensed: int, expected: float) -> None:
    got = measure(HealthInputs(active_users=active, licensed_users=licensed), "adoption")
    assert got == pytest.approx(expected, abs=0.01)


@pytest.mark.parametrize(
    ("score", "expected"), [(0, 0), (5, 0), (6, 0), (7, 33.33), (8, 66.67), (9, 100), (10, 100)]
)
def test_nps_is_0_for_detractors_and_100_for_promoters(score: int, expected: float) -> None:
    got = measure(HealthInputs(nps_score=score, nps_at=NOW - timedelta(days=3)), "nps")
    assert got == pytest.approx(expected, abs=0.01)


def test_nps_older_than_90_days_is_missing() -> None:
    assert measure(HealthInputs(nps_score=2, nps_at=NOW - timedelta(days=91)), "nps") is None
    assert measure(HealthInputs(nps_score=2, nps_at=NOW - timedelta(days=90)), "nps") == 0


@pytest.mark.parametrize(
    ("open_escalations", "expected"),
    [({}, 100), ({"sev3": 1}, 75), ({"sev2": 1}, 50), ({"sev2": 1, "sev3": 2}, 0), ({"sev1": 1}, 0)],
)
def test_escalations_100_when_none_and_0_with_any_sev1(
    open_escalations: dict[str, int], expected: float
) -> None:
    assert measure(HealthInputs(open_escalations=open_escalations), "escalations") == expected


@pytest.mark.parametrize(
    ("sentiments", "expected"),
    [
        ((1, 1, 1), 100),
        ((-1, -1, -1), 0),
        ((0, 0, 0), 50),
        ((1, 0, -1), 50),
        ((1, 1, -1), 66.67),
        ((1, 1, 1, -1, -1), 100),
    ],
)
def test_sentiment_of_the_last_three_touchpoints(sentiments: tuple[int, ...], expected: float) -> None:
    got = measure(HealthInputs(last_touch_at=NOW, sentiments=sentiments), "sentiment")
    assert got == pytest.approx(expected, abs=0.01)


@pytest.mark.parametrize(
    ("score", "band"),
    [(0, "red"), (39, "red"), (40, "yellow"), (69, "yellow"), (70, "green"), (100, "green")],
)
def test_bands(score: int, band: str) -> None:
    assert band_of(score) == band


def test_missing_measures_are_left_out_and_the_rest_renormalised() -> None:
    # Only recency (weight 25, scores 50) and escalations (weight 15, scores 100): (25*50 + 15*100)/40
    inputs = HealthInputs(last_touch_at=NOW - timedelta(days=37))
    health = score_account(inputs, NOW)
    assert health.score == 69  # 68.75 rounded; with all five weights it would be ~28
    assert health.band == "yellow"
    texts = [r.text for r in health.reasons]
    assert texts == [
        "no touchpoint in 37 days",
        "no open escalations",
        "no usage data: product adoption not scored",
        "no NPS response in 90 days: NPS not scored",
        "no touchpoints to read sentiment from: sentiment not scored",
        "scored on 2 of 5 measures (weights re-normalised)",
    ]


def test_every_score_has_reasons_in_words() -> None:
    inputs = HealthInputs(
        last_touch_at=NOW - timedelta(days=47),
        sentiments=(-1, 0, -1),
        active_users=9,
        licensed_users=50,
        nps_score=4,
        nps_respondent="jane@acme",
        nps_at=datetime(2026, 11, 2, 10, tzinfo=UTC),
        open_escalations={"sev2": 1},
    )
    health = score_account(inputs, NOW)
    assert [r.text for r in health.reasons] == [
        "adoption 18 % (9 of 50 users)",
        "NPS 4 from jane@acme on 11-02",
        "no touchpoint in 47 days",
        "last 3 touchpoints: 1 neutral, 2 negative",
        "1 open escalation (1 sev2)",
    ]
    # 25*0 + 20*0 + 25*28.26 + 15*16.67 + 15*50 over 100
    assert health.score == 17 and health.band == "red"


def test_an_account_with_no_data_is_not_scored_but_an_open_sev1_alone_is_red() -> None:
    nothing = score_account(HealthInputs(), NOW)
    assert (nothing.score, nothing.band) == (None, None)
    sev1 = score_account(HealthInputs(open_escalations={"sev1": 1}), NOW)
    assert (sev1.score, sev1.band) == (0, "red")


def test_nothing_to_score_gives_no_score_and_no_risk() -> None:
    card = parse_scorecard("[measures.escalations]\nweight = 0\n")
    health = score_account(HealthInputs(), NOW, card)
    assert (health.score, health.band) == (None, None)
    assert health.reasons[-1].text == "no data to score yet"
    assert risk_reasons(health, today=TODAY, renewal_date=TODAY, recent_best=90, card=card) == ()


@pytest.mark.parametrize(
    ("days_since_touch", "sentiments", "renewal_in", "recent_best", "keys"),
    [
        # (0*25 + 0*15 + 100*15) / 55 = 27: red, with its two weak measures
        (60, (-1, -1, -1), None, None, ["red", "measure:recency", "measure:sentiment"]),
        (14, (), None, None, []),  # 100, green
        (14, (), 10, None, []),  # green and renewing soon: fine
        (37, (), 90, None, ["renewal"]),  # (50*25 + 100*15) / 40 = 69, yellow, renewal in 90 days
        (37, (), 91, None, []),  # yellow, renewal in 91 days
        (37, (), -1, None, []),  # renewal date passed: not "within 90 days"
        (37, (), None, 89, ["drop"]),  # 69 now, best of the last 7 days 89: a drop of 20
        (37, (), None, 88, []),  # a drop of 19
        (25, (), None, None, []),  # 87 green
    ],
)
def test_each_at_risk_rule(
    days_since_touch: int,
    sentiments: tuple[int, ...],
    renewal_in: int | None,
    recent_best: int | None,
    keys: list[str],
) -> None:
    inputs = HealthInputs(last_touch_at=NOW - timedelta(days=days_since_touch), sentiments=sentiments)
    health = score_account(inputs, NOW)
    renewal = TODAY + timedelta(days=renewal_in) if renewal_in is not None else None
    reasons = risk_reasons(health, today=TODAY, renewal_date=renewal, recent_best=recent_best)
    assert [r.key for r in reasons] == keys


def test_risk_reasons_read_well() -> None:
    inputs = HealthInputs(last_touch_at=NOW - timedelta(days=60), sentiments=(-1, -1, -1))
    health = score_account(inputs, NOW)
    assert health.score == 27
    reasons = risk_reasons(health, today=TODAY, renewal_date=date(2027, 1, 4), recent_best=71)
    assert [r.text for r in reasons] == [
        "score 27 is red (below 40)",
        "renewal in 45 days (2027-01-04), not green",
        "dropped 44 points in 7 days (71 → 27)",
        "no touchpoint in 60 days",
        "last 3 touchpoints: 3 negative",
    ]


def test_toml_override_changes_the_result(tmp_path: Path) -> None:
    inputs = HealthInputs(last_touch_at=NOW - timedelta(days=20), active_users=30, licensed_users=50)
    renewal = TODAY + timedelta(days=25)
    default = score_account(inputs, NOW)
    # recency 86.96 *25, adoption 66.67 *25, escalations 100 *15, over 65
    assert (default.score, default.band) == (82, "green")
    assert risk_reasons(default, today=TODAY, renewal_date=renewal, recent_best=None) == ()
    path = tmp_path / "scorecard.toml"
    path.write_text(
        "[measures.recency]\nweight = 50\ngood = 7\nbad = 21\n"
        "[measures.adoption]\ngood = 60\n"
        "[bands]\ngreen = 90\nyellow = 40\n"
        "[at_risk]\nrenewal_days = 30\n"
    )
    card = load_scorecard(path)
    health = score_account(inputs, NOW, card)
    # recency 7.14 *50, adoption (60 % is now full marks) 100 *25, escalations 100 *15, over 90
    assert (health.score, health.band) == (48, "yellow")
    reasons = risk_reasons(health, today=TODAY, renewal_date=renewal, recent_best=None, card=card)
    assert [r.text for r in reasons] == [
        "renewal in 25 days (" + f"{renewal:%Y-%m-%d}" + "), not green",
        "no touchpoint in 20 days",
    ]
    later = TODAY + timedelta(days=31)
    assert risk_reasons(health, today=TODAY, renewal_date=later, recent_best=None, card=card) == ()


@pytest.mark.parametrize(
    ("toml", "error"),
    [
        (
            "[measures.happiness]\nweight = 3\n",
            "CSBOT_SCORECARD bad.toml: unknown measure measures.happiness",
        ),
        (
            "[measures.nps]\nweight = -5\n",
            "CSBOT_SCORECARD bad.toml: measures.nps.weight must not be negative (-5)",
        ),
        (
            "[measures.recency]\ngood = 70\nbad = 60\n",
            "CSBOT_SCORECARD bad.toml: measures.recency.good (70 days) must be below "
            "measures.recency.bad (60 days)",
        ),
        (
            "[measures.adoption]\ngood = 20\nbad = 80\n",
            "CSBOT_SCORECARD bad.toml: measures.adoption.good (20) must be above measures.adoption.bad (80)",
        ),
        (
            "[measures.nps]\ngood = 6\nbad = 9\n",
            "CSBOT_SCORECARD bad.toml: measures.nps.good (6) must be above measures.nps.bad (9)",
        ),
        (
            "[bands]\ngreen = 40\nyellow = 70\n",
            "CSBOT_SCORECARD bad.toml: bands.green (40) must be above bands.yellow (70)",
        ),
        ("[measures.nps]\nwieght = 5\n", "CSBOT_SCORECARD bad.toml: unknown key measures.nps.wieght"),
        (
            "[measures.nps]\nweight = 'high'\n",
            "CSBOT_SCORECARD bad.toml: measures.nps.weight must be a number",
        ),
        ("[colours]\nred = 1\n", "CSBOT_SCORECARD bad.toml: unknown section [colours]"),
        (
            "[forecast]\ngreen = 95\n",
            "CSBOT_SCORECARD bad.toml: forecast.green (95) is a share of ARR: at most 1 (0.95 = 95 %)",
        ),
        (
            "[forecast]\nred = 0.9\n",
            "CSBOT_SCORECARD bad.toml: forecast rates must not grow as health falls "
            "(green 0.95 >= yellow 0.8 >= red 0.9)",
        ),
        (
            "[forecast]\nblue = 0.5\n",
            "CSBOT_SCORECARD bad.toml: unknown key forecast.blue (known: green, yellow, red)",
        ),
        ("[measures.nps\nweight = 1\n", "CSBOT_SCORECARD bad.toml is not valid TOML: "),
    ],
)
def test_bad_toml_gives_one_line_naming_the_key(tmp_path: Path, toml: str, error: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(toml)
    with pytest.raises(SettingsError) as caught:
        load_scorecard(path)
    message = str(caught.value)
    assert message.startswith(error)
    assert "\n" not in message


def test_forecast_rates_come_from_the_toml(tmp_path: Path) -> None:
    assert DEFAULT_SCORECARD.forecast_weights == {"green": 0.95, "yellow": 0.8, "red": 0.5}
    path = tmp_path / "card.toml"
    path.write_text("[forecast]\ngreen = 0.9\nyellow = 0.7\nred = 0.3\n")
    assert load_scorecard(path).forecast_weights == {"green": 0.9, "yellow": 0.7, "red": 0.3}


def test_no_file_means_the_defaults() -> None:
    assert load_scorecard(None) is DEFAULT_SCORECARD
    assert [(m.key, m.weight) for m in DEFAULT_SCORECARD.measures] == [
        ("recency", 25),
        ("adoption", 25),
        ("nps", 20),
        ("escalations", 15),
        ("sentiment", 15),
    ]


def test_build_app_refuses_a_bad_scorecard(tmp_path: Path) -> None:
    from bot.app import build_app
    from bot.settings import Secret, Settings
    from models.db import make_engine

    path = tmp_path / "card.toml"
    path.write_text("[bands]\ngreen = 30\n")
    engine = make_engine("sqlite://")
    settings = Settings(
        slack_bot_token=Secret("xoxb-x"), slack_signing_secret=Secret("abcdefgh1234"), scorecard_path=path
    )
    with pytest.raises(SettingsError, match=r"^CSBOT_SCORECARD card.toml: bands.green \(30\) must be above"):
        build_app(settings, engine)
    engine.dispose()
