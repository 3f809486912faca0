"""The weekly digest (PRODUCT.md §6.2): the metrics of a week as one Slack message
with a chart in its thread, queued once per channel and week.

May import: `bot/slack/`, the process modules, `models/`; other wings only
through their public functions (`bot.metrics` for the figures, `bot.delivery`
for the Outbox)."""

from bot.digest.blocks import DigestView, blocks_as_text, digest_blocks
from bot.digest.chart import alt_text, band_history, render_png
from bot.digest.service import (
    Digest,
    Queued,
    already_queued,
    build_digest,
    chart_filename,
    digest_as_text,
    digest_key,
    iso_week,
    parse_week,
    queue_digest,
    week_period,
)

__all__ = [
    "Digest",
    "DigestView",
    "Queued",
    "alt_text",
    "already_queued",
    "band_history",
    "blocks_as_text",
    "build_digest",
    "chart_filename",
    "digest_as_text",
    "digest_blocks",
    "digest_key",
    "iso_week",
    "parse_week",
    "queue_digest",
    "render_png",
    "week_period",
]
