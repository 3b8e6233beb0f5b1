"""What central knows of the halls' cameras and evidence exports, from the recorders' own events.

The wall lists every camera a recorder has reported (`recorder.camera_state`,
`recorder.health`) with its latest state, without asking any hall; the
evidence desk checks a clip it fetched over HTTP against the `recorder.export`
event the recorder sent by the store-and-forward path (`recorder.export`
carries the clip's and the manifest's SHA-256).

Its statements are written once for SQLite and PostgreSQL (`spine.statement`); on
PostgreSQL its tables are made by `central/migrations` (revision 0003).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import BigInteger, Column, MetaData, Table, Text, bindparam, select

from central.projection import Projection, event_time
from central.store import CentralStore
from contract.envelope import Envelope
from spine.statement import Statement, Tx, insert_for

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


VIDEO_TABLES = MetaData()
VIDEO_CAMERAS = Table(
    "video_cameras", VIDEO_TABLES,
    Column("hall", Text, primary_key=True),
    Column("device", Text, primary_key=True),
    Column("camera", Text, primary_key=True),
    Column("state", Text, nullable=False),
    Column("since", BigInteger),
    Column("reported_at", BigInteger, nullable=False),
)
VIDEO_EXPORTS = Table(
    "video_exports", VIDEO_TABLES,
    Column("hall", Text, primary_key=True),
    Column("device", Text, primary_key=True),
    Column("export_id", Text, primary_key=True),
    Column("camera", Text, nullable=False),
    Column("start_ms", BigInteger, nullable=False),
    Column("end_ms", BigInteger, nullable=False),
    Column("clip_bytes", BigInteger, nullable=False),
    Column("clip_sha256", Text, nullable=False),
    Column("manifest_sha256", Text, nullable=False),
)
"""`SCHEMA` in SQLAlchemy Core: the statements' tables (made on PostgreSQL by migration 0003)."""
_C, _E = VIDEO_CAMERAS.c, VIDEO_EXPORTS.c


def _camera_reported(dialect: str) -> Any:
    insert = insert_for(dialect, VIDEO_CAMERAS).values(
        {name: bindparam(name) for name in ("hall", "device", "camera", "state", "since", "reported_at")})
    # The newest report wins, whatever order a backlog arrives in.
    return insert.on_conflict_do_update(
        index_elements=["hall", "device", "camera"],
        set_={"state": insert.excluded.state, "since": insert.excluded.since,
              "reported_at": insert.excluded.reported_at},
        where=insert.excluded.reported_at >= _C.reported_at)


_CAMERA_REPORTED = Statement(_camera_reported)
_EXPORTED = Statement(lambda dialect: insert_for(dialect, VIDEO_EXPORTS).values(
    {column.name: bindparam(column.name) for column in VIDEO_EXPORTS.columns}).on_conflict_do_nothing())
_CAMERAS = Statement(lambda _dialect: select(_C.hall, _C.device, _C.camera, _C.state, _C.since).order_by(
    _C.hall, _C.device, _C.camera))
_CAMERAS_OF = Statement(lambda _dialect: select(_C.hall, _C.device, _C.camera, _C.state, _C.since).where(
    _C.hall == bindparam("hall")).order_by(_C.hall, _C.device, _C.camera))
_HAS_CAMERA = Statement(lambda _dialect: select(_C.camera).where(
    _C.hall == bindparam("hall"), _C.device == bindparam("device"), _C.camera == bindparam("camera")))
_EXPORT = Statement(lambda _dialect: select(
    _E.export_id, _E.camera, _E.clip_bytes, _E.clip_sha256, _E.manifest_sha256).where(
    _E.hall == bindparam("hall"), _E.device == bindparam("device"), _E.export_id == bindparam("export_id")))


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
    portable = True

    def __init__(self, store: CentralStore) -> None:
        self.store = store

    def takes(self, type: str) -> bool:
        return type in ("recorder.camera_state", "recorder.health", "recorder.export")

    def apply(self, tx: Tx, hall: str, envelope: Envelope) -> None:
        body = envelope.body
        if envelope.type == "recorder.camera_state":
            _camera(tx, hall, envelope.device, body["camera"], body["state"], body.get("since"),
                    event_time(envelope))
        elif envelope.type == "recorder.health":
            for camera in body.get("cameras", []):
                _camera(tx, hall, envelope.device, camera["camera"], camera["state"], camera.get("since"),
                        event_time(envelope))
        elif envelope.type == "recorder.export":
            _EXPORTED.run(tx, {
                "hall": hall, "device": envelope.device, "export_id": body["export_id"],
                "camera": body["camera"], "start_ms": body["start"], "end_ms": body["end"],
                "clip_bytes": body["clip_bytes"], "clip_sha256": body["clip_sha256"],
                "manifest_sha256": body["manifest_sha256"]})

    def cameras(self, hall: str | None = None) -> list[CameraEntry]:
        if hall is None:
            found = self.store.read(lambda tx: _CAMERAS.run(tx).fetchall())
        else:
            found = self.store.read(lambda tx: _CAMERAS_OF.run(tx, {"hall": hall}).fetchall())
        return [CameraEntry(*row) for row in found]

    def has_camera(self, hall: str, device: str, camera: str) -> bool:
        return bool(self.store.read(lambda tx: _HAS_CAMERA.run(
            tx, {"hall": hall, "device": device, "camera": camera}).fetchall()))

    def reported_export(self, hall: str, device: str, export_id: str) -> ReportedExport | None:
        rows = self.store.read(lambda tx: _EXPORT.run(
            tx, {"hall": hall, "device": device, "export_id": export_id}).fetchall())
        return ReportedExport(*rows[0]) if rows else None


def _camera(tx: Tx, hall: str, device: str, camera: str, state: str, since: Any, at: int) -> None:
    _CAMERA_REPORTED.run(tx, {"hall": hall, "device": device, "camera": camera, "state": state,
                              "since": since, "reported_at": at})
