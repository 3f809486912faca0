"""Every write a Slack request causes happens once (PRODUCT.md §2): each write
command, button and form, delivered twice with the same signature and no retry
header (a replay, or Slack's retry reaching another replica), then again to an
app started afresh on the same database (a restart), and at the same moment to
two app instances sharing one database — writes once, pages once, and every
delivery is answered what the first was. On SQLite and PostgreSQL."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from sqlalchemy import func
from sqlmodel import select

from bot.app import build_app
from bot.settings import Settings
from bot.slack.action_ids import ActionId
from bot.slack.web import build_asgi
from models.db import make_engine, session_scope
from models.tables import (
    Account,
    Alert,
    AuditLog,
    Escalation,
    EscalationEvent,
    Expansion,
    Member,
    NpsResponse,
    Outbox,
    RenewalEvent,
    SlackRequest,
    Subscription,
)
from tests.app_server import AppServer
from tests.escalation_helpers import ESC_CHANNEL, action_elements, flush, parent, seed_team
from tests.harness import SIGNING_SECRET, Bot
from tests.signing import signature

pytestmark = pytest.mark.e2e

TABLES = (
    Escalation,
    EscalationEvent,
    NpsResponse,
    RenewalEvent,
    Expansion,
    Member,
    Subscription,
    AuditLog,
    Outbox,
)
FORM = "application/x-www-form-urlencoded"


def counts(bot: Bot) -> dict[str, int]:
    with session_scope(bot.engine) as s:
        found = {t.__name__: s.exec(select(func.count()).select_from(t)).one() for t in TABLES}
        snoozed = s.exec(select(Alert.snoozed_until)).all()
    found["snoozed"] = sum(1 for x in snoozed if x is not None)
    return found


def dm_count(bot: Bot) -> int:
    """Messages the fake holds in every DM (pages go there)."""
    return sum(len(bot.fake.messages_in(user)) for user in ("UCSM1", "UCSM2", "UDIR1", "UEXEC1"))


class Replicas:
    """More app instances on the test's database, each with its own engine (as in
    another process): `start()` is a replica or the bot after a restart."""

    def __init__(self, bot: Bot, settings: Settings, db_url: str) -> None:
        self.bot, self.settings, self.db_url = bot, settings, db_url
        self.started: list[tuple[AppServer, Any, Any]] = []

    def start(self) -> str:
        engine = make_engine(self.db_url)
        app, deps = build_app(self.settings, engine, self.bot.clock, ack_budget_seconds=30.0)
        server = AppServer(build_asgi(app, lambda: deps.ack_budget_seconds)).start()
        self.started.append((server, deps, engine))
        return server.url

    def stop(self) -> None:
        for server, deps, engine in self.started:
            server.stop()
            deps.executor.shutdown(wait=True)
            engine.dispose()


@pytest.fixture
def replicas(bot: Bot, settings: Settings, db_url: str) -> Iterator[Replicas]:
    bot.deps.ack_budget_seconds = 30.0  # answers in the HTTP reply even on a loaded machine
    seed_team(bot.engine, bot.clock)
    with session_scope(bot.engine) as s:
        s.add(Member(slack_id="UADMIN", role="admin", created_at=bot.clock.now(), updated_at=bot.clock.now()))
    bot.deps.accounts.invalidate()
    found = Replicas(bot, settings, db_url)
    try:
        yield found
    finally:
        found.stop()


def post(url: str, body: str, ts: int) -> httpx.Response:
    """The exact same signed request each time: same body, timestamp and signature, no retry header."""
    headers = {
        "Content-Type": FORM,
        "X-Slack-Request-Timestamp": str(ts),
        "X-Slack-Signature": signature(SIGNING_SECRET, ts, body),
    }
    return httpx.post(url, content=body.encode(), headers=headers, timeout=30)


def answer_of(response: httpx.Response) -> Any:
    assert response.status_code == 200, response.text
    return response.json() if response.text else None


def deliver_four_times(bot: Bot, replicas: Replicas, body: str) -> list[Any]:
    """Once, again to the same app, again to a restarted app, again to a second replica."""
    ts = int(time.time())
    first = answer_of(post(bot.send.url, body, ts))
    flush(bot)
    after_first = (counts(bot), dm_count(bot), len(bot.fake.responses))
    again = answer_of(post(bot.send.url, body, ts))
    restarted = answer_of(post(replicas.start(), body, ts))
    other = answer_of(post(replicas.start(), body, ts))
    flush(bot)
    assert counts(bot) == after_first[0], "a second delivery wrote something"
    assert dm_count(bot) == after_first[1], "a second delivery paged someone"
    return [first, again, restarted, other]


def command_body(bot: Bot, text: str, user_id: str, channel_id: str = "CGENERAL") -> str:
    return bot.send.command_body(text, user_id=user_id, channel_id=channel_id)


def interactive_body(payload: dict[str, Any]) -> str:
    payload.setdefault("team", {"id": "T0001", "domain": "acme-cs"})
    payload.setdefault("api_app_id", "A0CSBOT")
    payload.setdefault("token", "legacy-verification-token")
    payload.setdefault("trigger_id", f"{time.time_ns()}.trig")
    return urlencode({"payload": json.dumps(payload)})


def click_body(bot: Bot, message: dict[str, Any], action_id: str, user_id: str, **extra: Any) -> str:
    """A click on one of the message's own elements, as Slack sends it."""
    block_id, element = action_elements(message)[action_id]
    action = {
        "action_id": action_id,
        "block_id": block_id,
        "type": element["type"],
        "action_ts": f"{time.time():.6f}",
        **({"value": element["value"]} if "value" in element else {}),
        **extra,
    }
    return interactive_body(
        {
            "type": "block_actions",
            "user": {"id": user_id, "username": user_id.lower(), "team_id": "T0001"},
            "channel": {"id": ESC_CHANNEL, "name": "escalations"},
            "container": {"type": "message", "message_ts": message["ts"], "channel_id": ESC_CHANNEL},
            "message": message,
            "response_url": bot.fake.response_url(),
            "actions": [action],
        }
    )


