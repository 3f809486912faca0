"""Tests for tests/fake_slack.py: the fake must answer like Slack, or other tests prove nothing.

Everything goes through slack_sdk's real WebClient (and httpx for response_url), so the
encodings the bot actually sends (JSON bodies, form bodies, GET-style query strings) are
what is exercised here.  No test sleeps: waits are on the fake's condition variable.
"""

from __future__ import annotations

import json
import socket
import threading
import warnings
from collections.abc import Iterator
from http.client import RemoteDisconnected
from typing import Any
from urllib.error import URLError

import httpx
import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.playground.fake_slack import Call, FakeSlack, ResponseCall


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as f:
        f.add_channel("C1", name="general", members={"U1"})
        f.add_channel("C2", name="outside", bot_is_member=False)
        f.add_user("U1", name="alice", email="Alice@Example.com", tz="Europe/Paris")
        f.add_user("U2", name="bob", email="bob@example.com")
        yield f


@pytest.fixture
def client(fake: FakeSlack) -> WebClient:
    # No retry handlers: the default connection-error retry would back off on the wall clock.
    return WebClient(token=fake.bot_token, base_url=fake.api_url, timeout=10, retry_handlers=[])


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(trust_env=False, timeout=10) as c:
        yield c


def slack_error(fn: Any, *args: Any, **kwargs: Any) -> SlackApiError:
    with pytest.raises(SlackApiError) as info:
        fn(*args, **kwargs)
    return info.value


def err(fn: Any, *args: Any, **kwargs: Any) -> str:
    return slack_error(fn, *args, **kwargs).response["error"]


def section(text: str, **extra: Any) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}, **extra}


def button(text: str) -> dict[str, Any]:
    return {"type": "button", "text": {"type": "plain_text", "text": text}, "action_id": f"a-{text[:10]}"}


def modal(blocks: list[dict[str, Any]] | None = None, **extra: Any) -> dict[str, Any]:
    view = {
        "type": "modal",
        "title": {"type": "plain_text", "text": "Title"},
        "blocks": blocks or [section("x")],
    }
    view.update(extra)
    return view


# --------------------------------------------------------------------------- lifecycle and auth


def test_urls_and_context_manager() -> None:
    fake = FakeSlack()
    with pytest.raises(RuntimeError):
        _ = fake.api_url
    with fake as started:
        assert started is fake
        assert fake.base_url.startswith("http://127.0.0.1:")
        assert fake.api_url == fake.base_url + "/api/"
        assert WebClient(token=fake.bot_token, base_url=fake.api_url).auth_test()["ok"]
    with pytest.raises(RuntimeError):
        _ = fake.base_url


def test_auth_test_shape(client: WebClient, fake: FakeSlack) -> None:
    r = client.auth_test()
    assert r["user_id"] == "UBOT" and r["team_id"] == "T0001" and r["bot_id"]
    call = fake.calls_to("auth.test")[0]
    assert isinstance(call, Call)
    assert call.token == fake.bot_token
    assert call.headers["Authorization"] == f"Bearer {fake.bot_token}"  # case-insensitive lookup
    assert call.response == r.data and call.status == 200


def test_missing_token_is_not_authed(fake: FakeSlack) -> None:
    anon = WebClient(base_url=fake.api_url, retry_handlers=[])
    assert err(anon.chat_postMessage, channel="C1", text="hi") == "not_authed"
    assert fake.calls[-1].token is None
    assert fake.messages_in("C1") == []


def test_wrong_token_is_invalid_auth(fake: FakeSlack) -> None:
    wrong = WebClient(token="xoxb-nope", base_url=fake.api_url, retry_handlers=[])
    assert err(wrong.auth_test) == "invalid_auth"


def test_token_accepted_as_form_field(fake: FakeSlack) -> None:
    anon = WebClient(base_url=fake.api_url, retry_handlers=[])
    assert anon.api_call("auth.test", params={"token": fake.bot_token})["ok"]
    assert "token" not in fake.calls[-1].args


