"""Logging for the entry points: one format, hall time, and personal data and secrets masked."""

from __future__ import annotations

import logging
import sys
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from contract.privacy import redact

HALL_ZONE = "Asia/Shanghai"
"""Every hall in the brief is in China: log times read like the tickets and the case dates."""


class RedactingFormatter(logging.Formatter):
    """Masks phone numbers, ID numbers and secrets in every line written, whatever the caller forgot:
    the message, and the traceback of an exception too (a validation error quotes its input)."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


class HallTimeFormatter(RedactingFormatter):
    """`2026-12-02T08:27:04+08:00 INFO name: message`: the hall's wall time with its offset,
    whatever zone the machine (often UTC on a Pi or in a data centre) is set to; masked."""

    def __init__(self, zone: str = HALL_ZONE) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")
        self.zone = ZoneInfo(zone)

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802
        return datetime.fromtimestamp(record.created, self.zone).isoformat(timespec="seconds")


def configure_logging(level: str = "INFO", *, zone: str = HALL_ZONE, file: Path | None = None,
                      console_level: str | None = None) -> None:
    """Logs to stderr (at `console_level`, default `level`) and, when given, in full to `file`."""
    handlers: list[logging.Handler] = []
    console = logging.StreamHandler(sys.stderr)
    console.setLevel((console_level or level).upper())
    handlers.append(console)
    if file is not None:
        file.parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(file, encoding="utf-8"))
    for handler in handlers:
        handler.setFormatter(HallTimeFormatter(zone))
    root = logging.getLogger()
    root.handlers[:] = handlers
    root.setLevel(level.upper())
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)

