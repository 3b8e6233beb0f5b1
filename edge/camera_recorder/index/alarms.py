"""Alarms: conditions the recorder raised and has not yet cleared, kept across restarts."""

from __future__ import annotations

from edge.camera_recorder.index.database import IndexDatabase


class Alarms:
    """The `alarms` table: one row per raised alarm, so each is raised once and cleared once."""

    def __init__(self, database: IndexDatabase) -> None:
        self._db = database

    def set(self, code: str, raised_ms: int, message: str) -> bool:
        """Raise or refresh an alarm; True when it was not raised before."""
        with self._db.transaction():
            updated = self._db.run(
                "UPDATE alarms SET message = ? WHERE code = ?", (message, code)
            ).rowcount
            if updated:
                return False
            self._db.run(
                "INSERT INTO alarms (code, raised_ms, message) VALUES (?, ?, ?)",
                (code, raised_ms, message),
            )
        return True

    def clear(self, code: str) -> bool:
        """Clear an alarm; True when it was raised."""
        return self._db.run("DELETE FROM alarms WHERE code = ?", (code,)).rowcount > 0

    def active(self) -> list[tuple[str, int, str]]:
        """(code, raised at, message) of every raised alarm."""
        return [
            (str(code), int(raised), str(message))
            for code, raised, message in self._db.all(
                "SELECT code, raised_ms, message FROM alarms ORDER BY code"
            )
        ]
