"""A fake Slack Web API on 127.0.0.1 (PRODUCT.md §8): records every call, answers
like Slack, can be told to fail, and refuses what Slack refuses. The tests and the
playground talk to it over HTTP, as the bot talks to Slack."""

from bot.playground.fake_slack.common import Call, ResponseCall
from bot.playground.fake_slack.http import _parse_body
from bot.playground.fake_slack.server import FakeSlack

__all__ = ["Call", "FakeSlack", "ResponseCall", "_parse_body"]