def test_unknown_method(client: WebClient) -> None:
    assert err(client.api_call, "chat.frobnicate") == "unknown_method"


def test_form_json_fields_and_query_string_are_decoded(client: WebClient, fake: FakeSlack) -> None:
    blocks = [section("from a form")]
    client.api_call(
        "chat.postMessage?unfurl_links=false", params={"channel": "C1", "blocks": json.dumps(blocks)}
    )
    call = fake.calls[-1]
    assert call.args["blocks"] == blocks
    assert call.args["unfurl_links"] == "false"
    assert fake.messages_in("C1")[0]["blocks"] == blocks


def test_garbled_blocks_json_is_invalid_blocks_format(client: WebClient) -> None:
    assert err(client.api_call, "chat.postMessage", params={"channel": "C1", "blocks": "[{"}) == (
        "invalid_blocks_format"
    )


# --------------------------------------------------------------------------- chat.postMessage


def test_post_message_shape_and_storage(client: WebClient, fake: FakeSlack) -> None:
    meta = {"event_type": "case_opened", "event_payload": {"id": 7}}
    r = client.chat_postMessage(channel="C1", text="hello", blocks=[section("hello")], metadata=meta)
    assert r["channel"] == "C1"
    assert r["ts"] == "1700000000.000100"
    msg = r["message"]
    assert msg["text"] == "hello" and msg["user"] == "UBOT" and msg["ts"] == r["ts"]
    assert msg["blocks"] == [section("hello")] and msg["metadata"] == meta
    stored = fake.messages_in("C1")
    assert stored == [fake.messages["C1"][0]]
    assert stored[0]["metadata"] == meta


def test_ts_strictly_increasing(client: WebClient) -> None:
    stamps = [client.chat_postMessage(channel="C1", text=str(i))["ts"] for i in range(5)]
    as_numbers = [tuple(int(p) for p in ts.split(".")) for ts in stamps]
    assert as_numbers == sorted(set(as_numbers))
    assert all(len(ts.split(".")[1]) == 6 for ts in stamps)


def test_thread_reply(client: WebClient, fake: FakeSlack) -> None:
    parent = client.chat_postMessage(channel="C1", text="parent")["ts"]
    r = client.chat_postMessage(channel="C1", text="reply", thread_ts=parent)
    assert r["message"]["thread_ts"] == parent
    thread = fake.messages_in("C1", thread_ts=parent)
    assert [m["text"] for m in thread] == ["parent", "reply"]
    assert thread[0]["reply_count"] == 1


def test_post_to_channel_by_name(client: WebClient) -> None:
    assert client.chat_postMessage(channel="#general", text="hi")["channel"] == "C1"


@pytest.mark.parametrize("channel", ["C404", "DNOPE", "U404", ""])
def test_post_to_unknown_channel(client: WebClient, channel: str) -> None:
    assert err(client.chat_postMessage, channel=channel, text="hi") == "channel_not_found"


def test_post_not_in_channel(client: WebClient, fake: FakeSlack) -> None:
    assert err(client.chat_postMessage, channel="C2", text="hi") == "not_in_channel"
    assert fake.messages_in("C2") == []


def test_post_needs_text_or_blocks(client: WebClient) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # slack_sdk warns about the missing text, as it should
        assert err(client.chat_postMessage, channel="C1") == "no_text"
        assert client.chat_postMessage(channel="C1", blocks=[section("only blocks")])["ok"]


def test_text_too_long(client: WebClient) -> None:
    assert client.chat_postMessage(channel="C1", text="x" * 40_000)["ok"]
    assert err(client.chat_postMessage, channel="C1", text="x" * 40_001) == "msg_too_long"


