"""Evidence for a complaint: its held footage, fetched as a clip from the recorder and proven unchanged.

A complaint's footage holds (`central/complaints/holds.py`) name, per recorder,
the cameras that confirmed them and the visit's range. From one of them the
desk asks the recorder, through the hall's gateway, to export the range (the
recorder's own `export_clip`: stream copy into MP4, SHA-256 of every source
segment and of the clip, a manifest recorded in its index), then fetches the
manifest and the clip, hashing the bytes as they arrive, and keeps both under
`evidence_dir/<complaint>/`.

"Verified" means all of these hold:
- the clip's bytes hash to what the manifest says (`clip.sha256`, `clip.bytes`);
- the manifest's bytes hash to what the recorder answered, and name the
  complaint's hall, recorder, camera and export;
- the recorder's `recorder.export` event, which reached central by the
  store-and-forward path and not over HTTP, carries the same two hashes
  (until it arrives the clip is "awaiting the recorder's record");
- the copy kept here still has those bytes (size at every look, SHA-256 again
  on `verify`).

Each fetch is a step of the complaint's hash-chained log (who fetched which
export, with both hashes).

Its statements are written once for SQLite and PostgreSQL (`spine.statement`); on
PostgreSQL `evidence_clips` is made by `central/migrations` (revision 0004).
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import threading
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import BigInteger, Column, MetaData, Table, Text, bindparam, func, select

from central.complaints import log as complaint_log
from central.complaints.holds import COMPLAINT_HOLDS
from central.store import CentralStore
from central.video.directory import FootageDirectory
from central.video.links import GatewayLinks
from contract.video import CLIP, MANIFEST, ExportAnswer, ExportRequest, export_path
from spine.engines import open_engine
from spine.statement import Statement

log = logging.getLogger(__name__)

CHUNK = 256 * 1024

SCHEMA = """
CREATE TABLE IF NOT EXISTS evidence_clips (
    complaint TEXT NOT NULL,
    hall TEXT NOT NULL,
    device TEXT NOT NULL,
    camera TEXT NOT NULL,
    export_id TEXT NOT NULL,
    start_ms INTEGER NOT NULL,
    end_ms INTEGER NOT NULL,
    clip_file TEXT NOT NULL,
    clip_bytes INTEGER NOT NULL,
    clip_sha256 TEXT NOT NULL,
    manifest_file TEXT NOT NULL,
    manifest_sha256 TEXT NOT NULL,
    answered_manifest_sha256 TEXT NOT NULL,
    fetched_at INTEGER NOT NULL,
    fetched_by TEXT NOT NULL,
    PRIMARY KEY (complaint, device, camera)
);
"""

EVIDENCE_TABLES = MetaData()
EVIDENCE_CLIPS = Table(
    "evidence_clips", EVIDENCE_TABLES,
    *(Column(name, Text, primary_key=True) for name in ("complaint", "device", "camera")),
    Column("hall", Text, nullable=False),
    Column("export_id", Text, nullable=False),
    Column("start_ms", BigInteger, nullable=False),
    Column("end_ms", BigInteger, nullable=False),
    Column("clip_file", Text, nullable=False),
    Column("clip_bytes", BigInteger, nullable=False),
    Column("clip_sha256", Text, nullable=False),
    Column("manifest_file", Text, nullable=False),
    Column("manifest_sha256", Text, nullable=False),
    Column("answered_manifest_sha256", Text, nullable=False),
    Column("fetched_at", BigInteger, nullable=False),
    Column("fetched_by", Text, nullable=False),
)
"""`SCHEMA` in SQLAlchemy Core: the statements' table (made on PostgreSQL by migration 0004)."""
_C, _H = EVIDENCE_CLIPS.c, COMPLAINT_HOLDS.c
# complaint_holds belongs to the complaint desk (central/complaints/holds.py): read only.
_HELD = Statement(lambda _dialect: select(
    _H.hall, _H.device, _H.window, _H.start_ms, _H.end_ms, _H.cameras).where(
    _H.complaint == bindparam("complaint"), _H.confirmed_at.is_not(None)).order_by(_H.device))
_KEPT = Statement(lambda _dialect: select(
    _C.export_id, _C.clip_file, _C.clip_bytes, _C.clip_sha256, _C.manifest_file, _C.manifest_sha256,
    _C.answered_manifest_sha256, _C.fetched_at, _C.fetched_by).where(
    _C.complaint == bindparam("complaint"), _C.device == bindparam("device"),
    _C.camera == bindparam("camera")))
