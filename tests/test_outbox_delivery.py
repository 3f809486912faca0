"""Delivery under Slack's failures (PRODUCT.md §6.1): nothing lost, nothing posted
twice, Slack's rate limits respected. Time is the ManualClock; nothing sleeps."""

from __future__ import annotations

import random
import threading
from datetime import timedelta
from typing import Any

import pytest
from click.testing import CliRunner
from slack_sdk import WebClient
from sqlalchemy.engine import Engine
from sqlmodel import select

import jobs.outbox as outbox_jobs
from bot.app import build_client
from bot.cli import main
from bot.clock import ManualClock
from bot.delivery.outbox import BULK, METADATA_EVENT_TYPE, URGENT, enqueue
from bot.playground.fake_slack import FakeSlack
from bot.settings import Settings
from jobs.outbox import DeliveryPolicy, OutboxWorker, deliver_due
from models.db import session_scope
from models.tables import Outbox
from tests.harness import START


@pytest.fixture
def client(settings: Settings) -> WebClient:
    return build_client(settings, retries=False)


def _row(engine: Engine, key: str) -> Outbox:
    with session_scope(engine) as s:
        row = s.exec(select(Outbox).where(Outbox.key == key)).one()
    return row


def _queue(engine: Engine, clock: ManualClock, key: str, text: str, **target: Any) -> None:
    with session_scope(engine) as s:
        enqueue(s, clock, key=key, text=text, **target)


def test_429_twice_waits_the_retry_after_then_posts_once(
    engine: Engine, client: WebClient, clock: ManualClock, fake_slack: FakeSlack
) -> None:
    fake_slack.fail("chat.postMessage", status=429, retry_after=30, times=2)
    _queue(engine, clock, "alert:1", "Acme is at risk", channel="CALERTS")

    assert deliver_due(engine, client, clock) == 0
    assert _row(engine, "alert:1").next_attempt_at == START + timedelta(seconds=30)
    clock.advance(seconds=29)
    assert deliver_due(engine, client, clock) == 0
    assert len(fake_slack.calls_to("chat.postMessage")) == 1  # nothing tried before the wait is over
    clock.advance(seconds=1)
    assert deliver_due(engine, client, clock) == 0  # the second 429
    assert len(fake_slack.calls_to("chat.postMessage")) == 2
    clock.advance(seconds=30)
    assert deliver_due(engine, client, clock) == 1

    assert [m["text"] for m in fake_slack.messages_in("CALERTS")] == ["Acme is at risk"]
    row = _row(engine, "alert:1")
    assert (row.state, row.attempts, row.sent_at) == ("sent", 3, START + timedelta(seconds=60))
    # A 429 means Slack did not post it: no history look-up was needed.
    assert fake_slack.calls_to("conversations.history") == []


def test_500_three_times_retries_with_growing_delays_and_posts_once(
    engine: Engine, client: WebClient, clock: ManualClock, fake_slack: FakeSlack
) -> None:
    fake_slack.fail("chat.postMessage", status=500, times=3)
    _queue(engine, clock, "page:1", "Escalation: Acme", channel="CESC", priority=URGENT)
    policy = DeliveryPolicy(rng=random.Random(7))

    delays = []
    for _ in range(3):
        assert deliver_due(engine, client, clock, policy=policy) == 0
        row = _row(engine, "page:1")
        assert row.state == "pending" and row.last_error == "internal_error (HTTP 500)"
        delays.append(row.next_attempt_at - clock.now())
        clock.advance(delays[-1] - timedelta(milliseconds=1))
        assert deliver_due(engine, client, clock, policy=policy) == 0  # not before the delay
        clock.advance(milliseconds=1)
    assert deliver_due(engine, client, clock, policy=policy) == 1

    assert delays[0] < delays[1] < delays[2]
    assert timedelta(seconds=1) <= delays[0] <= timedelta(seconds=2)
    assert [m["text"] for m in fake_slack.messages_in("CESC")] == ["Escalation: Acme"]
    assert len(fake_slack.calls_to("chat.postMessage")) == 4
    # A 500 may come after Slack posted: each retry looked for the key first.
    assert len(fake_slack.calls_to("conversations.history")) == 3
    row = _row(engine, "page:1")
    assert (row.state, row.attempts, row.failures) == ("sent", 4, 3)


def test_gives_up_after_max_failures(
    engine: Engine, client: WebClient, clock: ManualClock, fake_slack: FakeSlack
) -> None:
    fake_slack.fail("chat.postMessage", status=503, times=3)
    _queue(engine, clock, "digest:1", "Weekly digest", channel="CDIGEST")
    policy = DeliveryPolicy(max_failures=3, rng=random.Random(1))
    for _ in range(3):
        deliver_due(engine, client, clock, policy=policy)
        clock.advance(minutes=10)
    row = _row(engine, "digest:1")
    assert row.state == "dead"
    assert row.last_error == "gave up after 3 failed attempts: internal_error (HTTP 503)"
    assert fake_slack.messages_in("CDIGEST") == []