def test_dm_by_user_id_and_conversations_open(client: WebClient, fake: FakeSlack) -> None:
    opened = client.conversations_open(users="U1")["channel"]["id"]
    assert opened.startswith("D")
    assert client.conversations_open(users=["U1"])["channel"]["id"] == opened  # stable
    assert client.chat_postMessage(channel="U1", text="via user id")["channel"] == opened
    assert client.chat_postMessage(channel=opened, text="via D id")["channel"] == opened
    assert [m["text"] for m in fake.messages_in(opened)] == ["via user id", "via D id"]
    assert fake.messages_in("U1") == fake.messages_in(opened)
    assert fake.dm_channel_id("U1") == opened


def test_conversations_open_errors(client: WebClient) -> None:
    assert err(client.conversations_open, users="U404") == "user_not_found"
    assert err(client.api_call, "conversations.open", params={}) == "users_list_not_supplied"


def test_conversations_open_return_im(client: WebClient) -> None:
    ch = client.conversations_open(users="U2", return_im=True)["channel"]
    assert ch["is_im"] is True and ch["user"] == "U2"


# --------------------------------------------------------------------------- Block Kit limits


INVALID_BLOCKS = {
    "51 blocks": [section(str(i)) for i in range(51)],
    "section text over 3000": [section("x" * 3001)],
    "header over 150": [{"type": "header", "text": {"type": "plain_text", "text": "h" * 151}}],
    "26 actions elements": [{"type": "actions", "elements": [button(f"b{i}") for i in range(26)]}],
    "block without type": [{"text": {"type": "mrkdwn", "text": "no type"}}],
    "button text over 75": [{"type": "actions", "elements": [button("b" * 76)]}],
    "duplicate block_id": [section("a", block_id="same"), section("b", block_id="same")],
    "unknown block type": [{"type": "sectoin", "text": {"type": "mrkdwn", "text": "typo"}}],
    "mrkdwn header": [{"type": "header", "text": {"type": "mrkdwn", "text": "*bold*"}}],
    "11 section fields": [{"type": "section", "fields": [{"type": "mrkdwn", "text": "f"}] * 11}],
    "empty section text": [section("")],
}

VALID_BLOCKS = {
    "50 blocks": [section(str(i)) for i in range(50)],
    "section text of 3000": [section("x" * 3000)],
    "header of 150": [{"type": "header", "text": {"type": "plain_text", "text": "h" * 150}}],
    "25 actions elements": [{"type": "actions", "elements": [button(f"b{i}") for i in range(25)]}],
    "button text of 75": [{"type": "actions", "elements": [button("b" * 75)]}],
    "distinct block_ids": [section("a", block_id="one"), section("b", block_id="two"), {"type": "divider"}],
}


@pytest.mark.parametrize("blocks", INVALID_BLOCKS.values(), ids=INVALID_BLOCKS.keys())
def test_invalid_blocks_rejected(client: WebClient, fake: FakeSlack, blocks: list[dict[str, Any]]) -> None:
    e = slack_error(client.chat_postMessage, channel="C1", text="t", blocks=blocks)
    assert e.response["error"] == "invalid_blocks"
    assert e.response["errors"]  # Slack says which json-pointer was wrong
    assert fake.messages_in("C1") == []


@pytest.mark.parametrize("blocks", VALID_BLOCKS.values(), ids=VALID_BLOCKS.keys())
def test_blocks_at_the_limit_accepted(client: WebClient, blocks: list[dict[str, Any]]) -> None:
    assert client.chat_postMessage(channel="C1", text="t", blocks=blocks)["ok"]


def test_51_blocks_error_names_the_limit(client: WebClient) -> None:
    e = slack_error(client.chat_postMessage, channel="C1", text="t", blocks=INVALID_BLOCKS["51 blocks"])
    assert "must be less than 51 items [json-pointer:/blocks]" in e.response["errors"]


def test_invalid_metadata(client: WebClient) -> None:
    assert (
        err(client.chat_postMessage, channel="C1", text="t", metadata={"nope": 1})
        == "invalid_metadata_format"
    )


