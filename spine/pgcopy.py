"""A COPY into PostgreSQL whose end is answered later: the server stores the rows while the
client goes on (`spine.eventlog.EventLog.send_all`).

psycopg's `Copy` waits at its end for the server's answer, that is, for the server to have
stored every row. Its writer is pluggable (`psycopg.copy.Writer`); this one sends the end
and leaves the answer to be read when the caller is ready for it. Until then libpq takes
no other statement on the connection: the caller settles first (`spine.statement.owe`).
It uses psycopg's own generators and waiting (`psycopg.generators`, `psycopg.waiting`), as
psycopg's `LibpqWriter` does, so it follows the version pinned (psycopg 3.x).
"""

from __future__ import annotations

from typing import Any

from psycopg import errors, pq
from psycopg.copy import LibpqWriter
from psycopg.generators import fetch_many
from psycopg.waiting import Wait


class EndAnsweredLater(LibpqWriter):
    """psycopg's writer of a COPY's rows, whose end does not wait for the server's answer: it
    sends CopyDone and returns, and `answer` reads the answer later. The server stores the
    rows meanwhile (a batch's 100 events' four index entries each: about 1.5 ms on the
    development machine, which the handlers' Python then runs beside instead of after)."""

    def __init__(self, cursor: Any) -> None:
        super().__init__(cursor)
        self._ended = False

    def finish(self, exc: BaseException | None = None) -> None:
        if exc is not None:
            super().finish(exc)  # CopyFail, and the server's answer read at once
            return
        self.connection.wait(_end_copy(self._pgconn))
        self._ended = True

    def answer(self, rows: int) -> None:
        """The server's answer to the COPY: raises its error; checks it stored `rows` rows."""
        if not self._ended:
            return
        self._ended = False
        with self.connection.lock:
            results = self.connection.wait(fetch_many(self._pgconn))
        for result in results:
            if result.status != pq.ExecStatus.COMMAND_OK:
                raise errors.error_from_result(result, encoding=self._pgconn._encoding)
        status = results[-1].command_status or b""
        if status != f"COPY {rows}".encode():
            raise RuntimeError(f"the event log's COPY answered {status!r} for {rows} rows")


def _end_copy(pgconn: Any) -> Any:
    """psycopg's `copy_end` without reading the answer: CopyDone queued, then flushed."""
    while pgconn.put_copy_end(None) == 0:
        while not (yield Wait.W):
            continue
    while True:
        while not (yield Wait.W):
            continue
        if pgconn.flush() == 0:
            break