def test_permanent_error_is_dead_at_once_shown_by_csbot_outbox_and_retried(
    engine: Engine, client: WebClient, clock: ManualClock, fake_slack: FakeSlack, db_url: str
) -> None:
    _queue(engine, clock, "alert:nobot", "Acme is at risk", channel="CNOBOT")
    _queue(engine, clock, "alert:ok", "Beta is at risk", channel="CALERTS")
    assert deliver_due(engine, client, clock) == 1
    row = _row(engine, "alert:nobot")
    assert (row.state, row.last_error, row.attempts) == ("dead", "not_in_channel", 1)
    assert len(fake_slack.calls_to("chat.postMessage")) == 2  # never retried
    clock.advance(hours=1)
    assert deliver_due(engine, client, clock) == 0
    assert len(fake_slack.calls_to("chat.postMessage")) == 2

    runner = CliRunner()
    env = {"DATABASE_URL": db_url}
    listing = runner.invoke(main, ["outbox"], env=env, catch_exceptions=False)
    assert listing.exit_code == 0
    lines = listing.output.splitlines()
    assert lines[0].startswith("1 message(s) could not be delivered")
    assert lines[2].split() == [str(row.id), "alert:nobot", "CNOBOT", "1", "not_in_channel"]

    fake_slack.channels["CNOBOT"]["bot_is_member"] = True  # someone invited the bot
    retried = runner.invoke(main, ["outbox", "retry", str(row.id)], env=env, catch_exceptions=False)
    assert retried.exit_code == 0
    assert (
        retried.output.strip()
        == f"Queued message {row.id} (alert:nobot) for CNOBOT again; the bot will send it now."
    )
    assert deliver_due(engine, client, clock) == 1
    assert [m["text"] for m in fake_slack.messages_in("CNOBOT")] == ["Acme is at risk"]
    assert runner.invoke(main, ["outbox"], env=env).output.startswith("No dead messages")
    again = runner.invoke(main, ["outbox", "retry", str(row.id)], env=env)
    assert again.exit_code == 1 and "is sent, not dead" in again.output


def test_thread_reply_waits_for_a_dead_parent_then_dies_with_it(
    engine: Engine, client: WebClient, clock: ManualClock, fake_slack: FakeSlack
) -> None:
    _queue(engine, clock, "p", "parent", channel="CNOBOT")
    _queue(engine, clock, "r", "reply", channel="CNOBOT", thread_key="p")
    while deliver_due(engine, client, clock):
        pass
    deliver_due(engine, client, clock)
    assert _row(engine, "r").state == "dead"
    assert _row(engine, "r").last_error == "the message it depends on (p) could not be posted: not_in_channel"


class _Crash(BaseException):
    """The process dies (as with SIGKILL) after Slack answered, before the ts is stored."""


@pytest.mark.parametrize("in_thread", [False, True], ids=["channel", "thread"])
def test_crash_after_slack_answered_does_not_post_twice(
    engine: Engine,
    client: WebClient,
    clock: ManualClock,
    fake_slack: FakeSlack,
    monkeypatch: pytest.MonkeyPatch,
    in_thread: bool,
) -> None:
    target: dict[str, Any] = {"channel": "CESC"}
    if in_thread:
        parent_ts = fake_slack.add_message("CESC", "a customer thread", user="UCSM1")
        target["thread_ts"] = parent_ts
    _queue(engine, clock, "esc:9:parent", "Escalation: Acme", **target)
    real_record = outbox_jobs._record_sent

    def crash(*args: Any, **kwargs: Any) -> None:
        raise _Crash()

    monkeypatch.setattr(outbox_jobs, "_record_sent", crash)
    with pytest.raises(_Crash):
        deliver_due(engine, client, clock)
    monkeypatch.setattr(outbox_jobs, "_record_sent", real_record)

    posted = [m for m in fake_slack.messages_in("CESC") if m["text"] == "Escalation: Acme"]
    assert len(posted) == 1  # Slack has it; our row does not know
    row = _row(engine, "esc:9:parent")
    assert (row.state, row.posted_ts, row.in_doubt) == ("pending", None, True)

    # "Restart": a new worker finds the row once the dead worker's claim expires.
    assert deliver_due(engine, client, clock) == 0  # still claimed by the dead worker
    clock.advance(seconds=DeliveryPolicy().lease)
    assert deliver_due(engine, client, clock) == 1

    again = [m for m in fake_slack.messages_in("CESC") if m["text"] == "Escalation: Acme"]
    assert again == posted  # not posted twice
    assert len(fake_slack.calls_to("chat.postMessage")) == 1
    looked = "conversations.replies" if in_thread else "conversations.history"
    assert fake_slack.calls_to(looked)[-1].args["include_all_metadata"] in ("1", "true", True)
    row = _row(engine, "esc:9:parent")
    assert (row.state, row.posted_ts, row.posted_channel) == ("sent", posted[0]["ts"], "CESC")
    assert posted[0]["metadata"] == {
        "event_type": METADATA_EVENT_TYPE,
        "event_payload": {"key": "esc:9:parent"},
    }