# ------------------------------------------------------------------ chat.update / ephemeral / permalink


def test_chat_update(client: WebClient, fake: FakeSlack) -> None:
    ts = client.chat_postMessage(channel="C1", text="v1", blocks=[section("v1")])["ts"]
    r = client.chat_update(
        channel="C1",
        ts=ts,
        text="v2",
        blocks=[section("v2")],
        metadata={"event_type": "e", "event_payload": {"v": 2}},
    )
    assert r["ts"] == ts and r["text"] == "v2" and r["message"]["blocks"] == [section("v2")]
    stored = fake.messages_in("C1")
    assert len(stored) == 1
    assert stored[0]["text"] == "v2" and stored[0]["metadata"]["event_payload"] == {"v": 2}
    assert "edited" in stored[0]
    assert fake.calls_to("chat.update")[0].args["ts"] == ts


def test_chat_update_errors(client: WebClient, fake: FakeSlack) -> None:
    client.chat_postMessage(channel="C1", text="v1")
    assert err(client.chat_update, channel="C1", ts="1.000001", text="x") == "message_not_found"
    assert err(client.chat_update, channel="C404", ts="1.000001", text="x") == "channel_not_found"
    human = fake.add_message("C1", "typed by alice", user="U1")
    assert err(client.chat_update, channel="C1", ts=human, text="x") == "cant_update_message"
    ts = fake.messages_in("C1")[0]["ts"]
    bad = [section("x" * 3001)]
    assert err(client.chat_update, channel="C1", ts=ts, text="x", blocks=bad) == "invalid_blocks"


def test_post_ephemeral(client: WebClient, fake: FakeSlack) -> None:
    r = client.chat_postEphemeral(channel="C1", user="U1", text="only you")
    assert r["message_ts"]
    assert fake.ephemerals[0]["recipient"] == "U1" and fake.ephemerals[0]["text"] == "only you"
    assert fake.messages_in("C1") == []  # ephemeral messages are not in the channel
    assert err(client.chat_postEphemeral, channel="C1", user="U2", text="x") == "user_not_in_channel"
    assert err(client.chat_postEphemeral, channel="C404", user="U1", text="x") == "channel_not_found"


def test_get_permalink(client: WebClient) -> None:
    ts = client.chat_postMessage(channel="C1", text="link me")["ts"]
    r = client.chat_getPermalink(channel="C1", message_ts=ts)
    assert r["permalink"] == f"https://fake.slack.com/archives/C1/p{ts.replace('.', '')}"
    assert err(client.chat_getPermalink, channel="C404", message_ts=ts) == "channel_not_found"


# --------------------------------------------------------------------------- conversations.*


def test_history_newest_first_with_window_and_limit(client: WebClient, fake: FakeSlack) -> None:
    stamps = [client.chat_postMessage(channel="C1", text=f"m{i}")["ts"] for i in range(4)]
    r = client.conversations_history(channel="C1")
    assert [m["text"] for m in r["messages"]] == ["m3", "m2", "m1", "m0"]
    assert r["has_more"] is False
    assert [m["text"] for m in client.conversations_history(channel="C1", limit=2)["messages"]] == [
        "m3",
        "m2",
    ]
    window = client.conversations_history(channel="C1", oldest=stamps[0], latest=stamps[3])
    assert [m["text"] for m in window["messages"]] == ["m2", "m1"]  # both bounds exclusive, like Slack
    inclusive = client.conversations_history(channel="C1", oldest=stamps[0], latest=stamps[3], inclusive=True)
    assert len(inclusive["messages"]) == 4


def test_history_pagination_cursor(client: WebClient) -> None:
    for i in range(3):
        client.chat_postMessage(channel="C1", text=f"m{i}")
    first = client.conversations_history(channel="C1", limit=2)
    assert first["has_more"] is True
    cursor = first["response_metadata"]["next_cursor"]
    rest = client.conversations_history(channel="C1", limit=2, cursor=cursor)
    assert [m["text"] for m in rest["messages"]] == ["m0"] and rest["has_more"] is False


