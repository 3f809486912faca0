"""`/cs log`, `/cs account`, the log form and the account picker: from plain
values to an answer. The handlers stay thin; this module holds the flow
(parse, match, record once, confirm) and knows nothing of slack_bolt."""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.accounts.card import card_sections, load_account_card
from bot.accounts.card_blocks import account_card_blocks
from bot.accounts.matching import AccountRef, Match
from bot.delivery.outbox import enqueue
from bot.deps import Deps
from bot.errors import BadInput, NotFound
from bot.slack.action_ids import ActionId
from bot.slack.answer import Answer
from bot.slack.escape import escape
from bot.slack.help import usage
from bot.touchpoints.confirmation import account_card_choice, account_choice, log_confirmation
from bot.touchpoints.form import (
    B_ACCOUNT,
    B_DATE,
    B_NOTE,
    B_SENTIMENT,
    B_TAGS,
    B_TYPE,
    MAX_MODAL_NOTE,
    account_option,
    log_modal,
)
from bot.touchpoints.grammar import (
    LogCommand,
    from_slack,
    local_today,
    occurred_at,
    parse_log,
    parse_tags,
    type_for,
)
from bot.touchpoints.recording import Recorded, TouchpointDraft, record_once
from models.db import session_scope

log = logging.getLogger(__name__)
MAX_BUTTON_VALUE = 2000  # Slack's limit for a button's value


def user_today(deps: Deps, user_id: str) -> tuple[ZoneInfo, date]:
    """The user's zone (cached users.info) and their local date now."""
    assert deps.users is not None
    tz = deps.users.tz(user_id)
    return tz, local_today(deps.clock.now(), tz)


def no_account_answer(typed: str, match: Match) -> Answer:
    close = ", ".join(f"*{escape(r.name)}*" for r in match.suggestions)
    text = f"No account named “{escape(typed)}”."
    if close:
        text += f" Closest: {close}."
    text += " Nothing was saved. (Accounts are added with `csbot import accounts`.)"
    return Answer(text=text)


def _resolve(deps: Deps, typed: str) -> tuple[AccountRef | None, Match]:
    match = deps.accounts.match(typed)
    return match.unique, match


# --- /cs log <line> ------------------------------------------------------------


def _confirm(deps: Deps, rec: Recorded, tz: ZoneInfo) -> Answer:
    text, blocks = log_confirmation(rec, tz)
    return Answer(text=text, blocks=blocks)


def _draft(
    account_id: int, cmd_type: str, when: datetime, note: str, tags: Any, sentiment: int
) -> TouchpointDraft:
    return TouchpointDraft(
        account_id=account_id,
        type=cmd_type,
        occurred_at=when,
        note=note,
        tags=tuple(tags),
        sentiment=sentiment,
    )


def log_line(deps: Deps, user_id: str, text: str, *, request_key: str | None) -> Answer:
    """Parse, match and record one `/cs log` line."""
    tz, today = user_today(deps, user_id)
    cmd: LogCommand = parse_log(from_slack(text), today=today, is_account=deps.accounts.has_name)
    now = deps.clock.now()
    when = occurred_at(cmd.on, now, tz)
    key = f"log:{request_key or uuid.uuid4().hex}"
    ref, match = _resolve(deps, cmd.account_text)
    if ref is None:
        if not match.candidates:
            return no_account_answer(cmd.account_text, match)
        payload = {
            "t": cmd.type,
            "o": when.astimezone(UTC).isoformat(),
            "n": cmd.note,
            "g": list(cmd.tags),
            "s": cmd.sentiment,
            "k": key,
        }
        choice_text, blocks = account_choice(cmd.account_text, match.candidates, payload)
        if any(len(b.get("value", "")) > MAX_BUTTON_VALUE for b in blocks[-1]["elements"]):
            raise BadInput(
                f"“{escape(cmd.account_text)}” matches {len(match.candidates)} accounts, "
                "and the note is too long for me to ask which one here. "
                "Type the account's full name, or use the form (`/cs log`)."
            )
        return Answer(text=choice_text, blocks=blocks)
    rec = record_once(
        deps.engine,
        deps.clock,
        user_id,
        _draft(ref.id, cmd.type, when, cmd.note, cmd.tags, cmd.sentiment),
        account_name=ref.name,
        idempotency_key=key,
        source="command",
    )
    return _confirm(deps, rec, tz)


