"""The front door against strangers and broken clients (PRODUCT.md §8): a huge
unsigned body is refused before it is read, malformed headers and bodies get a
4xx, and none of it leaves more than one log line — no body, no traceback."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from urllib.parse import urlencode

import httpx
import pytest

from bot.slack.action_ids import ActionId
from tests.harness import SIGNING_SECRET, Bot
from tests.signing import signature

pytestmark = pytest.mark.e2e

MARKER = "S3CRET-BODY-MARKER"


def _server_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    """What the app logged (the test's own HTTP client logs are not the app's)."""
    return [r for r in caplog.records if not r.name.startswith(("httpx", "httpcore"))]


def _assert_one_quiet_line(caplog: pytest.LogCaptureFixture) -> str:
    records = _server_records(caplog)
    assert len(records) == 1, [r.getMessage() for r in records]
    (record,) = records
    assert record.exc_info is None and record.levelno == logging.WARNING
    line = record.getMessage()
    assert MARKER not in line and len(line) < 200
    return line


def _signed(body: bytes, *, ts: int | None = None) -> dict[str, str]:
    ts = int(time.time()) if ts is None else ts
    base = f"v0:{ts}:".encode() + body
    sig = "v0=" + hmac.new(SIGNING_SECRET.encode(), base, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": str(ts), "X-Slack-Signature": sig}


def test_a_5_mb_unsigned_body_is_refused_before_it_is_read(
    bot: Bot, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    body = (f"payload={MARKER}" + "x" * (5 * 1024 * 1024)).encode()
    response = bot.send.http.post(
        bot.send.url, content=body, headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert response.status_code == 413
    assert "over the 262144 byte limit" in _assert_one_quiet_line(caplog)


def test_a_big_body_without_content_length_is_refused_too(bot: Bot, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)

    def chunks():  # chunked transfer: no Content-Length to go by
        for _ in range(40):
            yield b"y" * 16384

    response = bot.send.http.post(bot.send.url, content=chunks(), headers={"Content-Type": "text/plain"})
    assert response.status_code == 413
    _assert_one_quiet_line(caplog)


@pytest.mark.parametrize("timestamp", ["soon", "-1", "1e9", "99999999999999999999", ""])
def test_a_malformed_timestamp_is_401_in_one_line(
    bot: Bot, caplog: pytest.LogCaptureFixture, timestamp: str
) -> None:
    caplog.set_level(logging.INFO)
    body = bot.send.command_body(f"help {MARKER}")
    response = bot.send.http.post(
        bot.send.url,
        content=body.encode(),
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Slack-Request-Timestamp": timestamp,
            "X-Slack-Signature": signature(SIGNING_SECRET, 1, body),
        },
    )
    assert response.status_code == 401 and "/cs" not in response.text
    _assert_one_quiet_line(caplog)


def test_a_bad_signature_never_logs_the_body(bot: Bot, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    body = bot.send.command_body(f"escalate Acme sev1 {MARKER}")
    response = bot.send.post(body, "application/x-www-form-urlencoded", secret="forged")
    assert response.status_code == 401
    assert "invalid request signature" in _assert_one_quiet_line(caplog)


def test_a_signed_body_that_is_not_utf8_is_400(bot: Bot, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    body = b"payload=%7B%7D&text=\xff\xfe" + MARKER.encode()
    headers = {"Content-Type": "application/x-www-form-urlencoded", **_signed(body)}
    response = bot.send.http.post(bot.send.url, content=body, headers=headers)
    assert response.status_code in (400, 401)
    _assert_one_quiet_line(caplog)


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/json", '{"type": "event_callback", "event": ' + MARKER),
        ("application/json", "[1, 2, 3]"),
        ("application/json", "null"),
        ("application/x-www-form-urlencoded", urlencode({"payload": "{not json " + MARKER})),
        ("application/x-www-form-urlencoded", urlencode({"payload": "null"})),
        ("application/x-www-form-urlencoded", urlencode({"payload": '"just a string"'})),
    ],
    ids=["json-cut", "json-list", "json-null", "payload-cut", "payload-null", "payload-string"],
)
def test_signed_bodies_slack_never_sends_are_4xx_without_a_traceback(
    bot: Bot, caplog: pytest.LogCaptureFixture, content_type: str, body: str
) -> None:
    caplog.set_level(logging.INFO)
    response = bot.send.post(body, content_type)
    assert response.status_code == 400
    _assert_one_quiet_line(caplog)


def test_a_signed_payload_of_the_wrong_shape_gets_an_empty_ack(
    bot: Bot, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    for payload in (
        {"type": "block_actions", "user": "UCSM1", "actions": [{"action_id": ActionId.UNDO}]},
        {"type": "block_actions", "user": {"id": "UCSM1"}, "actions": []},
        {"type": "view_submission", "user": {"id": "UCSM1"}, "view": {"id": "V1", "callback_id": "x"}},
        {"type": "shortcut", "user": {"id": "UCSM1"}, "callback_id": "x", "trigger_id": 12},
    ):
        caplog.clear()
        response = bot.send.post(
            urlencode({"payload": json.dumps(payload)}), "application/x-www-form-urlencoded"
        )
        assert (response.status_code, response.text) == (200, "")
        records = _server_records(caplog)
        assert not any(r.exc_info for r in records)
        assert [r.levelno for r in records if r.levelno >= logging.WARNING] == [logging.WARNING]
    assert bot.fake.responses == [] and bot.fake.calls_to("views.open") == []


def test_healthz_and_ordinary_requests_still_pass(bot: Bot) -> None:
    assert httpx.get(bot.send.url.replace("/slack/events", "/healthz")).text == "ok"
    assert bot.send.command("help").status_code == 200


def test_a_signed_request_nothing_handles_is_acked_in_one_line(
    bot: Bot, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    response = bot.send.block_action(f"retired_button_{MARKER}", value="1")
    assert (response.status_code, response.text) == (200, "")
    lines = [r.getMessage() for r in _server_records(caplog) if r.levelno >= logging.WARNING]
    assert lines == ["a request no listener handles was answered with an empty 200"]


def test_bolt_itself_never_logs_a_bad_signatures_body(bot: Bot, caplog: pytest.LogCaptureFixture) -> None:
    """Behind another adapter (not this front door), Bolt's own check still logs no body."""
    from slack_bolt import BoltRequest

    caplog.set_level(logging.DEBUG)
    body = bot.send.command_body(f"help {MARKER}")
    ts = str(int(time.time()))
    headers = {"x-slack-request-timestamp": [ts], "x-slack-signature": [signature("forged", int(ts), body)]}
    response = bot.app.dispatch(BoltRequest(body=body, headers=headers))
    assert response.status == 401
    assert not [r for r in caplog.records if MARKER in r.getMessage()]
    assert "invalid request signature (body not logged)" in [r.getMessage() for r in caplog.records]


def test_the_request_log_line_cannot_be_forged_from_typed_text(
    bot: Bot, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    bot.send.command("help\nERROR csbot: forged line")
    lines = [r.getMessage() for r in caplog.records if r.name == "csbot.requests"]
    assert lines and all("\n" not in line and "forged" not in line for line in lines)