def test_history_metadata_only_when_asked(client: WebClient) -> None:
    meta = {"event_type": "digest", "event_payload": {"week": 3}}
    client.chat_postMessage(channel="C1", text="with meta", metadata=meta)
    plain = client.conversations_history(channel="C1")["messages"][0]
    assert "metadata" not in plain
    full = client.conversations_history(channel="C1", include_all_metadata=True)["messages"][0]
    assert full["metadata"] == meta


def test_history_hides_thread_replies_and_shows_seeded_messages(client: WebClient, fake: FakeSlack) -> None:
    parent = fake.add_message("C1", "question", user="U1")
    client.chat_postMessage(channel="C1", text="answer", thread_ts=parent)
    msgs = client.conversations_history(channel="C1")["messages"]
    assert [m["text"] for m in msgs] == ["question"]
    assert msgs[0]["user"] == "U1" and msgs[0]["reply_count"] == 1


def test_history_errors(client: WebClient) -> None:
    assert err(client.conversations_history, channel="C404") == "channel_not_found"
    assert err(client.conversations_history, channel="C2") == "not_in_channel"


def test_replies(client: WebClient) -> None:
    meta = {"event_type": "e", "event_payload": {}}
    parent = client.chat_postMessage(channel="C1", text="parent")["ts"]
    client.chat_postMessage(channel="C1", text="r1", thread_ts=parent, metadata=meta)
    client.chat_postMessage(channel="C1", text="r2", thread_ts=parent)
    client.chat_postMessage(channel="C1", text="elsewhere")
    msgs = client.conversations_replies(channel="C1", ts=parent)["messages"]
    assert [m["text"] for m in msgs] == ["parent", "r1", "r2"]
    assert "metadata" not in msgs[1]
    with_md = client.conversations_replies(channel="C1", ts=parent, include_all_metadata=True)["messages"]
    assert with_md[1]["metadata"] == meta
    assert err(client.conversations_replies, channel="C1", ts="1.000001") == "thread_not_found"
    assert err(client.conversations_replies, channel="C404", ts=parent) == "channel_not_found"


def test_conversations_info(client: WebClient) -> None:
    ch = client.conversations_info(channel="C1")["channel"]
    assert ch["id"] == "C1" and ch["name"] == "general" and ch["is_member"] is True
    assert client.conversations_info(channel="C2")["channel"]["is_member"] is False
    assert err(client.conversations_info, channel="C404") == "channel_not_found"


# --------------------------------------------------------------------------- users.*


def test_users_info(client: WebClient) -> None:
    u = client.users_info(user="U1")["user"]
    assert u["id"] == "U1" and u["real_name"] == "alice" and u["tz"] == "Europe/Paris"
    assert u["tz_offset"] in (3600, 7200)
    assert u["profile"]["email"] == "Alice@Example.com"
    assert client.users_info(user="UBOT")["user"]["is_bot"] is True
    assert err(client.users_info, user="U404") == "user_not_found"


def test_users_lookup_by_email(client: WebClient) -> None:
    assert client.users_lookupByEmail(email="alice@example.com")["user"]["id"] == "U1"
    assert err(client.users_lookupByEmail, email="nobody@example.com") == "users_not_found"


# --------------------------------------------------------------------------- views.*


def test_views_open_push_update(client: WebClient, fake: FakeSlack) -> None:
    opened = client.views_open(trigger_id="123.456", view=modal(callback_id="cb"))["view"]
    assert opened["id"].startswith("V") and opened["callback_id"] == "cb"
    assert opened["title"]["text"] == "Title" and opened["hash"]
    pushed = client.views_push(trigger_id="123.457", view=modal())["view"]
    assert pushed["id"] != opened["id"]
    updated = client.views_update(view_id=opened["id"], view=modal([section("new")]), hash=opened["hash"])
    assert updated["view"]["id"] == opened["id"] and updated["view"]["blocks"] == [section("new")]
    assert fake.views[opened["id"]]["blocks"] == [section("new")]
    assert err(client.views_update, view_id=opened["id"], view=modal(), hash="stale") == "hash_conflict"
    assert err(client.views_update, view_id="VNOPE", view=modal()) == "not_found"


