"""The weekly digest message (PRODUCT.md §6.2) from a hand-built Metrics: the figures
with ▲/▼, the per-CSM table aligned at phone width, risks, renewals by band with the
forecast, escalation times, the quiet week, and Slack's limits at 50 CSMs and
10,000 accounts — checked by slack_sdk's models and by the fake Slack's rules."""

from __future__ import annotations

import html
import json
from typing import Any

from slack_sdk.models.blocks import Block

from bot.digest import DigestView, blocks_as_text, digest_blocks
from bot.digest.blocks import digest_fallback_text
from bot.digest.table import PHONE_WIDTH
from bot.playground.fake_slack.blockkit import _block_errors
from bot.playground.fake_slack.common import MAX_MESSAGE_BLOCKS
from tests.digest_fixture import metrics

VIEW = DigestView(names={"U0000": "casey", "U0001": "robin `the` <great>"}, chart_note="chart in the thread")


def _valid(blocks: list[dict[str, Any]]) -> None:
    """What Slack would say: slack_sdk's models and the fake's checks both accept the blocks."""
    assert len(blocks) <= MAX_MESSAGE_BLOCKS
    for block in blocks:
        Block.parse(block).validate_json()  # raises SlackObjectFormationError on any limit
    assert _block_errors(blocks, max_blocks=MAX_MESSAGE_BLOCKS) == []


def _section_texts(blocks: list[dict[str, Any]]) -> list[str]:
    return [b["text"]["text"] for b in blocks if b["type"] == "section" and "text" in b]


def _fields(blocks: list[dict[str, Any]]) -> dict[str, str]:
    out = {}
    for b in blocks:
        for f in b.get("fields", []):
            label, _, value = f["text"].partition("\n")
            out[label.strip("*")] = value
    return out


def _table(blocks: list[dict[str, Any]]) -> list[str]:
    text = next(t for t in _section_texts(blocks) if t.startswith("```"))
    body = text.split("```")[1].strip("\n")
    return html.unescape(body).split("\n")  # as Slack shows it


def test_figures_show_their_change_with_arrows_and_na_with_the_reason() -> None:
    blocks = digest_blocks(metrics(), VIEW)
    _valid(blocks)
    assert blocks[0] == {
        "type": "header",
        "text": {"type": "plain_text", "text": "Weekly digest · 2026-W48 (Nov 23 – Nov 29)", "emoji": True},
    }
    fields = _fields(blocks)
    assert fields["ARR"] == "$1.2m  ▲ $30k"
    assert fields["Coverage (30 days)"] == "80%  ▼ 5.0 pts"
    assert fields["Net revenue retention (12 mo)"] == "104%  ▲ 3.0 pts"
    assert fields["New ARR"] == "$12k  = no change"
    assert fields["Renewal rate (quarter to date)"] == "n/a — no renewals due this quarter yet"
    assert fields["NPS (90 days)"] == "-45  ▼ 55 (11 responses)"
    assert fields["ARR at risk"] == "$130k  ▲ $80k"
    assert "Mon 23 Nov – Sun 29 Nov (Europe/Berlin)" in blocks[1]["elements"][0]["text"]
    assert digest_fallback_text(metrics()) == (
        "Weekly digest 2026-W48 (Nov 23 – Nov 29): ARR $1.2m  ▲ $30k, 2 accounts at risk."
    )


def test_risks_renewals_and_escalations_read_in_words() -> None:
    texts = _section_texts(digest_blocks(metrics(), VIEW))
    risks = next(t for t in texts if t.startswith("*At risk:*"))
    assert risks.startswith("*At risk:* 2 accounts, $130k ARR — worst first\n")
    # an imported name cannot ping the channel; the CSM is a mention
    assert "*Acme &lt;!channel&gt; &amp; Co 0* · $65k · <@U0000>" in risks
    assert "no touchpoint in 47 days; renewal in 20 days" in risks
    renewals = next(t for t in texts if t.startswith("*Renewals"))
    assert renewals.split("\n")[:2] == [
        "*Renewals, next 90 days:* 3 worth $250k; forecast $215k",
        ":large_green_circle: green 1 ($80k) · :large_yellow_circle: yellow 1 ($80k)"
        " · :red_circle: red 1 ($80k)",
    ]
    assert (
        "*Escalations:* 3 opened, 2 resolved · median time to acknowledge 14m · median time to resolve 3h 05m"
        in texts
    )


