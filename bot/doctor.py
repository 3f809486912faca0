"""`csbot doctor` and the start-up check of `csbot run` (PRODUCT.md §7): every
thing a first install gets wrong, checked in the order a person fixes it, each a
line with ✓ or ✗ and, on ✗, what to change. A check reads and asks; it never
writes, and never creates a database file."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from sqlalchemy.exc import SQLAlchemyError

from bot.errors import SettingsError
from bot.failures import database_error_line, slack_error_line, slack_exception_line
from bot.settings import Settings, database_location, load_settings, sqlite_file
from bot.slack.scopes import BOT_SCOPES, missing_scopes

OK, BAD = "✓", "✗"


@dataclass(frozen=True)
class Check:
    ok: bool
    line: str

    def __str__(self) -> str:
        return f"{OK if self.ok else BAD} {self.line}"


def _client(settings: Settings, token: str | None = None) -> WebClient:
    raw = (
        token
        if token is not None
        else (settings.slack_bot_token.reveal() if settings.slack_bot_token else None)
    )
    return WebClient(token=raw, base_url=settings.slack_api_url, timeout=10)


def check_settings(env_file: Path | None) -> tuple[Settings | None, list[Check]]:
    try:
        settings = load_settings(require_slack=False, env_file=env_file)
    except SettingsError as exc:
        return None, [Check(False, f"settings: {exc}")]
    where = (
        f"{settings.env_file} and the environment" if settings.env_file else "the environment (no .env file)"
    )
    checks = [Check(True, f"settings parse (read from {where})")]
    missing = [n for n, v in (("SLACK_BOT_TOKEN", settings.slack_bot_token),) if v is None]
    if settings.slack_signing_secret is None and not settings.socket_mode:
        missing.append("SLACK_SIGNING_SECRET")
    if missing:
        checks.append(
            Check(
                False,
                f"{' and '.join(missing)} not set: copy {'it' if len(missing) == 1 else 'them'} "
                "from the Slack app's pages into .env "
                "(README, 'Create the Slack app')",
            )
        )
    return settings, checks


def check_database(settings: Settings) -> Check:
    """Reachable and at the latest revision; a missing SQLite file is reported, not made."""
    from models.db import make_engine
    from models.migrate import current_revision, head_revision

    where = database_location(settings.database_url)
    file = sqlite_file(settings.database_url)
    if file is not None and not file.exists():
        return Check(False, f"database: no database at {file}: run `csbot db upgrade` to create it")
    engine = make_engine(settings.database_url)
    try:
        current, head = current_revision(engine), head_revision()
    except SQLAlchemyError as exc:
        return Check(False, f"database: {database_error_line(exc, settings.database_url)}")
    finally:
        engine.dispose()
    if current != head:
        return Check(
            False,
            f"database {where} is at revision {current or 'empty'}, this version needs {head}: "
            "run `csbot db upgrade`",
        )
    return Check(True, f"database {where} reachable, at the latest revision ({head})")


def auth_test(client: WebClient) -> tuple[dict[str, Any] | None, set[str], Check]:
    """auth.test: who the token is, and its scopes (the `x-oauth-scopes` header)."""
    try:
        response = client.auth_test()
    except (SlackApiError, SlackClientError, OSError) as exc:
        return None, set(), Check(False, slack_exception_line(exc, "auth.test"))
    headers = {k.lower(): v for k, v in (response.headers or {}).items()}
    raw = headers.get("x-oauth-scopes", "")
    raw = raw[0] if isinstance(raw, list) else raw
    scopes = {s.strip() for s in str(raw).split(",") if s.strip()}
    data = response.data if isinstance(response.data, dict) else {}
    line = (
        f"Slack token works: workspace {data.get('team')} ({data.get('team_id')}), "
        f"bot @{data.get('user')} ({data.get('user_id')})"
    )
    return data, scopes, Check(True, line)


def check_scopes(granted: set[str]) -> Check:
    missing = missing_scopes(granted)
    if missing:
        return Check(
            False,
            f"the token lacks the scope(s) {', '.join(missing)}: add them under OAuth & "
            "Permissions (or paste manifest.yml again) and reinstall the app",
        )
    return Check(True, f"the token has every scope manifest.yml asks for ({len(BOT_SCOPES)})")


def check_channel(client: WebClient, channel: str, what: str) -> Check:
    """The channel exists and the bot is in it (it must be, to post and read its threads)."""
    try:
        info = client.conversations_info(channel=channel)["channel"]
    except SlackApiError as exc:
        error = str(exc.response.get("error", "unknown_error"))
        if error in ("channel_not_found", "not_in_channel"):
            return Check(
                False,
                f"{what} {channel}: not found or the bot is not in it: invite it with "
                "/invite @csbot in the channel (or fix the channel ID)",
            )
        return Check(
            False,
            f"{what} {channel}: {slack_error_line('conversations.info', error, exc.response.get('needed'))}",
        )
    except (SlackClientError, OSError) as exc:
        return Check(False, f"{what} {channel}: {slack_exception_line(exc)}")
    name = f"#{info.get('name')}" if info.get("name") else channel
    if info.get("is_archived"):
        return Check(False, f"{what} {name} ({channel}) is archived: unarchive it or choose another")
    if not (info.get("is_member") or info.get("is_im")):
        return Check(False, f"{what} {name} ({channel}): the bot is not a member: /invite @csbot in {name}")
    return Check(True, f"{what} {name} ({channel}) reachable, the bot is a member")


def check_escalation_channel(client: WebClient, settings: Settings) -> Check:
    if settings.escalation_channel is None:
        return Check(
            False,
            "CSBOT_ESCALATION_CHANNEL not set: escalations have nowhere to open; set it to the "
            "channel ID (channel name → About → Channel ID, C…)",
        )
    return check_channel(client, settings.escalation_channel, "escalations channel")


def subscribed_channels(settings: Settings) -> list[str]:
    from sqlmodel import Session, select

    from models.db import make_engine
    from models.tables import Subscription

    engine = make_engine(settings.database_url)
    try:
        with Session(engine) as session:
            return sorted(set(session.exec(select(Subscription.channel_id)).all()))
    finally:
        engine.dispose()


def check_socket_mode(settings: Settings) -> Check:
    if settings.slack_app_token is None:
        return Check(True, "Socket Mode off (no SLACK_APP_TOKEN): HTTP at /slack/events on PORT")
    client = _client(settings, settings.slack_app_token.reveal())
    try:
        client.apps_connections_open(app_token=settings.slack_app_token.reveal())
    except SlackApiError as exc:
        error = str(exc.response.get("error", "unknown_error"))
        fix = (
            "SLACK_APP_TOKEN is wrong: generate an app-level token (Basic Information → App-Level Tokens)"
            if error in ("invalid_auth", "not_authed", "token_revoked", "not_allowed_token_type")
            else "give the app-level token the connections:write scope"
            if error == "missing_scope"
            else slack_error_line("apps.connections.open", error)
        )
        return Check(False, f"Socket Mode: Slack refused apps.connections.open ({error}): {fix}")
    except (SlackClientError, OSError) as exc:
        return Check(False, f"Socket Mode: {slack_exception_line(exc)}")
    return Check(True, "Socket Mode: SLACK_APP_TOKEN opens a connection")


def check_time_zone(settings: Settings, now: datetime | None = None) -> Check:
    local = (now or datetime.now(UTC)).astimezone(settings.zone)
    return Check(
        True, f"time zone {settings.tz}: it is {local:%a %H:%M} there now (business hours and digests use it)"
    )


def diagnose(env_file: Path | None, emit: Callable[[Check], None]) -> bool:
    """Run every check, emitting each line as it is known; True when all pass."""
    results: list[Check] = []

    def add(check: Check) -> None:
        results.append(check)
        emit(check)

    settings, first = check_settings(env_file)
    for check in first:
        add(check)
    if settings is None:
        return False
    database = check_database(settings)
    add(database)
    if settings.slack_bot_token is not None:
        client = _client(settings)
        _, scopes, check = auth_test(client)
        add(check)
        if check.ok:
            add(check_scopes(scopes))
            add(check_escalation_channel(client, settings))
            channels = subscribed_channels(settings) if database.ok else []
            for channel in channels:
                add(check_channel(client, channel, "subscribed channel"))
            if database.ok and not channels:
                add(Check(True, "no channel subscribed yet (`/cs subscribe alerts` in a channel)"))
    add(check_socket_mode(settings))
    add(check_time_zone(settings))
    return all(c.ok for c in results)


def startup_check(
    settings: Settings, client: WebClient, found: dict[str, Any] | None = None
) -> tuple[str | None, list[str]]:
    """What `csbot run` asks Slack before serving: (the line that stops start-up,
    or None; warnings to log and DM the admins); `found` gets auth.test's answer
    (the workspace URL message links are built from). A bad token stops it: every post
    would fail. An escalations channel the bot cannot post in is a warning: the
    rest of the bot works, and the admins can fix it while it runs."""
    data, _, auth = auth_test(client)
    if found is not None and data:
        found.update(data)
    if not auth.ok:
        return auth.line, []
    socket = check_socket_mode(settings)
    if not socket.ok:
        return socket.line, []
    warnings = []
    escalations = check_escalation_channel(client, settings)
    if not escalations.ok and settings.escalation_channel is not None:
        warnings.append(f"I cannot post escalations: {escalations.line}. Run `csbot doctor` after fixing it.")
    return None, warnings
