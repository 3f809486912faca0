"""A local Slack for the bot to talk to (PRODUCT.md §7.1, §8): the fake Web API
the tests use, which records every call, answers like Slack and refuses what
Slack refuses.

May import: the standard library only; the bot talks to it over HTTP like to
Slack."""
