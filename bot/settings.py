"""Every setting csbot reads, in one place. Values come from the environment,
with `.env` loaded by python-dotenv (the environment wins). A bad value stops
start-up with one line naming the setting; secret values are never echoed."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse
from zoneinfo import ZoneInfo

from dotenv import dotenv_values

from bot.clock import time_zone
from bot.errors import SettingsError
from bot.slack.mentions import is_user_id

DEFAULT_DATABASE_URL = "sqlite:///csbot.db"
DEFAULT_SLACK_API_URL = "https://slack.com/api/"
SLACK_SETTINGS = ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET")


class Secret(str):
    """A str that never shows its value in repr() or logs."""

    def __repr__(self) -> str:
        return "Secret('**********')"

    def reveal(self) -> str:
        return str.__str__(self)


@dataclass(frozen=True)
class Settings:
    slack_bot_token: Secret | None = None
    slack_signing_secret: Secret | None = None
    slack_app_token: Secret | None = None
    database_url: str = DEFAULT_DATABASE_URL
    slack_api_url: str = DEFAULT_SLACK_API_URL
    port: int = 3000
    escalation_channel: str | None = None
    admins: tuple[str, ...] = ()
    tz: str = "UTC"
    scorecard_path: Path | None = None
    escalation_policy_path: Path | None = None
    scheduler_enabled: bool = True
    log_level: str = "INFO"
    team_cost_cents: int | None = None
    # The .env file these settings were read from (None: the environment alone).
    env_file: Path | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.tz)

    @property
    def socket_mode(self) -> bool:
        return self.slack_app_token is not None


def _parse_slack_token(prefix: str, example: str) -> Callable[[str, str], Secret]:
    def parse(name: str, raw: str) -> Secret:
        if not raw.startswith(prefix):
            raise SettingsError(f"{name} is malformed: it must start with {prefix!r} (e.g. {example}…)")
        return Secret(raw)

    return parse


def _parse_secret(name: str, raw: str) -> Secret:
    if not re.fullmatch(r"[0-9A-Za-z]{8,}", raw):
        raise SettingsError(
            f"{name} is malformed: copy the Signing Secret from the app's Basic Information page"
        )
    return Secret(raw)


def _parse_database_url(name: str, raw: str) -> str:
    url = raw.strip()
    if url.startswith("sqlite://") and not url.startswith("sqlite:///") and url != "sqlite://":
        path = url[len("sqlite://") :]
        raise SettingsError(
            f"{name} is malformed: {url!r} has two slashes; a file path needs three, "
            f"e.g. sqlite:///{path} (relative) or sqlite:////var/lib/csbot/{path} (absolute)"
        )
    if url.startswith("sqlite:///"):
        return "sqlite:///" + _sqlite_path(url[len("sqlite:///") :])
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    scheme = url.split("://", 1)[0] if "://" in url else ""
    if scheme not in {"sqlite", "postgresql+psycopg"}:
        raise SettingsError(
            f"{name} is malformed: use sqlite:///path.db or postgresql://user:pass@host/dbname"
        )
    credentials = url.split("://", 1)[1].split("/", 1)[0]
    if credentials.count("@") > 1:
        raise SettingsError(
            f"{name} is malformed: the user or password contains '@'; write it URL-encoded as %40 "
            "(postgresql://user:p%40ss@host/dbname)"
        )
    return url


def _sqlite_path(path: str) -> str:
    """A SQLite file path with `~` expanded (SQLite would make a folder named `~`)."""
    if path in ("", ":memory:") or path.startswith("file:"):
        return path
    return str(Path(path).expanduser())


def _check_sqlite_folder(url: str) -> None:
    """SQLite creates the file, never its folder: say so before anything opens it."""
    file = sqlite_file(url)
    if file is not None and not file.parent.is_dir():
        raise SettingsError(
            f"DATABASE_URL points into {file.parent}, which does not exist: "
            f"create it (mkdir -p {file.parent}) or fix the path"
        )


def _parse_http_url(name: str, raw: str) -> str:
    parsed = urlparse(raw)
    if parsed.scheme not in {"http", "https"} or not parsed.netloc:
        raise SettingsError(f"{name} is malformed: it must be an http(s) URL such as {DEFAULT_SLACK_API_URL}")
    return raw if raw.endswith("/") else raw + "/"


def _parse_port(name: str, raw: str) -> int:
    if not raw.isdigit() or not 1 <= int(raw) <= 65535:
        raise SettingsError(f"{name} is malformed: it must be a port number from 1 to 65535, not {raw!r}")
    return int(raw)


def _parse_channel(name: str, raw: str) -> str:
    if not re.fullmatch(r"[CG][A-Z0-9]{2,}", raw):
        raise SettingsError(f"{name} is malformed: use the channel ID (C…), not its name, e.g. C0123456789")
    return raw


def _parse_user_ids(name: str, raw: str) -> tuple[str, ...]:
    ids = tuple(part.strip() for part in raw.split(",") if part.strip())
    bad = [i for i in ids if not is_user_id(i)]
    if bad:
        raise SettingsError(
            f"{name} is malformed: {bad[0]!r} is not a Slack user ID (U…); separate IDs with commas"
        )
    return ids


def _parse_tz(name: str, raw: str) -> str:
    if time_zone(raw) is None:
        raise SettingsError(f"{name} is malformed: {raw!r} is not an IANA time zone such as Europe/Paris")
    return raw


def _parse_existing_file(name: str, raw: str) -> Path:
    path = Path(raw).expanduser()
    if not path.is_file():
        raise SettingsError(f"{name} is malformed: no file at {raw}")
    return path


def _parse_switch(name: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value in {"on", "true", "1", "yes"}:
        return True
    if value in {"off", "false", "0", "no"}:
        return False
    raise SettingsError(f"{name} is malformed: use on or off, not {raw!r}")


def _parse_log_level(name: str, raw: str) -> str:
    level = raw.strip().upper()
    if level not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
        raise SettingsError(f"{name} is malformed: use DEBUG, INFO, WARNING or ERROR")
    return level


def _parse_dollars_to_cents(name: str, raw: str) -> int:
    cleaned = raw.replace(",", "").replace("$", "").strip()
    if not re.fullmatch(r"\d+(\.\d{1,2})?", cleaned):
        raise SettingsError(f"{name} is malformed: use a dollar amount such as 850000")
    return round(float(cleaned) * 100)


# env name -> (Settings field, parser). The order is the order of .env.example.
_FIELDS: dict[str, tuple[str, Callable[[str, str], Any]]] = {
    "SLACK_BOT_TOKEN": ("slack_bot_token", _parse_slack_token("xoxb-", "xoxb-")),
    "SLACK_SIGNING_SECRET": ("slack_signing_secret", _parse_secret),
    "SLACK_APP_TOKEN": ("slack_app_token", _parse_slack_token("xapp-", "xapp-")),
    "DATABASE_URL": ("database_url", _parse_database_url),
    "SLACK_API_URL": ("slack_api_url", _parse_http_url),
    "PORT": ("port", _parse_port),
    "CSBOT_ESCALATION_CHANNEL": ("escalation_channel", _parse_channel),
    "CSBOT_ADMINS": ("admins", _parse_user_ids),
    "CSBOT_TZ": ("tz", _parse_tz),
    "CSBOT_SCORECARD": ("scorecard_path", _parse_existing_file),
    "CSBOT_ESCALATION_POLICY": ("escalation_policy_path", _parse_existing_file),
    "CSBOT_SCHEDULER": ("scheduler_enabled", _parse_switch),
    "CSBOT_LOG_LEVEL": ("log_level", _parse_log_level),
    "CSBOT_TEAM_COST": ("team_cost_cents", _parse_dollars_to_cents),
}


ENV_FILE_VARIABLE = "CSBOT_ENV_FILE"


def find_env_file(
    explicit: str | Path | None = None, environ: Mapping[str, str] | None = None
) -> Path | None:
    """The .env to read: `--env-file`, else CSBOT_ENV_FILE, else ./.env when it exists.
    A file named explicitly must exist (a service manager's typo must not pass silently)."""
    environ = os.environ if environ is None else environ
    named = explicit if explicit is not None else (environ.get(ENV_FILE_VARIABLE) or None)
    if named is not None:
        path = Path(named).expanduser()
        if not path.is_file():
            source = "--env-file" if explicit is not None else ENV_FILE_VARIABLE
            raise SettingsError(f"{source} names {named}, which is not a file: fix the path")
        return path.resolve()
    default = Path(".env")
    return default.resolve() if default.is_file() else None


def read_environment(env_file: str | Path | None = ".env") -> dict[str, str]:
    """The environment over the values of `.env` (the environment wins)."""
    values: dict[str, str] = {}
    if env_file is not None and Path(env_file).is_file():
        values.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
    values.update(os.environ)
    return values


def load_settings(
    env: Mapping[str, str] | None = None,
    *,
    require_slack: bool = True,
    uses: Iterable[str] | None = None,
    env_file: str | Path | None = None,
) -> Settings:
    """Build Settings; raise SettingsError with one line naming the bad setting.

    `require_slack=False` serves commands that never talk to Slack (db upgrade, demo).
    `uses` names the settings a command reads: only those are checked, so a
    malformed signing secret never stops `csbot db current`. Without `env`, the
    environment and the .env `find_env_file` picks are read; a relative SQLite path
    is then anchored to that file's folder, so the working directory does not decide
    where the data lives.
    """
    found: Path | None = None
    if env is None:
        found = find_env_file(env_file)
        source: Mapping[str, str] = read_environment(found)
    else:
        source = env
    if require_slack:
        missing = [name for name in SLACK_SETTINGS if not source.get(name, "").strip()]
        if missing:
            names = " and ".join(missing)
            verb = "is" if len(missing) == 1 else "are"
            where = str(found) if found is not None else ".env"
            raise SettingsError(
                f"{names} {verb} not set: put {', '.join(f'{n}=…' for n in missing)} in {where} "
                "(see .env.example and the README's 'Create the Slack app')"
            )
    wanted = set(_FIELDS) if uses is None else set(uses) | (set(SLACK_SETTINGS) if require_slack else set())
    values: dict[str, Any] = {"env_file": found}
    for env_name, (attr, parse) in _FIELDS.items():
        raw = source.get(env_name, "")
        if env_name not in wanted or raw is None or not raw.strip():
            continue
        values[attr] = parse(env_name, raw.strip())
    if found is not None:
        url = values.get("database_url", DEFAULT_DATABASE_URL)
        values["database_url"] = _anchor_sqlite(url, found.parent)
    if "DATABASE_URL" in wanted:
        _check_sqlite_folder(values.get("database_url", DEFAULT_DATABASE_URL))
    return Settings(**values)


def _anchor_sqlite(url: str, folder: Path) -> str:
    """A relative SQLite path, made absolute against `folder` (the .env's)."""
    if not url.startswith("sqlite:///"):
        return url
    path = url[len("sqlite:///") :]
    if path in ("", ":memory:") or path.startswith("file:") or Path(path).is_absolute():
        return url
    return "sqlite:///" + str(folder / path)


def database_location(url: str) -> str:
    """What the start-up line and the doctor show: the absolute file of a SQLite
    database, or a PostgreSQL URL without its password."""
    if url.startswith("sqlite:///"):
        path = url[len("sqlite:///") :]
        return str(Path(path).resolve()) if path not in ("", ":memory:") else "in memory"
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def sqlite_file(url: str) -> Path | None:
    """The database file of a SQLite URL (None for PostgreSQL or in-memory)."""
    if not url.startswith("sqlite:///"):
        return None
    path = url[len("sqlite:///") :]
    return None if path in ("", ":memory:") or path.startswith("file:") else Path(path).resolve()


def setting_names() -> list[str]:
    return list(_FIELDS)


def startup_line(settings: Settings) -> str:
    """Which .env was read and where the data is, so the working directory decides
    nothing unseen (the first line `csbot run` and `csbot scheduler` print)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        release = version("csbot")
    except PackageNotFoundError:
        release = "(not installed)"
    env = (
        f"settings from {settings.env_file} and the environment"
        if settings.env_file
        else "no .env file read (the environment only)"
    )
    return f"csbot {release}: {env}; database {database_location(settings.database_url)}"
