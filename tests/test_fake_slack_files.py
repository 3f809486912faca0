"""The fake Slack's file upload (files_upload_v2's three steps, and files.info)
refuses what Slack refuses: channels by name, an unknown thread, a size that differs
from the one announced, completing twice, an alt text over 1,000 characters."""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.playground.fake_slack import FakeSlack


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as f:
        f.add_channel("C1", name="general")
        yield f


@pytest.fixture
def client(fake: FakeSlack) -> WebClient:
    return WebClient(token=fake.bot_token, base_url=fake.api_url, timeout=10, retry_handlers=[])


def err(fn: Any, **kwargs: Any) -> str:
    with pytest.raises(SlackApiError) as info:
        fn(**kwargs)
    return str(info.value.response["error"])


def _put(url: str, data: bytes) -> int:
    request = urllib.request.Request(url, data=data, method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - the local fake
        return int(response.status)


def test_an_upload_into_a_thread_and_files_info(client: WebClient, fake: FakeSlack) -> None:
    parent = client.chat_postMessage(channel="C1", text="digest")["ts"]
    png = b"\x89PNG\r\n\x1a\n" + b"0" * 100
    r = client.files_upload_v2(
        content=png, filename="chart.png", title="Chart", channel="C1", thread_ts=parent, alt_txt="W48 $1m"
    )
    fid = r["file"]["id"]
    [reply] = fake.messages_in("C1", thread_ts=parent)[1:]
    assert reply["files"][0]["name"] == "chart.png" and reply["files"][0]["mimetype"] == "image/png"
    info = client.files_info(file=fid)["file"]
    assert (info["id"], info["size"], info["channels"], info["alt_txt"]) == (fid, len(png), ["C1"], "W48 $1m")
    assert err(client.files_info, file="FNOPE") == "file_not_found"


def test_what_slack_refuses(client: WebClient, fake: FakeSlack) -> None:
    # channels are IDs here, unlike chat.postMessage
    assert (
        err(client.files_upload_v2, content=b"x", filename="x.txt", channel="#general") == "invalid_channel"
    )
    # a thread that is not a message of the channel
    assert (
        err(client.files_upload_v2, content=b"x", filename="x.txt", channel="C1", thread_ts="1.000001")
        == "invalid_thread_ts"
    )
    # alt text over 1,000 characters
    assert err(client.files_getUploadURLExternal, filename="a.png", length=3, alt_txt="x" * 1001) == (
        "invalid_arguments"
    )
    # the bytes sent differ from the length announced
    step = client.files_getUploadURLExternal(filename="a.png", length=10)
    assert _put(step["upload_url"], b"short") == 200
    assert err(client.files_completeUploadExternal, files=[{"id": step["file_id"]}], channel_id="C1") == (
        "file_upload_size_mismatch"
    )
    # a file is completed once
    ok = client.files_getUploadURLExternal(filename="b.png", length=2)
    _put(ok["upload_url"], b"ok")
    client.files_completeUploadExternal(files=[{"id": ok["file_id"]}], channel_id="C1")
    assert err(client.files_completeUploadExternal, files=[{"id": ok["file_id"]}], channel_id="C1") == (
        "file_already_completed"
    )
    assert len([m for m in fake.messages_in("C1") if m.get("files")]) == 1
    # a file never completed is not visible to files.info
    assert err(client.files_info, file=step["file_id"]) == "file_not_found"