def open_escalation(bot: Bot) -> dict[str, Any]:
    bot.send.command("escalate Acme Corp sev1 checkout down for EU users", user_id="UCSM2")
    flush(bot)
    return parent(bot)


# --- slash commands ------------------------------------------------------------------------


COMMANDS: list[tuple[str, str, str, Callable[[dict[str, int]], bool]]] = [
    ("escalate Acme Corp sev1 checkout down", "UCSM2", "CGENERAL", lambda c: c["Escalation"] == 1),
    ("nps Acme Corp 9 loves the reports", "UCSM1", "CGENERAL", lambda c: c["NpsResponse"] == 1),
    ("renewal Acme Corp renewed $120k", "UCSM1", "CGENERAL", lambda c: c["RenewalEvent"] == 1),
    ("upsell Acme Corp $24k 20 more seats", "UCSM1", "CGENERAL", lambda c: c["Expansion"] == 1),
    ("team add <@UOUT1|olly> csm manager <@UDIR1|dana>", "UADMIN", "CGENERAL", lambda c: c["Member"] == 6),
    ("subscribe alerts", "UDIR1", "CALERTS", lambda c: c["Subscription"] == 1),
]


@pytest.mark.parametrize(
    ("text", "user", "channel", "wrote"), COMMANDS, ids=[c[0].split()[0] for c in COMMANDS]
)
def test_a_write_command_delivered_again_writes_once_and_answers_the_same(
    bot: Bot, replicas: Replicas, text: str, user: str, channel: str, wrote: Callable[[dict[str, int]], bool]
) -> None:
    answers = deliver_four_times(bot, replicas, command_body(bot, text, user, channel))
    assert wrote(counts(bot)), counts(bot)
    assert answers[0]["text"].startswith(":white_check_mark:") or "Escalation #1 opened" in answers[0]["text"]
    assert answers[1:] == [answers[0]] * 3
    with session_scope(bot.engine) as s:
        assert len(s.exec(select(SlackRequest)).all()) == 1


def test_an_escalation_delivered_again_pages_the_owner_once(bot: Bot, replicas: Replicas) -> None:
    deliver_four_times(bot, replicas, command_body(bot, "escalate Acme Corp sev1 checkout down", "UCSM2"))
    assert len(bot.fake.messages_in("UCSM1")) == 1  # the owner's DM page
    assert len([m for m in bot.fake.messages_in(ESC_CHANNEL) if m.get("thread_ts") in (None, m["ts"])]) == 1


