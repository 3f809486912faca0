"""The health scorecard of PRODUCT.md §4 as pure code: weighted measures, each
scored 0-100 from thresholds kept as data, bands, the at-risk rules, and every
score's reasons in words. No database and no Slack here: the nightly job,
`/cs risk` and the account card all feed it the same plain inputs.

The defaults live in `DEFAULT_SCORECARD`; a TOML file (CSBOT_SCORECARD)
overrides any part of it and is validated at start-up, e.g.::

    [measures.recency]      # engagement recency: days since the last touchpoint
    weight = 30
    good = 10               # 100 at or below this many days
    bad = 45                # 0 at or above
    [measures.nps]
    weight = 0              # switch a measure off
    [bands]
    green = 75
    yellow = 45
    [at_risk]
    renewal_days = 60
    [forecast]              # expected retention of a renewal by band (PRODUCT.md §6.1)
    green = 0.95
    yellow = 0.8
    red = 0.5
"""

from __future__ import annotations

import functools
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from bot.errors import SettingsError

SETTING = "CSBOT_SCORECARD"
SEVERITIES = ("sev1", "sev2", "sev3")


@dataclass(frozen=True)
class MeasureConfig:
    """One measure's weight and thresholds. `good` scores 100, `bad` scores 0,
    linear in between (for recency lower is better, for the others higher)."""

    key: str
    label: str
    weight: float
    good: float = 0.0
    bad: float = 0.0
    # measure-specific knobs: nps.window_days, sentiment.last, escalations.sev1/2/3 penalties
    params: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Scorecard:
    measures: tuple[MeasureConfig, ...]
    green: int = 70  # score >= green is green
    yellow: int = 40  # score >= yellow is yellow; below is red
    concern: float = 50  # a measure scoring below this is a reason for an alert
    renewal_days: int = 90  # at risk: renewal within this many days and not green
    drop_points: int = 20  # at risk: a drop of this many points ...
    drop_days: int = 7  # ... within this many days
    # renewal forecast (§6.1): the share of a renewal's ARR expected to stay, by health band
    forecast_green: float = 0.95
    forecast_yellow: float = 0.80
    forecast_red: float = 0.50

    @property
    def forecast_weights(self) -> dict[str, float]:
        return {"green": self.forecast_green, "yellow": self.forecast_yellow, "red": self.forecast_red}

    def measure(self, key: str) -> MeasureConfig:
        return next(m for m in self.measures if m.key == key)


DEFAULT_SCORECARD = Scorecard(
    measures=(
        MeasureConfig("recency", "engagement recency", 25, good=14, bad=60),
        MeasureConfig("adoption", "product adoption", 25, good=80, bad=20),
        MeasureConfig("nps", "NPS", 20, good=9, bad=6, params={"window_days": 90}),
        MeasureConfig("escalations", "open escalations", 15, params={"sev1": 100, "sev2": 50, "sev3": 25}),
        MeasureConfig("sentiment", "sentiment", 15, good=1, bad=-1, params={"last": 3}),
    )
)

# What a TOML file may set, per table; anything else is named as unknown.
_MEASURE_KEYS: dict[str, tuple[str, ...]] = {
    "recency": ("weight", "good", "bad"),
    "adoption": ("weight", "good", "bad"),
    "nps": ("weight", "good", "bad", "window_days"),
    "escalations": ("weight", "sev1", "sev2", "sev3"),
    "sentiment": ("weight", "last"),
}
_BAND_KEYS = ("green", "yellow", "concern")
_AT_RISK_KEYS = ("renewal_days", "drop_points", "drop_days")
_FORECAST_KEYS = ("green", "yellow", "red")


# --- loading and validating -----------------------------------------------------


