"""csbot: the Slack bot a Customer Success team runs its week on."""