def test_a_quiet_week_still_posts_and_says_so() -> None:
    blocks = digest_blocks(metrics(quiet=True, risks=0, renewals=0), VIEW)
    _valid(blocks)
    texts = _section_texts(blocks)
    assert texts[0].startswith(":zzz: *A quiet week:* no touchpoints, escalations or revenue changes")
    assert "*Escalations:* no escalations this week." in texts
    assert "*At risk:* no account is at risk. :tada:" in texts
    assert "*Renewals, next 90 days:* none due." in texts
    assert not any(t.startswith(":zzz:") for t in _section_texts(digest_blocks(metrics(), VIEW)))


def test_the_csm_table_stays_aligned_at_phone_width() -> None:
    lines = _table(digest_blocks(metrics(csms=12), VIEW))
    assert lines[0] == "CSM         Acc    ARR  Cov  TP Risk Esc"
    assert lines[2] == "casey       200   $12m  n/a   0    0   0"
    assert lines[3] == "robin 'th…  199  $6.2m  80%   1    1   1"  # no backtick can end the code block
    assert {len(line) for line in lines} == {PHONE_WIDTH}
    # every column ends at the same place on every line (right-aligned)
    for col in (15, 22, 27, 31, 36, 40):
        assert all(line[col - 1] != " " for line in lines[2:]), col


def test_fifty_csms_and_ten_thousand_accounts_stay_within_slacks_limits() -> None:
    big = metrics(csms=50, risks=9_000, renewals=1_000)
    blocks = digest_blocks(big, VIEW)
    _valid(blocks)
    assert len(blocks) <= 13
    assert len(json.dumps(blocks)) < 40_000
    lines = _table(blocks)
    assert len(lines) == 52 and {len(line) for line in lines} == {PHONE_WIDTH}  # all 50 fit
    texts = _section_texts(blocks)
    risks = next(t for t in texts if t.startswith("*At risk:*"))
    assert risks.startswith("*At risk:* 9000 accounts")
    assert risks.endswith("… and 8990 more. `/cs risk team` lists every account at risk.")
    renewals = next(t for t in texts if t.startswith("*Renewals"))
    assert renewals.endswith("… and 992 more. `csbot metrics week --json` lists every renewal.")


def test_more_csms_than_fit_are_cut_with_the_command_that_shows_all() -> None:
    blocks = digest_blocks(metrics(csms=90), VIEW)
    _valid(blocks)
    table = next(t for t in _section_texts(blocks) if t.startswith("```"))
    assert len(table) <= 3000
    lines = _table(blocks)
    shown = len(lines) - 3
    assert lines[-1] == f"… and {90 - shown} more" and 60 < shown < 90
    assert table.endswith("```\n`/cs metrics week` shows every CSM.")


def test_the_chart_note_and_the_preview_text() -> None:
    missing = DigestView(
        VIEW.names, ":warning: The chart is missing this week: it could not be drawn (boom)."
    )
    blocks = digest_blocks(metrics(), missing)
    assert blocks[-1]["elements"][0]["text"].startswith(":warning: The chart is missing this week")
    text = blocks_as_text(blocks)
    assert text.startswith("Weekly digest · 2026-W48 (Nov 23 – Nov 29)\n=====")
    assert "ARR: $1.2m  ▲ $30k" in text
    assert "casey       200   $12m  n/a   0    0   0" in text
