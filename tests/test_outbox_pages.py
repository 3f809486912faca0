"""A page is never lost and never doubled (PRODUCT.md §5, §6.3), under Slack's
faults: a long outage, a message Slack refuses for good, an escalations channel the
bot cannot reach, an answer lost after Slack stored the post, an answer after the
client's timeout, and a worker killed mid-batch. Each asserts on what the fake Slack
stored, every key counted. Time is the ManualClock; nothing sleeps."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
from slack_sdk import WebClient
from sqlalchemy.engine import Engine
from sqlmodel import select

from bot.app import build_client
from bot.clock import ManualClock
from bot.delivery.outbox import URGENT, enqueue
from bot.playground.fake_slack import FakeSlack
from bot.settings import Settings
from bot.slack.action_ids import ActionId
from jobs.outbox import NO_LINK, ClaimHeartbeat, DeliveryPolicy, claim_due, deliver_due
from models.db import session_scope
from models.tables import Account, Outbox
from tests.escalation_helpers import seed_team
from tests.harness import START, Bot

ESCALATIONS = [("Acme Corp", "UCSM1"), ("Globex", "UCSM2"), ("Acme Labs", "UCSM2")]


@pytest.fixture
def worker_client(settings: Settings) -> WebClient:
    """The delivery worker's client, as `csbot run` builds it."""
    return build_client(settings, retries=False, timeout=1)


def keys_stored(fake: FakeSlack) -> Counter[str]:
    """How many times each Outbox key is in Slack (every channel and DM, thread replies included)."""
    with fake._lock:
        messages = [m for msgs in fake.messages.values() for m in msgs]
    return Counter(
        m["metadata"]["event_payload"]["key"]
        for m in messages
        if (m.get("metadata") or {}).get("event_type") == "csbot_outbox"
    )


def row(engine: Engine, key: str) -> Outbox:
    with session_scope(engine) as s:
        return s.exec(select(Outbox).where(Outbox.key == key)).one()


def page_keys(escalation_id: int) -> list[str]:
    return [f"esc:{escalation_id}:parent", f"esc:{escalation_id}:open:thread", f"esc:{escalation_id}:open:dm"]


def outage_until(fake: FakeSlack, clock: ManualClock, until: Any) -> None:
    """Slack answers HTTP 500 to every Web API call while the ManualClock is before `until`."""
    original = fake._handle_api

    def handle(handler: Any, method: str, query: str, raw: bytes, headers: Any) -> None:
        if clock.now() < until:
            fake.fail(method, status=500)
        original(handler, method, query, raw, headers)

    fake._handle_api = handle  # type: ignore[method-assign]


def run_worker(bot: Bot, client: WebClient, settings: Settings, seconds: float, step: float = 1.0) -> None:
    """The worker for `seconds` of the ManualClock: deliver what is due (a round that
    only marked rows dead can make the next one due), then wait `step`."""
    end = bot.clock.now() + timedelta(seconds=seconds)
    while bot.clock.now() < end:
        idle = 0
        while idle < 3:
            idle = 0 if deliver_due(bot.engine, client, bot.clock, admins=settings.admins) else idle + 1
        bot.clock.advance(seconds=step)


def escalate(bot: Bot, account: str, *, user_id: str = "UDIR1") -> str:
    response = bot.send.command(f"escalate {account} sev1 the site is down", user_id=user_id)
    assert response.status_code == 200
    return str(response.json()["text"])