def _rate_limit_like_slack(fake: FakeSlack, clock: ManualClock, *, burst: int) -> list[tuple[str, float]]:
    """Make the fake enforce Slack's per-channel chat.postMessage limit on the
    ManualClock: about one message per second, `burst` at once after a quiet
    spell; beyond that it answers 429 with Retry-After: 1. Returns the log of
    (text, clock second) of every message it accepted."""
    original = fake._handle_api
    allowance: dict[str, tuple[float, float]] = {}  # channel -> (tokens, at)
    accepted: list[tuple[str, float]] = []
    lock = threading.Lock()

    def handle(handler: Any, method: str, query: str, raw: bytes, headers: Any) -> None:
        if method == "chat.postMessage":
            from bot.playground.fake_slack import _parse_body

            args = _parse_body(headers.get("Content-Type", ""), raw)
            now = (clock.now() - START).total_seconds()
            with lock:
                tokens, at = allowance.get(args.get("channel", ""), (float(burst), now))
                tokens = min(float(burst), tokens + (now - at))
                if tokens >= 1:
                    allowance[args["channel"]] = (tokens - 1, now)
                    accepted.append((args.get("text", ""), now))
                else:
                    allowance[args["channel"]] = (tokens, now)
                    fake.fail("chat.postMessage", status=429, retry_after=1)
        original(handler, method, query, raw, headers)

    fake._handle_api = handle  # type: ignore[method-assign]
    return accepted


def _drain(engine: Engine, client: WebClient, clock: ManualClock, policy: DeliveryPolicy, until: Any) -> None:
    for _ in range(5000):
        if until():
            return
        if deliver_due(engine, client, clock, policy=policy) == 0:
            clock.advance(seconds=0.25)
    raise AssertionError("delivery did not finish")


def test_200_messages_to_one_channel_go_out_in_order_paced_without_429s(
    engine: Engine, client: WebClient, clock: ManualClock, fake_slack: FakeSlack
) -> None:
    accepted = _rate_limit_like_slack(fake_slack, clock, burst=15)
    with session_scope(engine) as s:
        for i in range(200):
            enqueue(s, clock, key=f"bulk:{i}", text=f"row {i}", channel="CDIGEST", priority=BULK)
    policy = DeliveryPolicy()
    page_sent_at: list[float] = []

    def done() -> bool:
        if len(accepted) == 100 and not page_sent_at:
            # A page to the same channel mid-way must not wait behind the bulk rows.
            _queue(engine, clock, "page:1", "PAGE", channel="CDIGEST", priority=URGENT)
            assert deliver_due(engine, client, clock, policy=policy) >= 1
            page_sent_at.append((clock.now() - START).total_seconds())
        return len(fake_slack.messages_in("CDIGEST")) == 201

    _drain(engine, client, clock, policy, done)

    texts = [m["text"] for m in fake_slack.messages_in("CDIGEST")]
    assert [t for t in texts if t != "PAGE"] == [f"row {i}" for i in range(200)]
    assert [c for c in fake_slack.calls if c.status == 429] == []
    assert len(fake_slack.calls_to("chat.postMessage")) == 201
    # About one per second: after the first burst, never ahead of one a second.
    bulk_times = [t for text, t in accepted if text != "PAGE"]
    for i, t in enumerate(bulk_times):
        assert t >= i - (policy.pace_burst - 1)
    assert bulk_times[-1] <= 200  # and not much slower either
    assert [t for text, t in accepted if text == "PAGE"] == page_sent_at


def test_without_pacing_the_same_queue_sets_off_a_429_storm(
    engine: Engine, client: WebClient, clock: ManualClock, fake_slack: FakeSlack
) -> None:
    """The control for the test above: the fake's limit does bite when we do not pace."""
    _rate_limit_like_slack(fake_slack, clock, burst=15)
    with session_scope(engine) as s:
        for i in range(60):
            enqueue(s, clock, key=f"bulk:{i}", text=f"row {i}", channel="CDIGEST", priority=BULK)
    policy = DeliveryPolicy(pace_burst=10**6)
    _drain(engine, client, clock, policy, lambda: len(fake_slack.messages_in("CDIGEST")) == 60)
    assert len([c for c in fake_slack.calls if c.status == 429]) > 20