def log_picked(deps: Deps, user_id: str, value: str) -> Answer:
    """A candidate button was clicked: record the touchpoint as typed, for that account."""
    try:
        p = json.loads(value)
        account_id = int(p["a"])
        kind = type_for(str(p["t"]))
        when = datetime.fromisoformat(p["o"])
        note, tags, sentiment, key = str(p["n"]), [str(t) for t in p["g"]], int(p["s"]), str(p["k"])
    except (ValueError, KeyError, TypeError):
        raise BadInput(
            "That button is not valid any more. Please type the `/cs log` command again."
        ) from None
    if kind is None or when.tzinfo is None:
        raise BadInput("That button is not valid any more. Please type the `/cs log` command again.")
    ref = deps.accounts.get(account_id)
    if ref is None:
        raise NotFound("That account no longer exists; nothing was saved.")
    tz, _ = user_today(deps, user_id)
    rec = record_once(
        deps.engine,
        deps.clock,
        user_id,
        _draft(ref.id, kind, when, note, tags, sentiment),
        account_name=ref.name,
        idempotency_key=key,
        source="pick",
    )
    return _confirm(deps, rec, tz)


# --- /cs account <name> --------------------------------------------------------


def account_card_answer(
    deps: Deps, user_id: str, text: str, *, extra_blocks: list[dict[str, Any]] | None = None
) -> Answer:
    """`/cs account <name>`: the card, the candidates to pick from, or the close names."""
    typed = from_slack(text).strip()
    if not typed:
        raise BadInput(f"Which account? The form is: {usage('account')}")
    ref, match = _resolve(deps, typed)
    if ref is None:
        if not match.candidates:
            return no_account_answer(typed, match)
        choice_text, blocks = account_card_choice(typed, match.candidates)
        return Answer(text=choice_text, blocks=blocks)
    return card_for(deps, user_id, ref.id, extra_blocks=extra_blocks)


def card_for(
    deps: Deps,
    user_id: str,
    account_id: int,
    *,
    extra_blocks: list[dict[str, Any]] | None = None,
    shareable: bool = True,
) -> Answer:
    """The account card as `user_id` sees it (their zone, their today)."""
    tz, today = user_today(deps, user_id)
    with session_scope(deps.engine) as session:
        card = load_account_card(session, account_id)
        sections = card_sections(session, card, tz, today, deps.card_sections.values()) + list(
            extra_blocks or []
        )
    card_text, blocks = account_card_blocks(
        card, tz=tz, today=today, extra_blocks=sections, shareable=shareable
    )
    return Answer(text=card_text, blocks=blocks)


def card_for_button(deps: Deps, user_id: str, value: str, *, shareable: bool = True) -> Answer:
    """A card picked or shared by button (value: the account id)."""
    try:
        account_id = int(value)
    except ValueError:
        raise BadInput("That button is not valid any more.") from None
    return card_for(deps, user_id, account_id, shareable=shareable)


# --- the log form (modal) ------------------------------------------------------


def open_log_modal(
    deps: Deps,
    trigger_id: str,
    user_id: str,
    *,
    account: AccountRef | None = None,
    type: str | None = None,
    note: str = "",
    permalink: str | None = None,
    channel_id: str | None = None,
    client: WebClient | None = None,
) -> dict[str, Any]:
    """Open the log form for `user_id` (pre-filled as given) and return the view."""
    _, today = user_today(deps, user_id)
    view = log_modal(
        today=today, account=account, type=type, note=note, permalink=permalink, channel_id=channel_id
    )
    response = (client or deps.client).views_open(trigger_id=trigger_id, view=view)
    return response.get("view") or view


def account_options(deps: Deps, query: str) -> list[dict[str, Any]]:
    """Options for the form's account picker (block_suggestion)."""
    return [account_option(ref) for ref in deps.accounts.search(query or "", limit=50)]


@dataclass
class FormEntry:
    account: AccountRef
    draft: TouchpointDraft
    channel_id: str | None


def _selected(values: dict[str, Any], block: str, action: str) -> dict[str, Any]:
    return (values.get(block) or {}).get(action) or {}