_FETCHED = Statement(lambda _dialect: EVIDENCE_CLIPS.insert().values(
    {column.name: bindparam(column.name) for column in EVIDENCE_CLIPS.columns}))
_COUNT = Statement(lambda _dialect: select(func.count()).select_from(EVIDENCE_CLIPS))

_CLAIM = Statement(lambda _dialect: select(func.pg_advisory_lock(bindparam("key"))))
_UNCLAIM = Statement(lambda _dialect: select(func.pg_advisory_unlock(bindparam("key"))))
CLAIM_NAMESPACE = "hallwatch central evidence clip:"
"""Hashed before the clip's names: its keys meet neither a hall's nor the case log's."""


def clip_lock_key(complaint: str, device: str, camera: str) -> int:
    """The clip's advisory-lock key: the first 8 bytes of SHA-256 of the namespace and the
    clip's names (unit-separated), signed, as `central.hall_lock` makes a hall's."""
    names = "\x1f".join((complaint, device, camera))
    digest = hashlib.sha256((CLAIM_NAMESPACE + names).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


VERIFIED = "verified"
AWAITING = "awaiting_record"
FAILED = "failed"


class NoSuchFootage(LookupError):
    """The complaint has no confirmed hold on that recorder's camera."""


class EvidenceUnavailable(RuntimeError):
    """The recorder could not give the clip; `status` is its HTTP answer (or 502)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status


@dataclass(frozen=True)
class HeldFootage:
    """One camera's held range of a complaint's visit."""

    complaint: str
    hall: str
    device: str
    camera: str
    window: str
    start: int
    end: int


@dataclass(frozen=True)
class KeptClip:
    """A clip fetched for a complaint, as kept at central."""

    export_id: str
    clip_file: Path
    clip_bytes: int
    clip_sha256: str
    manifest_file: Path
    manifest_sha256: str
    answered_manifest_sha256: str
    fetched_at: int
    fetched_by: str


@dataclass
class Verification:
    state: str = VERIFIED
    checks: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def fail(self, problem: str) -> None:
        self.state = FAILED
        self.problems.append(problem)


class EvidenceDesk:
    def __init__(self, store: CentralStore, links: GatewayLinks, directory: FootageDirectory,
                 evidence_dir: Path, export_timeout_s: float, now_ms: Callable[[], int]) -> None:
        self.store = store
        self.links = links
        self.directory = directory
        self.evidence_dir = evidence_dir
        self.export_timeout_s = export_timeout_s
        self.now_ms = now_ms
        self._fetching: dict[tuple[str, str, str], threading.Lock] = {}
        self._lock = threading.Lock()

    # --- what a complaint has --------------------------------------------------

    def footage(self, complaint: str) -> list[HeldFootage]:
        """Every camera a recorder confirmed holding for the complaint, in device and camera order."""
        held = []
        for hall, device, window, start, end, cameras in self.store.read(
                lambda tx: _HELD.run(tx, {"complaint": complaint}).fetchall()):
            for camera in sorted(json.loads(cameras or "[]")):
                held.append(HeldFootage(complaint, hall, device, camera, window, start, end))
        return held

    def held(self, complaint: str, device: str, camera: str) -> HeldFootage:
        for footage in self.footage(complaint):
            if (footage.device, footage.camera) == (device, camera):
                return footage
        raise NoSuchFootage(f"complaint {complaint} has no held footage of {device}/{camera}")

    def kept(self, complaint: str, device: str, camera: str) -> KeptClip | None:
        row = self.store.read(lambda tx: _KEPT.run(
            tx, {"complaint": complaint, "device": device, "camera": camera}).fetchone())
        if row is None:
            return None
        export_id, clip, size, clip_hash, manifest, manifest_hash, answered, at, by = row
        return KeptClip(export_id, Path(clip), size, clip_hash, Path(manifest), manifest_hash, answered,
                        at, by)

    # --- fetching ---------------------------------------------------------------

    def fetch(self, complaint: str, device: str, camera: str, who: str) -> KeptClip:
        """The clip of a held camera, fetched from its recorder once (later calls return it).

        Once across processes too: the fetch holds the clip's claim (`_claimed`), so a second
        process asked for the same clip meanwhile waits for it, then finds it kept."""
        footage = self.held(complaint, device, camera)
        with self._lock:
            lock = self._fetching.setdefault((complaint, device, camera), threading.Lock())
        with lock, self._claimed(complaint, device, camera):
            kept = self.kept(complaint, device, camera)
            if kept is not None:
                return kept
            return self._fetch(footage, who)

    @contextmanager
    def _claimed(self, complaint: str, device: str, camera: str) -> Iterator[None]:
        """On PostgreSQL, the clip's advisory lock (`clip_lock_key`) held for the whole fetch, on
        a connection of its own outside any transaction (a fetch takes seconds or minutes: the
        store's one connection, and a transaction, stay free meanwhile). A second process waits
        at the lock, then reads the clip the first one recorded; the server releases the lock if
        the fetching process dies (its connection goes), and the next asker fetches. On SQLite
        (one central process per file) the in-process lock is enough."""
        if self.store.dialect != "postgresql":
            yield
            return
        engine = open_engine(self.store.url)
        try:
            with engine.connect() as sql:
                sql = sql.execution_options(isolation_level="AUTOCOMMIT")
                key = {"key": clip_lock_key(complaint, device, camera)}
                _CLAIM.run(sql, key)
                try:
                    yield
                finally:
                    _UNCLAIM.run(sql, key)
        finally:
            engine.dispose()

    def _fetch(self, footage: HeldFootage, who: str) -> KeptClip:
        request = ExportRequest(camera=footage.camera, start=footage.start, end=footage.end,
                                who=f"central: {who}", why=f"complaint {footage.complaint}")
        answer_raw = self.links.fetch(footage.hall, footage.device, export_path(), method="POST",
                                      body=request.model_dump_json().encode(),
                                      timeout_s=self.export_timeout_s)
        if answer_raw.status != 201:
            raise EvidenceUnavailable(answer_raw.status, _detail(answer_raw.body))
        answer = ExportAnswer.model_validate_json(answer_raw.body)
        folder = self.evidence_dir / footage.complaint
        folder.mkdir(parents=True, exist_ok=True)
        stem = f"{footage.device}_{footage.camera}_{answer.export_id}"
        manifest = self.links.fetch(footage.hall, footage.device, export_path(answer.export_id, MANIFEST))
        if manifest.status != 200:
            raise EvidenceUnavailable(manifest.status, _detail(manifest.body))
        manifest_file = folder / f"{stem}.manifest.json"
        _write_durably(manifest_file, [manifest.body])
        clip_file = folder / f"{stem}.mp4"
        with self.links.open(footage.hall, footage.device, export_path(answer.export_id, CLIP),
                             timeout_s=self.export_timeout_s) as response:
            if response.status != 200:
                raise EvidenceUnavailable(response.status, _detail(response.read()))
            digest = hashlib.sha256()
            size = _write_durably(clip_file, _hashed(iter(lambda: response.read(CHUNK), b""), digest))
        kept = KeptClip(answer.export_id, clip_file, size, digest.hexdigest(), manifest_file,
                        hashlib.sha256(manifest.body).hexdigest(), answer.manifest_sha256,
                        self.now_ms(), who)
        with self.store.statements() as tx:
            _FETCHED.run(tx, {
                "complaint": footage.complaint, "hall": footage.hall, "device": footage.device,
                "camera": footage.camera, "export_id": kept.export_id, "start_ms": footage.start,
                "end_ms": footage.end, "clip_file": str(clip_file), "clip_bytes": size,
                "clip_sha256": kept.clip_sha256, "manifest_file": str(manifest_file),
                "manifest_sha256": kept.manifest_sha256,
                "answered_manifest_sha256": kept.answered_manifest_sha256, "fetched_at": kept.fetched_at,
                "fetched_by": who})
            complaint_log.LOG.append(
                tx, footage.complaint, "complaint.footage_fetched", kept.fetched_at, who, {
                    "device": footage.device, "camera": footage.camera, "export_id": kept.export_id,
                    "clip_sha256": kept.clip_sha256, "manifest_sha256": kept.manifest_sha256})
        log.info("complaint %s: fetched %s of %s/%s (%d bytes)", footage.complaint, kept.export_id,
                 footage.device, footage.camera, size)
        return kept

    # --- proving it ---------------------------------------------------------------

    def verify(self, footage: HeldFootage, kept: KeptClip, *, rehash: bool = False) -> Verification:
        result = Verification()
        try:
            manifest_bytes = kept.manifest_file.read_bytes()
            manifest = json.loads(manifest_bytes)
        except (OSError, ValueError) as exc:
            result.fail(f"the kept manifest cannot be read: {exc}")
            return result
        manifest_hash = hashlib.sha256(manifest_bytes).hexdigest()
        if manifest_hash != kept.manifest_sha256:
            result.fail("the kept manifest changed since it was fetched")
        if manifest_hash != kept.answered_manifest_sha256:
            result.fail("the manifest served differs from the one the recorder recorded")
        named = tuple(manifest.get(key) for key in ("hall", "device", "camera", "export_id"))
        if named != (footage.hall, footage.device, footage.camera, kept.export_id):
            result.fail(f"the manifest is of {'/'.join(map(str, named))}, not of this footage")
        clip = manifest.get("clip", {})
        if (clip.get("sha256"), clip.get("bytes")) != (kept.clip_sha256, kept.clip_bytes):
            result.fail("the clip's bytes do not hash to the manifest's clip.sha256")
        else:
            result.checks.append(f"clip SHA-256 {kept.clip_sha256} = manifest's")
        self._check_kept_clip(kept, result, rehash)
        reported = self.directory.reported_export(footage.hall, footage.device, kept.export_id)
        if reported is None:
            if result.state == VERIFIED:
                result.state = AWAITING
            result.checks.append("the recorder's recorder.export event has not reached central yet")
        elif (reported.clip_sha256, reported.manifest_sha256) != (kept.clip_sha256, manifest_hash):
            result.fail("the hashes differ from the recorder's recorder.export event")
        else:
            result.checks.append("clip and manifest SHA-256 = the recorder's recorder.export event")
        return result

    @staticmethod
    def _check_kept_clip(kept: KeptClip, result: Verification, rehash: bool) -> None:
        try:
            size = kept.clip_file.stat().st_size
        except OSError:
            result.fail("the kept clip is missing")
            return
        if size != kept.clip_bytes:
            result.fail(f"the kept clip has {size} bytes, not the {kept.clip_bytes} fetched")
        elif rehash:
            digest = hashlib.sha256()
            with open(kept.clip_file, "rb") as handle:
                for chunk in iter(lambda: handle.read(CHUNK), b""):
                    digest.update(chunk)
            if digest.hexdigest() != kept.clip_sha256:
                result.fail("the kept clip's bytes changed since they were fetched")
            else:
                result.checks.append("the kept clip hashed again: unchanged")

    # --- the download ---------------------------------------------------------------

    @staticmethod
    def bundle(kept: KeptClip) -> Iterator[bytes]:
        """The export as one download, streamed: the clip and its manifest, stored (not recompressed)
        in a zip."""
        sink = _Chunks()
        with zipfile.ZipFile(sink, "w", zipfile.ZIP_STORED) as archive:
            for path in (kept.clip_file, kept.manifest_file):
                with archive.open(path.name, "w", force_zip64=True) as entry, open(path, "rb") as source:
                    for chunk in iter(lambda s=source: s.read(CHUNK), b""):  # type: ignore[misc]
                        entry.write(chunk)
                        yield from sink.drain()
        yield from sink.drain()

    def stats(self) -> dict[str, Any]:
        count = self.store.read(lambda tx: _COUNT.run(tx).fetchone()[0])
        return {"clips": count}


class _Chunks(io.RawIOBase):
    """A write-only, unseekable sink for zipfile: what it was given, handed on as it comes."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self._parts.append(bytes(data))
        return len(data)

    def drain(self) -> Iterator[bytes]:
        parts, self._parts = self._parts, []
        yield from parts


def _hashed(chunks: Iterator[bytes], digest: Any) -> Iterator[bytes]:
    for chunk in chunks:
        digest.update(chunk)
        yield chunk


def _write_durably(path: Path, chunks: Iterator[bytes] | list[bytes]) -> int:
    partial = path.with_name(path.name + ".part")
    size = 0
    with open(partial, "wb") as handle:
        for chunk in chunks:
            handle.write(chunk)
            size += len(chunk)
        handle.flush()
        os.fsync(handle.fileno())
    partial.replace(path)
    return size


def _detail(body: bytes) -> str:
    try:
        return str(json.loads(body).get("detail") or body[:300].decode("utf-8", "replace"))
    except (ValueError, AttributeError):
        return body[:300].decode("utf-8", "replace")