def test_views_publish(client: WebClient, fake: FakeSlack) -> None:
    r = client.views_publish(user_id="U1", view={"type": "home", "blocks": [section("home")]})
    assert r["view"]["type"] == "home" and r["view"]["id"]
    assert fake.home_tabs["U1"]["blocks"] == [section("home")]
    assert err(client.views_publish, user_id="U1", view=modal()) == "invalid_arguments"


def test_views_publish_checks_the_hash_of_the_view_last_published(client: WebClient, fake: FakeSlack) -> None:
    first = client.views_publish(user_id="U1", view={"type": "home", "blocks": [section("one")]})["view"]
    second = client.views_publish(
        user_id="U1", view={"type": "home", "blocks": [section("two")]}, hash=first["hash"]
    )["view"]
    assert second["id"] == first["id"] and second["hash"] != first["hash"]
    # someone published since `first` was seen: Slack refuses, and the tab keeps "two"
    home = {"type": "home", "blocks": [section("x")]}
    stale = err(client.views_publish, user_id="U1", view=home, hash=first["hash"])
    assert stale == "hash_conflict"
    assert fake.home_tabs["U1"]["blocks"] == [section("two")]
    # without a hash the publish replaces whatever is there
    client.views_publish(user_id="U1", view={"type": "home", "blocks": [section("three")]})
    assert fake.home_tabs["U1"]["blocks"] == [section("three")]


INVALID_VIEWS = {
    "no type": {"title": {"type": "plain_text", "text": "T"}, "blocks": []},
    "no blocks": {"type": "modal", "title": {"type": "plain_text", "text": "T"}},
    "modal without title": {"type": "modal", "blocks": [section("x")]},
    "101 blocks": modal([section(str(i)) for i in range(101)]),
    "title over 24": modal(title={"type": "plain_text", "text": "t" * 25}),
    "input without submit": modal(
        [
            {
                "type": "input",
                "label": {"type": "plain_text", "text": "L"},
                "element": {"type": "plain_text_input", "action_id": "a"},
            }
        ]
    ),
    "bad block inside": modal([section("x" * 3001)]),
}


@pytest.mark.parametrize("view", INVALID_VIEWS.values(), ids=INVALID_VIEWS.keys())
def test_invalid_views(client: WebClient, view: dict[str, Any]) -> None:
    e = slack_error(client.views_open, trigger_id="1.2", view=view)
    assert e.response["error"] == "invalid_arguments"
    assert e.response["response_metadata"]["messages"]


def test_view_with_100_blocks_is_fine(client: WebClient) -> None:
    assert client.views_open(trigger_id="1.2", view=modal([section(str(i)) for i in range(100)]))["ok"]


def test_views_open_needs_trigger_id(client: WebClient) -> None:
    assert err(client.views_open, trigger_id="", view=modal()) == "invalid_arguments"


# --------------------------------------------------------------------------- reactions, files


def test_reactions_add(client: WebClient, fake: FakeSlack) -> None:
    ts = client.chat_postMessage(channel="C1", text="react")["ts"]
    assert client.reactions_add(channel="C1", timestamp=ts, name="white_check_mark")["ok"]
    assert fake.messages_in("C1")[0]["reactions"] == [
        {"name": "white_check_mark", "users": ["UBOT"], "count": 1}
    ]
    assert err(client.reactions_add, channel="C1", timestamp=ts, name="white_check_mark") == "already_reacted"
    assert err(client.reactions_add, channel="C1", timestamp="1.000001", name="eyes") == "message_not_found"
    assert err(client.reactions_add, channel="C404", timestamp=ts, name="eyes") == "channel_not_found"


