"""Logging set-up: one format, and tokens scrubbed from every line."""

from __future__ import annotations

import logging
import re

_TOKEN = re.compile(r"xox[abposr]-[A-Za-z0-9-]+|xapp-[A-Za-z0-9-]+")


class RedactTokens(logging.Filter):
    """Belt and braces: even a library's debug line never prints a token."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if _TOKEN.search(message):
            record.msg = _TOKEN.sub("xox…[redacted]", message)
            record.args = None
        return True


def configure_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactTokens())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # slack_sdk logs request headers at DEBUG; keep it quiet whatever the level.
    logging.getLogger("slack_sdk").setLevel(max(logging.INFO, logging.getLevelName(level)))
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
    # Alembic says "Context impl SQLiteImpl" on every revision check; the start-up line says more.
    logging.getLogger("alembic").setLevel(max(logging.WARNING, logging.getLevelName(level)))
    # Bolt logs the request body of a bad signature; our request line says 401 instead.
    logging.getLogger("slack_bolt.RequestVerification").setLevel(logging.WARNING)
