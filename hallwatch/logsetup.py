"""Logging for the entry points: one format, and personal data and secrets masked on the way out."""

from __future__ import annotations

import logging
import sys

from contract.privacy import redact


class RedactingFormatter(logging.Formatter):
    """Masks phone numbers, ID numbers and secrets in every line written, whatever the caller forgot:
    the message, and the traceback of an exception too (a validation error quotes its input)."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


def configure_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%Y-%m-%dT%H:%M:%S")
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