def test_files_upload_v2(client: WebClient, fake: FakeSlack) -> None:
    data = b"week,cases\n1,3\n"
    r = client.files_upload_v2(
        content=data, filename="report.csv", title="Report", channel="C1", initial_comment="weekly report"
    )
    fid = r["file"]["id"]
    assert r["file"]["title"] == "Report" and r["file"]["size"] == len(data)
    assert fake.files[fid]["content"] == data
    assert [c.method for c in fake.calls] == ["files.getUploadURLExternal", "files.completeUploadExternal"]
    msg = fake.messages_in("C1")[0]
    assert msg["text"] == "weekly report" and msg["files"][0]["id"] == fid


def test_files_complete_unknown_file(client: WebClient) -> None:
    assert err(client.files_completeUploadExternal, files=[{"id": "FNOPE"}]) == "file_not_found"


def test_files_upload_to_unknown_channel(client: WebClient) -> None:
    assert err(client.files_upload_v2, content=b"x", filename="x.txt", channel="C404") == "channel_not_found"


# --------------------------------------------------------------------------- failures on demand


def test_429_with_retry_after(client: WebClient, fake: FakeSlack) -> None:
    fake.fail("chat.postMessage", status=429, retry_after=30)
    e = slack_error(client.chat_postMessage, channel="C1", text="hi")
    assert e.response.status_code == 429
    assert e.response.headers["Retry-After"] == "30"
    assert e.response["error"] == "ratelimited"
    assert fake.calls[-1].status == 429
    assert client.chat_postMessage(channel="C1", text="hi")["ok"]  # only `times` calls fail
    assert len(fake.messages_in("C1")) == 1


def test_429_default_retry_after_is_one(client: WebClient, fake: FakeSlack) -> None:
    fake.fail("users.info", status=429)
    assert slack_error(client.users_info, user="U1").response.headers["Retry-After"] == "1"


def test_500(client: WebClient, fake: FakeSlack) -> None:
    fake.fail("chat.postMessage", times=2)
    for _ in range(2):
        assert slack_error(client.chat_postMessage, channel="C1", text="hi").response.status_code == 500
    assert client.chat_postMessage(channel="C1", text="hi")["ok"]
    assert [c.status for c in fake.calls] == [500, 500, 200]


def test_error_answers_http_200(client: WebClient, fake: FakeSlack) -> None:
    fake.fail("chat.postMessage", error="channel_not_found")
    e = slack_error(client.chat_postMessage, channel="C1", text="hi")
    assert e.response.status_code == 200 and e.response["error"] == "channel_not_found"


def test_wildcard_failure(client: WebClient, fake: FakeSlack) -> None:
    fake.fail("*", status=503)
    assert slack_error(client.auth_test).response.status_code == 503


def test_hang_then_release(client: WebClient, fake: FakeSlack) -> None:
    fake.fail("chat.postMessage", hang=True)
    outcome: list[Exception] = []

    def post() -> None:
        try:
            client.chat_postMessage(channel="C1", text="stuck")
        except Exception as e:
            outcome.append(e)

    worker = threading.Thread(target=post, daemon=True)
    worker.start()
    assert fake.wait_for(lambda: fake.hanging == 1)
    assert worker.is_alive() and not outcome
    fake.release_hangs()
    worker.join(timeout=10)
    assert not worker.is_alive()
    assert isinstance(outcome[0], RemoteDisconnected | URLError | ConnectionError)
    assert fake.calls[-1].status == 0 and fake.messages_in("C1") == []
    assert client.chat_postMessage(channel="C1", text="after")["ok"]