def test_unsubscribe_delivered_again_says_the_same(bot: Bot, replicas: Replicas) -> None:
    bot.send.command("subscribe alerts", user_id="UDIR1", channel_id="CALERTS")
    answers = deliver_four_times(bot, replicas, command_body(bot, "unsubscribe alerts", "UDIR1", "CALERTS"))
    assert counts(bot)["Subscription"] == 0
    assert "will no longer get" in answers[0]["text"] and answers[1:] == [answers[0]] * 3


def test_a_refused_command_stores_no_key_and_may_be_sent_again(bot: Bot, replicas: Replicas) -> None:
    body = command_body(bot, "renewal Acme Corp renewed $120k", "UOUT1")  # not the CSM: refused
    ts = int(time.time())
    first = answer_of(post(bot.send.url, body, ts))
    assert "Nothing was recorded" in first["text"]
    with session_scope(bot.engine) as s:
        assert s.exec(select(SlackRequest)).all() == []
    assert answer_of(post(bot.send.url, body, ts)) == first


# --- buttons and forms on the escalation --------------------------------------------------


def test_acknowledge_clicked_once_delivered_four_times_acts_once(bot: Bot, replicas: Replicas) -> None:
    msg = open_escalation(bot)
    deliver_four_times(bot, replicas, click_body(bot, msg, ActionId.ESC_ACK, "UCSM1"))
    with session_scope(bot.engine) as s:
        kinds = s.exec(select(EscalationEvent.kind).order_by(EscalationEvent.id)).all()
    assert kinds == ["opened", "acknowledged"]
    assert not any("already acknowledged" in (r.body.get("text") or "") for r in bot.fake.responses)


def test_escalate_now_delivered_again_pages_the_next_level_once(bot: Bot, replicas: Replicas) -> None:
    msg = open_escalation(bot)
    before = len(bot.fake.messages_in("UDIR1"))
    deliver_four_times(bot, replicas, click_body(bot, msg, ActionId.ESC_ESCALATE, "UCSM1"))
    assert len(bot.fake.messages_in("UDIR1")) == before + 1


def test_reassign_delivered_again_reassigns_once(bot: Bot, replicas: Replicas) -> None:
    msg = open_escalation(bot)
    body = click_body(bot, msg, ActionId.ESC_REASSIGN, "UCSM1", selected_user="UCSM2")
    deliver_four_times(bot, replicas, body)
    with session_scope(bot.engine) as s:
        assert s.exec(select(EscalationEvent.kind)).all().count("reassigned") == 1


@pytest.mark.parametrize("resolve", [False, True], ids=["note", "resolve"])
def test_a_modal_submitted_again_posts_once(bot: Bot, replicas: Replicas, resolve: bool) -> None:
    msg = open_escalation(bot)
    bot.send.post(click_body(bot, msg, ActionId.ESC_RESOLVE if resolve else ActionId.ESC_NOTE, "UCSM1"), FORM)
    opened = bot.fake.calls_to("views.open")[-1].response["view"]
    body = interactive_body(
        {
            "type": "view_submission",
            "user": {"id": "UCSM1", "username": "ucsm1", "team_id": "T0001"},
            "view": {
                "id": opened["id"],
                "type": "modal",
                "callback_id": opened["callback_id"],
                "private_metadata": opened["private_metadata"],
                "state": {
                    "values": {"note": {"note_input": {"type": "plain_text_input", "value": "Fixed it"}}}
                },
                "hash": "h1",
            },
        }
    )
    answers = deliver_four_times(bot, replicas, body)
    assert answers == [None] * 4  # each closes the form
    with session_scope(bot.engine) as s:
        kinds = s.exec(select(EscalationEvent.kind)).all()
    assert kinds.count("resolved" if resolve else "note") == 1
    thread = [m["text"] for m in bot.fake.messages_in(ESC_CHANNEL, thread_ts=msg["ts"])]
    assert sum("Fixed it" in t for t in thread) == 1


# --- the alert's snooze and the Undo button --------------------------------------------------


