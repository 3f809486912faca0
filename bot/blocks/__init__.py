"""Block Kit builders, named after what they show."""