def test_twelve_minutes_of_500s_three_sev1_pages_each_posted_once_within_a_minute_of_recovery(
    bot: Bot, worker_client: WebClient, settings: Settings
) -> None:
    seed_team(bot.engine, bot.clock)
    assert bot.send.command("help", user_id="UDIR1").status_code == 200  # the app checked its token
    recovery = START + timedelta(minutes=12)
    outage_until(bot.fake, bot.clock, recovery)
    for account, _ in ESCALATIONS:  # opened one minute apart, all during the outage
        reply = escalate(bot, account)
        assert "Its page is queued for <#CESC>" in reply and "I'll tell you if the page fails." in reply
        run_worker(bot, worker_client, settings, 60, step=5)
    assert keys_stored(bot.fake) == Counter()  # nothing got through the outage
    run_worker(bot, worker_client, settings, (recovery - bot.clock.now()).total_seconds(), step=5)
    assert bot.clock.now() == recovery

    run_worker(bot, worker_client, settings, 60)

    expected = [k for i in (1, 2, 3) for k in page_keys(i)]
    assert keys_stored(bot.fake) == Counter(expected)  # each exactly once, nothing else
    for key in expected:
        r = row(bot.engine, key)
        assert r.state == "sent" and r.sent_at is not None
        assert recovery <= r.sent_at <= recovery + timedelta(seconds=60), (key, r.sent_at)
    for i, (account, owner) in enumerate(ESCALATIONS, start=1):
        (dm,) = [
            m
            for m in bot.fake.messages_in(owner)
            if m["metadata"]["event_payload"]["key"].startswith(f"esc:{i}:")
        ]
        assert dm["text"].startswith(f":rotating_light: You were paged: SEV1 escalation for *{account}*")
        assert "https://fake.slack.com/archives/CESC/" in dm["text"]  # the link to its thread
    # Slack was tried all along (at least every 45 s per page), past the point where
    # a message that is not a page is given up on …
    for i in (1, 2, 3):
        assert row(bot.engine, f"esc:{i}:parent").attempts > DeliveryPolicy().max_failures
    assert bot.fake.messages_in("UADMIN") == []  # … and nothing died, so admins heard nothing


def test_one_message_refused_for_good_does_not_hold_back_the_other_pages_and_admins_are_told(
    bot: Bot, worker_client: WebClient, settings: Settings
) -> None:
    seed_team(bot.engine, bot.clock)
    for account, _ in ESCALATIONS:
        escalate(bot, account)
    bot.fake.fail("chat.postMessage", error="invalid_blocks")  # the first post: escalation #1's parent

    run_worker(bot, worker_client, settings, 1)

    assert row(bot.engine, "esc:1:parent").state == "dead"
    assert row(bot.engine, "esc:1:parent").last_error == "invalid_blocks"
    stored = keys_stored(bot.fake)
    for key in page_keys(2) + page_keys(3):
        assert stored[key] == 1
        assert row(bot.engine, key).sent_at == START  # on time: no clock moved
    assert stored["esc:1:parent"] == 0 and stored["esc:1:open:thread"] == 0
    # The owner is still paged by DM, without the link to a thread that does not exist.
    (page,) = [m["text"] for m in bot.fake.messages_in("UCSM1")]
    assert page.endswith(f"Acknowledge within 15 min: {NO_LINK}")
    # The opener hears what failed.
    (told,) = [m["text"] for m in bot.fake.messages_in("UDIR1")]
    assert told.startswith(":warning: I could not post escalation #1 (SEV1 for *Acme Corp*)")
    assert "(`invalid_blocks`)" in told
    # Admins get one DM listing the refused message (not the thread page that died with it), with Retry.
    (report,) = bot.fake.messages_in("UADMIN")
    parent_id = row(bot.engine, "esc:1:parent").id
    buttons = [b["accessory"] for b in report["blocks"] if b.get("accessory")]
    assert [(b["action_id"], b["value"]) for b in buttons] == [(ActionId.OUTBOX_RETRY, str(parent_id))]
    assert "esc:1:parent" in report["text"] and "invalid_blocks" in report["text"]


def test_a_failing_message_is_retried_on_its_own_schedule_and_never_blocks_its_channel(
    engine: Engine, worker_client: WebClient, clock: ManualClock, fake_slack: FakeSlack
) -> None:
    with session_scope(engine) as s:
        enqueue(s, clock, key="digest:1", text="weekly digest", channel="CESC")
        enqueue(s, clock, key="page:2", text="SEV1 page", channel="CESC", priority=URGENT)
        enqueue(s, clock, key="alert:3", text="at risk", channel="CESC")
    fake_slack.fail("chat.postMessage", status=500, times=1)  # the page's first try (pages go first)
    for _ in range(3):
        deliver_due(engine, worker_client, clock)
    # The page is waiting out its backoff; the digest and the alert behind it went out.
    assert keys_stored(fake_slack) == Counter({"digest:1": 1, "alert:3": 1})
    assert [m["text"] for m in fake_slack.messages_in("CESC")] == ["weekly digest", "at risk"]
    assert row(engine, "page:2").state == "pending" and row(engine, "page:2").failures == 1
    clock.advance(seconds=2)
    assert deliver_due(engine, worker_client, clock) == 1
    assert keys_stored(fake_slack) == Counter({"digest:1": 1, "alert:3": 1, "page:2": 1})