def test_snooze_delivered_again_snoozes_once(bot: Bot, replicas: Replicas) -> None:
    with session_scope(bot.engine) as s:
        acme = s.exec(select(Account).where(Account.name == "Acme Corp")).one()
        s.add(Alert(account_id=acme.id, reasons=["red"], first_seen=bot.clock.now(), news_at=bot.clock.now()))
        acme_id = acme.id
    body = interactive_body(
        {
            "type": "block_actions",
            "user": {"id": "UCSM1", "username": "ucsm1", "team_id": "T0001"},
            "channel": {"id": "CALERTS", "name": "cs-alerts"},
            "container": {"type": "message", "message_ts": "1.1", "channel_id": "CALERTS"},
            "response_url": bot.fake.response_url(),
            "actions": [
                {
                    "action_id": ActionId.ALERT_SNOOZE,
                    "block_id": f"alert_{acme_id}",
                    "type": "button",
                    "value": str(acme_id),
                    "action_ts": "1700000000.1",
                }
            ],
        }
    )
    deliver_four_times(bot, replicas, body)
    assert counts(bot)["snoozed"] == 1
    snoozes = [r for r in bot.fake.responses if ":zzz: Snoozed" in (r.body.get("text") or "")]
    assert len(snoozes) == 4  # every delivery is answered what the first was
    with session_scope(bot.engine) as s:
        assert s.exec(select(AuditLog.action)).all().count("alert.snooze") == 1


def test_undo_delivered_again_undoes_once_and_says_so_once(bot: Bot, replicas: Replicas) -> None:
    confirmation = bot.send.command("nps Acme Corp 3 slow support", user_id="UCSM1").json()
    undo = confirmation["blocks"][-1]["elements"][0]
    body = interactive_body(
        {
            "type": "block_actions",
            "user": {"id": "UCSM1", "username": "ucsm1", "team_id": "T0001"},
            "channel": {"id": "CGENERAL", "name": "general"},
            "container": {
                "type": "message",
                "message_ts": "2.2",
                "channel_id": "CGENERAL",
                "is_ephemeral": True,
            },
            "response_url": bot.fake.response_url(),
            "actions": [
                {
                    "action_id": ActionId.UNDO,
                    "block_id": "b1",
                    "type": "button",
                    "value": undo["value"],
                    "action_ts": "1700000000.2",
                }
            ],
        }
    )
    deliver_four_times(bot, replicas, body)
    with session_scope(bot.engine) as s:
        (row,) = s.exec(select(NpsResponse)).all()
        assert row.deleted_at is not None
    texts = [r.body.get("text") or "" for r in bot.fake.responses]
    assert not any("already undone" in t for t in texts)


# --- two instances at the same moment ------------------------------------------------------------


def test_two_instances_receiving_the_same_escalate_at_once_open_one(bot: Bot, replicas: Replicas) -> None:
    body = command_body(bot, "escalate Acme Corp sev2 exports broken", "UCSM2")
    ts = int(time.time())
    urls = [replicas.start(), replicas.start(), bot.send.url]
    answers: list[Any] = [None] * len(urls)
    go = threading.Event()

    def send(i: int) -> None:
        go.wait(timeout=10)
        answers[i] = answer_of(post(urls[i], body, ts))

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(urls))]
    for t in threads:
        t.start()
    go.set()
    for t in threads:
        t.join(timeout=30)
    flush(bot)
    assert counts(bot)["Escalation"] == 1
    assert len(bot.fake.messages_in("UCSM1")) == 1
    with session_scope(bot.engine) as s:
        (esc,) = s.exec(select(Escalation)).all()  # its id: a sequence value the losers also drew
    opened = [a for a in answers if a and f"Escalation #{esc.id} opened" in a.get("text", "")]
    assert len(opened) >= 1 and all(a is not None and a.get("text") for a in answers)


def test_keys_are_forgotten_after_a_day_not_before(bot: Bot, replicas: Replicas) -> None:
    from bot.slack.request_keys import prune_request_keys

    def keys() -> list[str]:
        with session_scope(bot.engine) as s:
            return [r.key for r in s.exec(select(SlackRequest)).all()]

    bot.send.command("nps Acme Corp 8 fine", user_id="UCSM1")
    first = keys()
    assert len(first) == 1
    now = bot.clock.now()
    assert prune_request_keys(bot.engine, now + timedelta(minutes=5)) == 0  # kept past Slack's window
    bot.clock.advance(hours=23)
    bot.send.command("nps Acme Corp 7 ok", user_id="UCSM1")
    assert len(keys()) == 2
    bot.clock.advance(hours=2)  # the first is now over a day old: the next write forgets it
    bot.send.command("nps Acme Corp 6 meh", user_id="UCSM1")
    assert first[0] not in keys() and len(keys()) == 2