def read_log_form(deps: Deps, user_id: str, view: dict[str, Any]) -> FormEntry | dict[str, str]:
    """The submitted form as an entry to record, or {block_id: error} to show inline."""
    values = (view.get("state") or {}).get("values") or {}
    errors: dict[str, str] = {}
    tz, today = user_today(deps, user_id)

    account: AccountRef | None = None
    opt = _selected(values, B_ACCOUNT, ActionId.LOG_ACCOUNT).get("selected_option") or {}
    try:
        account = deps.accounts.get(int(opt.get("value", "")))
    except ValueError:
        account = None
    if account is None:
        errors[B_ACCOUNT] = "Pick an account from the list."

    type_opt = _selected(values, B_TYPE, ActionId.LOG_TYPE).get("selected_option") or {}
    kind = type_for(str(type_opt.get("value", "")))
    if kind is None:
        errors[B_TYPE] = "Pick a type."

    raw_date = _selected(values, B_DATE, ActionId.LOG_DATE).get("selected_date")
    on: date | None = None
    try:
        on = date.fromisoformat(raw_date) if raw_date else None
    except ValueError:
        on = None
    if on is None:
        errors[B_DATE] = "Pick a date."
    elif on > today:
        errors[B_DATE] = f"That is in the future (today is {today:%a %d %b} in your time zone)."

    sent_opt = _selected(values, B_SENTIMENT, ActionId.LOG_SENTIMENT).get("selected_option") or {}
    try:
        sentiment = int(sent_opt.get("value", "0"))
    except ValueError:
        sentiment = 0
    if sentiment not in (-1, 0, 1):
        errors[B_SENTIMENT] = "Pick positive, neutral or negative."

    note = (_selected(values, B_NOTE, ActionId.LOG_NOTE).get("value") or "").strip()
    if not note:
        errors[B_NOTE] = "Add a note: what happened?"
    elif len(note) > MAX_MODAL_NOTE:
        errors[B_NOTE] = f"Keep the note under {MAX_MODAL_NOTE} characters."
    tags = parse_tags(_selected(values, B_TAGS, ActionId.LOG_TAGS).get("value") or "")

    if errors:
        return errors
    assert account is not None and kind is not None and on is not None
    try:
        meta = json.loads(view.get("private_metadata") or "{}")
    except ValueError:
        meta = {}
    draft = TouchpointDraft(
        account_id=account.id,
        type=kind,
        occurred_at=occurred_at(on, deps.clock.now(), tz),
        note=note,
        tags=tags,
        sentiment=sentiment,
        permalink=meta.get("permalink") or None,
    )
    return FormEntry(account=account, draft=draft, channel_id=meta.get("channel") or None)


def record_form_entry(deps: Deps, user_id: str, entry: FormEntry, *, view_id: str) -> Recorded:
    """Record a submitted form once per view (before the form closes, so a failure
    can still be shown on it)."""
    return record_once(
        deps.engine,
        deps.clock,
        user_id,
        entry.draft,
        account_name=entry.account.name,
        idempotency_key=f"view:{view_id}",
        source="shortcut" if entry.draft.permalink else "form",
    )


def confirm_form_entry(deps: Deps, user_id: str, entry: FormEntry, rec: Recorded) -> None:
    """The confirmation with Undo: ephemeral in the channel the form came from,
    else (or if that fails) by DM through the Outbox."""
    tz, _ = user_today(deps, user_id)
    text, blocks = log_confirmation(rec, tz)
    if entry.channel_id:
        try:
            deps.client.chat_postEphemeral(channel=entry.channel_id, user=user_id, text=text, blocks=blocks)
            return
        except SlackApiError as exc:
            log.info(
                "confirmation not shown in %s (%s); sending it by DM",
                entry.channel_id,
                exc.response.get("error"),
            )
    text, blocks = log_confirmation(rec, tz, ephemeral=False)  # a DM: no mention stays live
    with session_scope(deps.engine) as session:
        enqueue(session, deps.clock, key=f"log-confirm:{rec.id}", text=text, blocks=blocks, dm_user=user_id)
    deps.wake_outbox()


def shortcut_prefill(deps: Deps, channel_id: str, message: dict[str, Any]) -> tuple[str, str | None]:
    """(note text, permalink) for the "Log as touchpoint" shortcut."""
    note = from_slack(message.get("text") or "").strip()
    permalink = None
    ts = message.get("ts")
    if channel_id and ts:
        try:
            permalink = deps.client.chat_getPermalink(channel=channel_id, message_ts=ts).get("permalink")
        except SlackApiError:
            log.info("no permalink for %s/%s", channel_id, ts)
    return note[:MAX_MODAL_NOTE], permalink