def test_hang_ends_when_client_gives_up(fake: FakeSlack) -> None:
    fake.fail("auth.test", hang=True)
    port = int(fake.base_url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(b"POST /api/auth.test HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
        assert fake.wait_for(lambda: fake.hanging == 1)
    assert fake.wait_for(lambda: fake.hanging == 0)


def test_stop_releases_hangs(fake: FakeSlack) -> None:
    fake.fail("auth.test", hang=True)
    client = WebClient(token=fake.bot_token, base_url=fake.api_url, timeout=10, retry_handlers=[])
    outcome: list[Exception] = []

    def call() -> None:
        try:
            client.auth_test()
        except Exception as e:
            outcome.append(e)

    worker = threading.Thread(target=call, daemon=True)
    worker.start()
    assert fake.wait_for(lambda: fake.hanging == 1)
    fake.stop()
    worker.join(timeout=10)
    assert not worker.is_alive()
    assert isinstance(outcome[0], RemoteDisconnected | URLError | ConnectionError)


def test_fail_rejects_zero_times(fake: FakeSlack) -> None:
    with pytest.raises(ValueError):
        fake.fail("auth.test", times=0)


# --------------------------------------------------------------------------- response_url


def test_response_url_records_posts(fake: FakeSlack, http: httpx.Client) -> None:
    url = fake.response_url()
    assert url.startswith(fake.base_url + "/response/")
    assert url != fake.response_url()
    r = http.post(url, json={"text": "done", "response_type": "ephemeral"})
    assert r.status_code == 200 and r.json() == {"ok": True}
    assert fake.responses == [fake.responses[0]]
    rec = fake.responses[0]
    assert isinstance(rec, ResponseCall)
    assert rec.url == url and rec.body == {"text": "done", "response_type": "ephemeral"}
    assert fake.calls == []  # not a Web API call


def test_response_url_rules(fake: FakeSlack, http: httpx.Client) -> None:
    url = fake.response_url()
    assert http.post(url, json={"response_type": "in_channel"}).status_code == 400  # no text
    assert (
        http.post(url, json={"text": "t", "blocks": [section("x")] * 51}).json()["error"] == "invalid_blocks"
    )
    assert http.post(url, json={"delete_original": True}).status_code == 200
    for _ in range(4):
        assert http.post(url, json={"text": "ok"}).status_code == 200
    assert http.post(url, json={"text": "sixth"}).json()["error"] == "used_url"  # 5 uses, like Slack
    assert http.post(fake.base_url + "/response/unknown", json={"text": "x"}).status_code == 404


def test_response_url_can_fail(fake: FakeSlack, http: httpx.Client) -> None:
    fake.fail("response_url", status=500)
    url = fake.response_url()
    assert http.post(url, json={"text": "x"}).status_code == 500
    assert http.post(url, json={"text": "x"}).status_code == 200


# --------------------------------------------------------------------------- waiting, reset


def test_wait_for_background_post(client: WebClient, fake: FakeSlack) -> None:
    start = threading.Event()

    def later() -> None:
        start.wait(10)
        client.chat_postMessage(channel="C1", text="from a thread")

    worker = threading.Thread(target=later, daemon=True)
    worker.start()
    assert fake.wait_for(lambda: fake.calls_to("chat.postMessage"), timeout=0) is False
    start.set()
    assert fake.wait_for(lambda: fake.messages_in("C1"), timeout=10)
    worker.join(timeout=10)
    assert fake.messages_in("C1")[0]["text"] == "from a thread"


def test_reset_keeps_directory(client: WebClient, fake: FakeSlack, http: httpx.Client) -> None:
    client.chat_postMessage(channel="C1", text="x")
    http.post(fake.response_url(), json={"text": "x"})
    fake.fail("auth.test")
    fake.reset()
    assert fake.calls == [] and fake.messages == {} and fake.responses == []
    assert client.auth_test()["ok"]  # failure rule gone
    assert client.users_info(user="U1")["ok"] and client.conversations_info(channel="C1")["ok"]


def test_calls_at_is_monotonic(client: WebClient, fake: FakeSlack) -> None:
    client.auth_test()
    client.auth_test()
    assert fake.calls[0].at <= fake.calls[1].at