def test_two_workers_at_once_send_each_message_once_in_order(
    engine: Engine, settings: Settings, clock: ManualClock, fake_slack: FakeSlack
) -> None:
    channels = ["CGENERAL", "CESC", "CALERTS", "CDIGEST"]
    with session_scope(engine) as s:
        for i in range(80):
            enqueue(s, clock, key=f"m:{i}", text=f"m {i}", channel=channels[i % 4])
    policy = DeliveryPolicy(pace_burst=10**6)
    errors: list[BaseException] = []
    go = threading.Barrier(2)

    def work() -> None:
        client = build_client(settings, retries=False)
        try:
            go.wait(timeout=10)
            for _ in range(500):
                if sum(len(fake_slack.messages_in(c)) for c in channels) == 80:
                    return
                deliver_due(engine, client, clock, limit=5, policy=policy)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == [] and not any(t.is_alive() for t in threads)
    for n, channel in enumerate(channels):
        assert [m["text"] for m in fake_slack.messages_in(channel)] == [f"m {i}" for i in range(n, 80, 4)]
    assert len(fake_slack.calls_to("chat.postMessage")) == 80


def test_worker_sends_at_once_when_woken_after_a_commit(
    engine: Engine, client: WebClient, clock: ManualClock, fake_slack: FakeSlack
) -> None:
    wakeup = threading.Event()
    worker = OutboxWorker(engine, client, clock, wakeup=wakeup, poll_seconds=3600).start()
    try:
        assert worker.idle.wait(10)  # nothing to send: it now waits an hour for its next poll…
        _queue(engine, clock, "esc:1:parent", "Escalation: Acme", channel="CESC", priority=URGENT)
        _queue(
            engine, clock, "esc:1:reply", "<@UCSM1> you own this", channel="CESC", thread_key="esc:1:parent"
        )
        wakeup.set()  # …unless woken, as Deps.wake_outbox does after the commit
        assert fake_slack.wait_for(lambda: len(fake_slack.messages_in("CESC")) == 2, timeout=10)
    finally:
        worker.stop()
    parent, reply = fake_slack.messages_in("CESC")
    assert (parent["text"], reply["text"], reply["thread_ts"]) == (
        "Escalation: Acme",
        "<@UCSM1> you own this",
        parent["ts"],
    )


def test_timeout_then_history_unreadable_posts_rather_than_loses_the_page(
    engine: Engine, settings: Settings, clock: ManualClock, fake_slack: FakeSlack
) -> None:
    from bot.app import build_client as build

    client = build(settings, retries=False, timeout=1)
    fake_slack.fail("chat.postMessage", hang=True)  # Slack never answers: did it post?
    _queue(engine, clock, "page:2", "Escalation: Beta", channel="CESC", priority=URGENT)
    assert deliver_due(engine, client, clock) == 0
    row = _row(engine, "page:2")
    assert (row.state, row.in_doubt) == ("pending", True)
    assert row.last_error is not None and "timed out" in row.last_error
    fake_slack.release_hangs()
    fake_slack.fail("conversations.history", error="missing_scope")
    clock.advance(seconds=DeliveryPolicy().after_timeout)  # a late post would be in the history by now
    assert deliver_due(engine, client, clock) == 1
    assert [m["text"] for m in fake_slack.messages_in("CESC")] == ["Escalation: Beta"]
    assert len(fake_slack.calls_to("conversations.history")) == 1


def test_a_row_that_depends_on_a_message_never_queued_is_dead(
    engine: Engine, client: WebClient, clock: ManualClock, fake_slack: FakeSlack
) -> None:
    _queue(engine, clock, "upd:orphan", "edited", update_key="no-such-message")
    assert deliver_due(engine, client, clock) == 0
    row = _row(engine, "upd:orphan")
    assert (row.state, row.last_error) == (
        "dead",
        "the message it depends on (no-such-message) was never queued",
    )
    assert fake_slack.calls_to("chat.update") == []


def test_an_unexpected_error_on_one_row_does_not_hold_up_the_others(
    engine: Engine, client: WebClient, fake_slack: FakeSlack, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = ManualClock(START)
    _queue(engine, clock, "dm:broken", "to a DM Slack answers oddly", dm_user="UCSM1", priority=URGENT)
    _queue(engine, clock, "page:1", "a page in the channel", channel="CESC", priority=URGENT)
    monkeypatch.setattr(client, "conversations_open", lambda **kwargs: {"ok": True})  # no "channel"
    assert deliver_due(engine, client, clock) == 1
    assert [m["text"] for m in fake_slack.messages_in("CESC")] == ["a page in the channel"]
    broken = _row(engine, "dm:broken")
    assert (broken.state, broken.failures) == ("pending", 1)
    assert broken.last_error is not None and broken.last_error.startswith("unexpected: KeyError")
    assert broken.next_attempt_at > clock.now()