def test_escalations_channel_unreachable_opener_told_owner_dm_paged_admins_told_then_retry_posts_each_once(
    bot: Bot, worker_client: WebClient, settings: Settings
) -> None:
    seed_team(bot.engine, bot.clock)
    bot.fake.add_channel("CESC", name="escalations", private=True, bot_is_member=False)  # never invited
    reply = escalate(bot, "Acme Corp", user_id="UCSM2")
    assert reply.startswith(":rotating_light: Escalation #1 opened: SEV1 for *Acme Corp*, owner <@UCSM1>.")

    run_worker(bot, worker_client, settings, 1)

    parent_row = row(bot.engine, "esc:1:parent")
    assert (parent_row.state, parent_row.last_error, parent_row.attempts) == ("dead", "channel_not_found", 1)
    (told,) = [m["text"] for m in bot.fake.messages_in("UCSM2")]
    assert told == (
        ":warning: I could not post escalation #1 (SEV1 for *Acme Corp*): the escalations channel <#CESC> "
        "refused the post (`channel_not_found`). Invite me with `/invite @csbot` there — I will page "
        "<@UCSM1> by DM meanwhile. The admins are told and can retry it."
    )
    (page,) = [m["text"] for m in bot.fake.messages_in("UCSM1")]
    assert page.startswith(":rotating_light: You were paged: SEV1 escalation for *Acme Corp*")
    assert page.endswith(NO_LINK)
    (report,) = bot.fake.messages_in("UADMIN")
    (button,) = [b["accessory"] for b in report["blocks"] if b.get("accessory")]
    assert button["value"] == str(parent_row.id)

    # Someone who is not an admin cannot retry.
    refused = bot.send.block_action(ActionId.OUTBOX_RETRY, value=button["value"], user_id="UCSM2")
    assert refused.status_code == 200
    assert bot.fake.wait_for(lambda: len(bot.fake.responses) == 1)
    assert bot.fake.responses[-1].body["text"].startswith("Only an *admin* can retry undelivered messages")
    assert row(bot.engine, "esc:1:parent").state == "dead"

    bot.fake.invite_bot("CESC")  # /invite @csbot
    clicked = bot.send.block_action(
        ActionId.OUTBOX_RETRY,
        value=button["value"],
        user_id="UADMIN",
        channel_id=bot.fake.dm_channel_id("UADMIN"),
    )
    assert clicked.status_code == 200
    assert bot.fake.wait_for(lambda: len(bot.fake.responses) == 2)
    assert bot.fake.responses[-1].body["text"] == (
        f"Queued message {parent_row.id} (esc:1:parent) for CESC again, with 1 message(s) that wait for it; "
        "the bot will send them now."
    )
    run_worker(bot, worker_client, settings, 1)

    stored = keys_stored(bot.fake)
    assert [stored[k] for k in page_keys(1)] == [1, 1, 1]  # parent, thread page, DM: once each
    (parent_msg,) = [m for m in bot.fake.messages_in("CESC") if m.get("thread_ts") in (None, m["ts"])]
    (thread_page,) = [m["text"] for m in bot.fake.messages_in("CESC", thread_ts=parent_msg["ts"])[1:]]
    assert thread_page.startswith("<@UCSM1>, you own this SEV1 escalation for *Acme Corp*")
    assert len(bot.fake.messages_in("UADMIN")) == 1  # nothing new died


def test_csbot_outbox_retry_requeues_the_message_with_the_ones_that_wait_for_it(
    bot: Bot, worker_client: WebClient, settings: Settings, db_url: str
) -> None:
    from click.testing import CliRunner

    from bot.cli import main

    seed_team(bot.engine, bot.clock)
    bot.fake.add_channel("CESC", name="escalations", private=True, bot_is_member=False)
    escalate(bot, "Acme Corp", user_id="UCSM2")
    run_worker(bot, worker_client, settings, 1)
    assert row(bot.engine, "esc:1:open:thread").state == "dead"
    bot.fake.invite_bot("CESC")
    parent_id = row(bot.engine, "esc:1:parent").id
    out = CliRunner().invoke(main, ["outbox", "retry", str(parent_id)], env={"DATABASE_URL": db_url})
    assert out.exit_code == 0
    assert out.output.strip() == (
        f"Queued message {parent_id} (esc:1:parent) for CESC again, with 1 message(s) that wait for it; "
        "the bot will send them now."
    )
    run_worker(bot, worker_client, settings, 1)
    stored = keys_stored(bot.fake)
    assert [stored[k] for k in page_keys(1)] == [1, 1, 1]


