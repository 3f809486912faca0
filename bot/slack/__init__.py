"""The Slack edge every feature shares: the HTTP front door and Socket Mode, the
ack budget, the redelivery filter, the user directory (time zones), action ids,
mentions and escaping, the `Answer` a flow hands back, shared Block Kit elements
and the help texts.

May import: the process modules at the top of `bot/` and `models/`. Never a
feature wing, `handlers/` or `jobs/`."""