def parse_scorecard(text: str, source: str = SETTING) -> Scorecard:
    """The default scorecard with the TOML `text` applied; SettingsError (one
    line naming the key) when the file is not valid."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"{source} is not valid TOML: {exc}") from None
    for key in data:
        if key not in ("measures", "bands", "at_risk", "forecast"):
            raise SettingsError(
                f"{source}: unknown section [{key}] (use [measures.<name>], [bands], [at_risk], [forecast])"
            )
    measures = {m.key: m for m in DEFAULT_SCORECARD.measures}
    raw_measures = _table(data, "measures", source)
    for name, values in raw_measures.items():
        if name not in _MEASURE_KEYS:
            raise SettingsError(
                f"{source}: unknown measure measures.{name} (known: {', '.join(_MEASURE_KEYS)})"
            )
        if not isinstance(values, dict):
            raise SettingsError(f"{source}: measures.{name} must be a table ([measures.{name}])")
        measures[name] = _apply_measure(measures[name], values, source)
    card = replace(DEFAULT_SCORECARD, measures=tuple(measures[k] for k in _MEASURE_KEYS))
    card = replace(card, **_numbers(_table(data, "bands", source), "bands", _BAND_KEYS, source))
    card = replace(card, **_numbers(_table(data, "at_risk", source), "at_risk", _AT_RISK_KEYS, source))
    forecast = _numbers(_table(data, "forecast", source), "forecast", _FORECAST_KEYS, source)
    card = replace(card, **{f"forecast_{band}": value for band, value in forecast.items()})
    _check_card(card, source)
    return card


def _table(data: dict[str, Any], name: str, source: str) -> dict[str, Any]:
    value = data.get(name, {})
    if not isinstance(value, dict):
        raise SettingsError(f"{source}: {name} must be a table ([{name}])")
    return value


def _numbers(values: dict[str, Any], table: str, allowed: tuple[str, ...], source: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in values.items():
        if key not in allowed:
            raise SettingsError(f"{source}: unknown key {table}.{key} (known: {', '.join(allowed)})")
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise SettingsError(f"{source}: {table}.{key} must be a number, not {value!r}")
        if value < 0:
            raise SettingsError(f"{source}: {table}.{key} must not be negative ({value})")
        out[key] = value
    return out


def _apply_measure(base: MeasureConfig, values: dict[str, Any], source: str) -> MeasureConfig:
    numbers = _numbers(values, f"measures.{base.key}", _MEASURE_KEYS[base.key], source)
    if base.key == "sentiment" and "last" in numbers and (numbers["last"] < 1 or numbers["last"] % 1):
        raise SettingsError(f"{source}: measures.sentiment.last must be a whole number of at least 1")
    params = dict(base.params)
    direct: dict[str, Any] = {}
    for key, value in numbers.items():
        if key in ("weight", "good", "bad"):
            direct[key] = value
        else:
            params[key] = value
    return replace(base, params=params, **direct)


def _check_card(card: Scorecard, source: str) -> None:
    """Thresholds in order and at least one weighted measure."""
    for m in card.measures:
        where = f"measures.{m.key}"
        if m.key == "recency" and not m.good < m.bad:
            raise SettingsError(
                f"{source}: {where}.good ({m.good:g} days) must be below {where}.bad ({m.bad:g} days)"
            )
        if m.key in ("adoption", "nps") and not m.good > m.bad:
            raise SettingsError(f"{source}: {where}.good ({m.good:g}) must be above {where}.bad ({m.bad:g})")
        if m.key == "adoption" and m.good > 100:
            raise SettingsError(f"{source}: {where}.good ({m.good:g}) is a percentage: at most 100")
        if m.key == "nps" and m.good > 10:
            raise SettingsError(f"{source}: {where}.good ({m.good:g}) is an NPS score: at most 10")
        if m.key == "escalations":
            p = m.params
            if not p["sev1"] >= p["sev2"] >= p["sev3"]:
                raise SettingsError(
                    f"{source}: {where} penalties must not grow as severity falls "
                    f"(sev1 {p['sev1']:g} >= sev2 {p['sev2']:g} >= sev3 {p['sev3']:g})"
                )
    if not card.green > card.yellow:
        raise SettingsError(
            f"{source}: bands.green ({card.green}) must be above bands.yellow ({card.yellow})"
        )
    if card.green > 100:
        raise SettingsError(f"{source}: bands.green ({card.green}) must be at most 100")
    w = card.forecast_weights
    for band, value in w.items():
        if value > 1:
            raise SettingsError(
                f"{source}: forecast.{band} ({value:g}) is a share of ARR: at most 1 (0.95 = 95 %)"
            )
    if not w["green"] >= w["yellow"] >= w["red"]:
        raise SettingsError(
            f"{source}: forecast rates must not grow as health falls "
            f"(green {w['green']:g} >= yellow {w['yellow']:g} >= red {w['red']:g})"
        )
    if not any(m.weight > 0 for m in card.measures):
        raise SettingsError(f"{source}: every measure has weight 0; give at least one a weight")


def load_scorecard(path: Path | None) -> Scorecard:
    """The scorecard for CSBOT_SCORECARD (None: the defaults). Validated once
    per file; `build_app` calls it so that a bad file stops start-up."""
    if path is None:
        return DEFAULT_SCORECARD
    return _load_file(Path(path).resolve())


@functools.lru_cache(maxsize=8)
def _load_file(path: Path) -> Scorecard:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SettingsError(f"{SETTING} cannot be read: {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise SettingsError(f"{SETTING} {path.name} is not UTF-8 text") from None
    return parse_scorecard(text, f"{SETTING} {path.name}")
