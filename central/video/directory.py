"""What central knows of the halls' cameras and evidence exports, from the recorders' own events.

The wall lists every camera a recorder has reported (`recorder.camera_state`,
`recorder.health`) with its latest state, without asking any hall; the
evidence desk checks a clip it fetched over HTTP against the `recorder.export`
event the recorder sent by the store-and-forward path (`recorder.export`
carries the clip's and the manifest's SHA-256).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any

from central.projection import Projection, event_time
from central.store import CentralStore
from contract.envelope import Envelope

SCHEMA = """
CREATE TABLE IF NOT EXISTS video_cameras (
    hall TEXT NOT NULL,
    device TEXT NOT NULL,
    camera TEXT NOT NULL,
    state TEXT NOT NULL,
    since INTEGER,
    reported_at INTEGER NOT NULL,
    PRIMARY KEY (hall, device, camera)
);
CREATE TABLE IF NOT EXISTS video_exports (
    hall TEXT NOT NULL,
    device TEXT NOT NULL,
    export_id TEXT NOT NULL,
    camera TEXT NOT NULL,
    start_ms INTEGER NOT NULL,
    end_ms INTEGER NOT NULL,
    clip_bytes INTEGER NOT NULL,
    clip_sha256 TEXT NOT NULL,
    manifest_sha256 TEXT NOT NULL,
    PRIMARY KEY (hall, device, export_id)
);
"""


@dataclass(frozen=True)
class CameraEntry:
    hall: str
    device: str
    camera: str
    state: str
    since: int | None


@dataclass(frozen=True)
class ReportedExport:
    """An export as its recorder reported it upstream: the hashes a fetched clip must match."""

    export_id: str
    camera: str
    clip_bytes: int
    clip_sha256: str
    manifest_sha256: str


class FootageDirectory(Projection):
    name = "video_directory"
    schema = SCHEMA

    def __init__(self, store: CentralStore) -> None:
        self.store = store

    def apply(self, tx: sqlite3.Connection, hall: str, envelope: Envelope) -> None:
        body = envelope.body
        if envelope.type == "recorder.camera_state":
            _camera(tx, hall, envelope.device, body["camera"], body["state"], body.get("since"),
                    event_time(envelope))
        elif envelope.type == "recorder.health":
            for camera in body.get("cameras", []):
                _camera(tx, hall, envelope.device, camera["camera"], camera["state"], camera.get("since"),
                        event_time(envelope))
        elif envelope.type == "recorder.export":
            tx.execute(
                "INSERT INTO video_exports (hall, device, export_id, camera, start_ms, end_ms, clip_bytes, "
                "clip_sha256, manifest_sha256) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (hall, device, export_id) DO NOTHING",
                (hall, envelope.device, body["export_id"], body["camera"], body["start"], body["end"],
                 body["clip_bytes"], body["clip_sha256"], body["manifest_sha256"]),
            )

    def cameras(self, hall: str | None = None) -> list[CameraEntry]:
        where, params = ("WHERE hall = ? ", (hall,)) if hall is not None else ("", ())
        return [CameraEntry(*row) for row in self.store.query(
            f"SELECT hall, device, camera, state, since FROM video_cameras {where}"
            "ORDER BY hall, device, camera", params)]

    def has_camera(self, hall: str, device: str, camera: str) -> bool:
        return bool(self.store.query(
            "SELECT 1 FROM video_cameras WHERE hall = ? AND device = ? AND camera = ?",
            (hall, device, camera)))

    def reported_export(self, hall: str, device: str, export_id: str) -> ReportedExport | None:
        rows = self.store.query(
            "SELECT export_id, camera, clip_bytes, clip_sha256, manifest_sha256 FROM video_exports "
            "WHERE hall = ? AND device = ? AND export_id = ?", (hall, device, export_id))
        return ReportedExport(*rows[0]) if rows else None


def _camera(tx: sqlite3.Connection, hall: str, device: str, camera: str, state: str, since: Any,
            at: int) -> None:
    # The newest report wins, whatever order a backlog arrives in.
    tx.execute(
        "INSERT INTO video_cameras (hall, device, camera, state, since, reported_at) "
        "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (hall, device, camera) DO UPDATE SET "
        "state = excluded.state, since = excluded.since, reported_at = excluded.reported_at "
        "WHERE excluded.reported_at >= video_cameras.reported_at",
        (hall, device, camera, state, since, at),
    )