def test_slack_stores_the_post_then_drops_the_connection_no_duplicate(
    engine: Engine, worker_client: WebClient, clock: ManualClock, fake_slack: FakeSlack
) -> None:
    with session_scope(engine) as s:
        enqueue(s, clock, key="esc:7:parent", text="SEV1 page", channel="CESC", priority=URGENT)
    fake_slack.fail("chat.postMessage", drop=True)
    assert deliver_due(engine, worker_client, clock) == 0
    assert keys_stored(fake_slack) == Counter({"esc:7:parent": 1})  # Slack has it; the answer was lost
    assert row(engine, "esc:7:parent").in_doubt
    clock.advance(seconds=DeliveryPolicy().backoff_base)
    assert deliver_due(engine, worker_client, clock) == 1
    assert keys_stored(fake_slack) == Counter({"esc:7:parent": 1})
    assert len(fake_slack.calls_to("chat.postMessage")) == 1  # found in the history, not posted again
    assert row(engine, "esc:7:parent").posted_ts == fake_slack.messages_in("CESC")[0]["ts"]


def test_the_fake_drop_is_what_made_slack_sdks_default_retry_post_twice(fake_slack: FakeSlack) -> None:
    """The control: a WebClient with slack-sdk's default retry re-sends the dropped post."""
    client = WebClient(token=fake_slack.bot_token, base_url=fake_slack.api_url, timeout=5)
    fake_slack.fail("chat.postMessage", drop=True)
    client.chat_postMessage(channel="CESC", text="SEV1 page")
    assert [m["text"] for m in fake_slack.messages_in("CESC")] == ["SEV1 page", "SEV1 page"]


def test_slack_answers_after_the_client_timeout_no_duplicate(
    engine: Engine, worker_client: WebClient, clock: ManualClock, fake_slack: FakeSlack
) -> None:
    with session_scope(engine) as s:
        enqueue(s, clock, key="esc:8:parent", text="SEV1 page", channel="CESC", priority=URGENT)
    fake_slack.fail("chat.postMessage", late=True)
    assert deliver_due(engine, worker_client, clock) == 0  # the client gave up after its timeout
    assert keys_stored(fake_slack) == Counter()  # and Slack has not stored it yet
    clock.advance(seconds=DeliveryPolicy().backoff_base * 2)  # when the old worker posted again
    assert deliver_due(engine, worker_client, clock) == 0
    assert len(fake_slack.calls_to("chat.postMessage")) == 1
    fake_slack.release_hangs()  # Slack finishes the first post, late
    assert fake_slack.wait_for(lambda: keys_stored(fake_slack) == Counter({"esc:8:parent": 1}))
    clock.advance(seconds=DeliveryPolicy().after_timeout)
    assert deliver_due(engine, worker_client, clock) == 1
    assert keys_stored(fake_slack) == Counter({"esc:8:parent": 1})
    assert len(fake_slack.calls_to("chat.postMessage")) == 1
    assert row(engine, "esc:8:parent").state == "sent"


class _Killed(BaseException):
    """The worker process dies (SIGKILL): nothing after this line runs, no cleanup."""


def test_worker_killed_mid_batch_the_next_resumes_within_15_seconds_nothing_doubled(
    engine: Engine, worker_client: WebClient, clock: ManualClock, fake_slack: FakeSlack, settings: Settings
) -> None:
    channels = [f"CK{i:02d}" for i in range(20)]
    for c in channels:
        fake_slack.add_channel(c)
    with session_scope(engine) as s:
        for i, c in enumerate(channels):
            enqueue(s, clock, key=f"page:{i}", text=f"page {i}", channel=c, priority=URGENT)
    doomed = build_client(settings, retries=False)
    real_post = doomed.chat_postMessage
    posts = [0]

    def post_then_die(**kwargs: Any) -> Any:
        answer = real_post(**kwargs)
        posts[0] += 1
        if posts[0] == 8:
            raise _Killed()  # Slack stored the 8th post; the worker dies before recording it
        return answer

    doomed.chat_postMessage = post_then_die  # type: ignore[method-assign]
    with pytest.raises(_Killed):
        deliver_due(engine, doomed, clock, limit=20)
    assert sum(keys_stored(fake_slack).values()) == 8

    assert deliver_due(engine, worker_client, clock) == 0  # the dead worker's claims still stand …
    waited = timedelta(0)
    while deliver_due(engine, worker_client, clock) == 0:
        clock.advance(seconds=1)
        waited += timedelta(seconds=1)
    assert waited <= timedelta(seconds=15)  # … for seconds, not minutes
    while deliver_due(engine, worker_client, clock):
        pass
    assert keys_stored(fake_slack) == Counter({f"page:{i}": 1 for i in range(20)})
    assert len(fake_slack.calls_to("chat.postMessage")) == 20  # the 8th was found in history


