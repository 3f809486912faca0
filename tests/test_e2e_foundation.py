"""End to end over HTTP: signed requests into the running app, Slack faked."""

from __future__ import annotations

import time

from tests.harness import Bot


def test_cs_help_answers_the_whole_command_list_ephemerally(bot: Bot) -> None:
    response = bot.send.command("help")
    assert response.status_code == 200
    answer = response.json()
    assert answer["response_type"] == "ephemeral"
    for usage in (
        "/cs log <account> <type> [date] <note...> [#tag ...] [+|-|~]",
        "/cs escalate <account> <sev1|sev2|sev3> [@owner] <summary...>",
        "/cs escalations [mine|all]",
        "/cs account <account>",
        "/cs risk [mine|team]",
        "/cs metrics [week|month|quarter]",
        "/cs nps <account> <0-10> [comment]",
        "/cs renewal <account> <renewed [amount]|downgraded <amount>|churned>",
        "/cs upsell <account> <amount> [#product] [note]",
        "/cs subscribe <alerts|digest> [segment|@csm] [day] [HH:MM] [tz]",
        "/cs unsubscribe <alerts|digest>",
        "/cs subscriptions",
        "/cs team [add @user csm|director|exec|admin [manager @user] | list]",
        "/cs help [command]",
    ):
        assert usage in answer["text"]
    assert answer["blocks"][0]["type"] == "section"


def test_empty_command_and_unknown_subcommand_get_help(bot: Bot) -> None:
    assert "/cs help [command]" in bot.send.command("").json()["text"]
    unknown = bot.send.command("frobnicate now").json()
    assert unknown["text"].startswith("`/cs frobnicate` is not a command.")


def test_bad_signature_and_stale_timestamp_get_401_and_run_nothing(bot: Bot) -> None:
    body = bot.send.command_body("help")
    bad = bot.send.post(body, "application/x-www-form-urlencoded", secret="not-the-secret")
    stale = bot.send.post(body, "application/x-www-form-urlencoded", timestamp=int(time.time()) - 6 * 60)
    assert (bad.status_code, stale.status_code) == (401, 401)
    assert "/cs" not in bad.text and "/cs" not in stale.text
    # An event that would publish App Home: nothing runs when unsigned.
    event = {"type": "app_home_opened", "user": "UCSM1", "tab": "home"}
    forged = bot.send.event(event, secret="forged-secret-1")
    assert forged.status_code == 401
    assert bot.fake.calls_to("views.publish") == []


def test_redelivered_event_has_one_effect(bot: Bot) -> None:
    event = {"type": "app_home_opened", "user": "UCSM1", "tab": "home", "channel": "D1"}
    first = bot.send.event(event, event_id="Ev0001")
    retry = bot.send.event(event, event_id="Ev0001", retry_num=1)
    assert (first.status_code, retry.status_code) == (200, 200)
    # the desk is published after the ack, off the request thread
    assert bot.fake.wait_for(lambda: bot.fake.calls_to("views.publish"))
    publishes = bot.fake.calls_to("views.publish")
    assert len(publishes) == 1
    assert publishes[0].args["user_id"] == "UCSM1"
    assert retry.headers.get("x-slack-no-retries") == "1"


def test_redelivered_command_runs_once(bot: Bot) -> None:
    calls: list[str] = []
    from handlers.cs_command import Reply

    def counting(request, deps):  # type: ignore[no-untyped-def]
        calls.append(request.args)
        return Reply(text="counted")

    bot.deps.subcommands["count-test"] = counting
    try:
        body = bot.send.command_body("count-test once", trigger_id="1.2.same")
        first = bot.send.post(body, "application/x-www-form-urlencoded")
        retry = bot.send.post(body, "application/x-www-form-urlencoded", retry_num=1)
    finally:
        bot.deps.subcommands.pop("count-test")
    assert first.json()["text"] == "counted"
    assert retry.status_code == 200 and retry.text == ""
    assert calls == ["once"]


def test_a_new_delivery_without_retry_header_is_not_swallowed(bot: Bot) -> None:
    body_a = bot.send.command_body("help", trigger_id="1.1.a")
    body_b = bot.send.command_body("help", trigger_id="1.1.b")
    assert "/cs log" in bot.send.post(body_a, "application/x-www-form-urlencoded").json()["text"]
    assert "/cs log" in bot.send.post(body_b, "application/x-www-form-urlencoded").json()["text"]


def test_slow_work_is_acked_first_and_answered_through_response_url(bot: Bot) -> None:
    import threading

    from handlers.cs_command import Reply

    gate = threading.Event()

    def slow(request, deps):  # type: ignore[no-untyped-def]
        gate.wait(timeout=30)  # stands in for a database that does not answer
        return Reply(text="done late")

    bot.deps.subcommands["slow-test"] = slow
    bot.deps.ack_budget_seconds = 0.05
    try:
        response = bot.send.command("slow-test")
        assert response.status_code == 200
        assert response.text == ""  # the ack came while the work was still blocked
        assert bot.fake.responses == []
        gate.set()
        assert bot.fake.wait_for(lambda: len(bot.fake.responses) == 1)
    finally:
        bot.deps.subcommands.pop("slow-test")
    assert bot.fake.responses[0].body["text"] == "done late"
    assert bot.fake.responses[0].body["response_type"] == "ephemeral"


def test_unexpected_error_gets_a_reference_not_a_traceback(bot: Bot, caplog) -> None:  # type: ignore[no-untyped-def]

    def broken(request, deps):  # type: ignore[no-untyped-def]
        raise RuntimeError("boom")

    bot.deps.subcommands["broken-test"] = broken
    try:
        answer = bot.send.command("broken-test").json()
    finally:
        bot.deps.subcommands.pop("broken-test")
    assert answer["text"].startswith(":warning: Something went wrong on our side (reference `")
    assert "boom" not in answer["text"]
    ref = answer["text"].split("`")[1]
    assert any(ref in r.getMessage() for r in caplog.records)


def test_one_log_line_per_request_without_tokens(bot: Bot, caplog) -> None:  # type: ignore[no-untyped-def]
    import logging

    caplog.set_level(logging.INFO, logger="csbot.requests")
    bot.send.command("help", user_id="UCSM2")
    lines = [r.getMessage() for r in caplog.records if r.name == "csbot.requests"]
    assert len(lines) == 1
    assert lines[0].startswith("command /cs help user=UCSM2 status=200 latency_ms=")
    assert "xoxb" not in lines[0] and "legacy-verification-token" not in lines[0]


def test_metrics_from_someone_outside_the_team_is_refused_naming_the_roles(bot: Bot) -> None:
    answer = bot.send.command("metrics week", user_id="UOUT1").json()
    assert answer["response_type"] == "ephemeral"
    assert answer["text"].startswith(
        "Only a *director*, an *exec* or an *admin* can see the team's metrics; you are not in the team list"
    )