def test_a_live_workers_heartbeat_keeps_its_claims(engine: Engine, clock: ManualClock) -> None:
    with session_scope(engine) as s:
        enqueue(s, clock, key="page:slow", text="a page whose send is slow", channel="CESC", priority=URGENT)
    policy = DeliveryPolicy()
    (claim,) = claim_due(engine, clock, policy=policy)
    heartbeat = ClaimHeartbeat(engine, clock, policy)
    heartbeat.hold(claim.token, claim.claimed_until)
    for _ in range(3):  # a send slower than the lease, with the heartbeat beating
        clock.advance(seconds=policy.lease * 0.6)
        heartbeat.beat()
        assert claim_due(engine, clock, policy=policy) == []  # nobody else takes it
    heartbeat.drop(claim.token)
    clock.advance(seconds=policy.lease)  # the worker died: its claim runs out
    (taken,) = claim_due(engine, clock, policy=policy)
    assert taken.key == "page:slow" and taken.in_doubt


def test_the_delivery_client_retries_nothing_by_itself(settings: Settings) -> None:
    assert build_client(settings, retries=False).retry_handlers == []


def test_two_workers_at_once_still_send_every_page_once(
    engine: Engine, settings: Settings, clock: ManualClock, fake_slack: FakeSlack
) -> None:
    """Pages in threads, with failures sprinkled in, two workers at once: once each, replies in order."""
    with session_scope(engine) as s:
        for e in range(5):
            enqueue(s, clock, key=f"p:{e}", text=f"parent {e}", channel="CESC", priority=URGENT)
            for r in range(4):
                enqueue(
                    s, clock, key=f"p:{e}:r:{r}", text=f"reply {e}.{r}", channel="CESC", thread_key=f"p:{e}"
                )
    fake_slack.fail("chat.postMessage", status=500, times=6)
    errors: list[BaseException] = []

    def work() -> None:
        client = build_client(settings, retries=False)
        try:
            for _ in range(400):
                if sum(keys_stored(fake_slack).values()) == 25:
                    return
                if deliver_due(engine, client, clock, limit=5) == 0:
                    clock.advance(seconds=0.5)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    assert keys_stored(fake_slack) == Counter(
        [f"p:{e}" for e in range(5)] + [f"p:{e}:r:{r}" for e in range(5) for r in range(4)]
    )
    for e in range(5):
        (parent_msg,) = [m for m in fake_slack.messages_in("CESC") if m["text"] == f"parent {e}"]
        replies = [m["text"] for m in fake_slack.messages_in("CESC", thread_ts=parent_msg["ts"])[1:]]
        assert replies == [f"reply {e}.{r}" for r in range(4)]  # a thread keeps its order


def test_the_openers_follow_up_shows_an_imported_account_name_as_text(
    bot: Bot, worker_client: WebClient, settings: Settings
) -> None:
    """The follow-up about an unreachable escalations channel names the account: a name
    from a CSV import must not ping the opener's DM or hide a link there."""
    from tests.hostile import HOSTILE_NAME, violations

    seed_team(bot.engine, bot.clock)
    with session_scope(bot.engine) as s:
        acme = s.exec(select(Account).where(Account.name == "Acme Corp")).one()
        acme.name = HOSTILE_NAME
    bot.deps.accounts.invalidate()
    bot.fake.add_channel("CESC", name="escalations", private=True, bot_is_member=False)
    escalate(bot, "Evilcorp", user_id="UCSM2")
    run_worker(bot, worker_client, settings, 1)

    (told,) = bot.fake.messages_in("UCSM2")
    assert told["text"].startswith(":warning: I could not post escalation #1 (SEV1 for *Evilcorp ")
    assert "&amp;" in told["text"] and "<!channel>" not in told["text"]
    assert violations(told, "opener follow-up") == []
