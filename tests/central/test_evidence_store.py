"""The evidence desk and the wall's layouts at central's store, the same specification on SQLite and on
PostgreSQL: a complaint's confirmed holds list its footage, a clip is fetched once and kept with its
hashes and a step in the complaint's log, it verifies once the recorder's own export event arrives;
layouts are saved, replaced and deleted. The recorder's HTTP answers come from a stand-in here
(tests/video/test_evidence.py fetches from a real recorder)."""

from __future__ import annotations

import hashlib
import io
import json
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

import pytest

from central.complaints import holds
from central.complaints import log as complaint_log
from central.projection import run_script
from central.store import CentralStore
from central.video.directory import FootageDirectory
from central.video.evidence import AWAITING, VERIFIED, EvidenceDesk, NoSuchFootage
from central.video.layouts import WallCell, WallLayout, WallLayouts
from central.video.links import Answer, GatewayLinks
from contract.envelope import Envelope, Received
from spine.clock import SimulatedClock
from spine.storeurl import StoreUrl
from tests.central.events import deliver
from tests.central.stores import migrated
from tests.support import wait_until

HALL, RECORDER, COMPLAINT = "hall-01", "rec-01", "C-0001"
T0 = 1_795_399_200_000
CLIP = b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 40
EXPORT_ID = "x1-0123abcd"


class StandInRecorder:
    """A recorder behind its hall's gateway, as the desk's `GatewayLinks` reaches it: one export."""

    def __init__(self) -> None:
        self.manifest = json.dumps({
            "hall": HALL, "device": RECORDER, "camera": "cam-1", "export_id": EXPORT_ID,
            "clip": {"sha256": hashlib.sha256(CLIP).hexdigest(), "bytes": len(CLIP)}}).encode()
        self.exports = 0

    def fetch(self, hall: str, device: str, path: str, **_: Any) -> Answer:
        if path.endswith("manifest"):
            return Answer(200, "application/json", self.manifest)
        self.exports += 1
        return Answer(201, "application/json", json.dumps({
            "export_id": EXPORT_ID, "camera": "cam-1", "start": T0, "end": T0 + 60_000,
            "clip_bytes": len(CLIP), "clip_sha256": hashlib.sha256(CLIP).hexdigest(),
            "manifest_sha256": hashlib.sha256(self.manifest).hexdigest()}).encode())

    @contextmanager
    def open(self, hall: str, device: str, path: str, **_: Any) -> Iterator[Any]:
        response = io.BytesIO(CLIP)
        response.status = 200  # type: ignore[attr-defined]
        yield response


@pytest.fixture
def store(store_url: StoreUrl) -> Iterator[CentralStore]:
    store = CentralStore(store_url, SimulatedClock(T0))
    if store.url.is_sqlite:  # the complaint desk's tables, as it makes them (migration 0003 on PostgreSQL)
        with store.transaction() as tx:
            run_script(tx, holds.SCHEMA + complaint_log.SCHEMA)
    yield store
    store.close()


@pytest.fixture
def directory(store: CentralStore) -> FootageDirectory:
    directory = FootageDirectory(store)
    directory.install(store)
    store.handlers.append(directory)
    return directory


@pytest.fixture
def desk(store: CentralStore, directory: FootageDirectory, tmp_path: Path) -> EvidenceDesk:
    from central.video import VideoRoom
    from central.video.settings import VideoSettings

    VideoRoom(VideoSettings(), store, tmp_path, lambda: T0)  # makes the video tables on SQLite
    return EvidenceDesk(store, cast(GatewayLinks, StandInRecorder()), directory, tmp_path / "evidence", 5.0,
                        lambda: T0 + 1000)


def held_on_cam1(store: CentralStore) -> None:
    """The complaint's hold requested of the recorder and confirmed for cam-1."""
    with store.statements() as tx:
        holds.request(tx, holds.FootageRequest(COMPLAINT, HALL, "w01", T0, T0 + 60_000), [RECORDER], T0,
                      "office")
        holds.confirm(tx, HALL, Envelope(
            v=1, id="e" * 32, device=RECORDER, seq=1, boot="boot0001", time=T0, mono=0, type="recorder.hold",
            body={"hold_id": f"{COMPLAINT}:cam-1", "camera": "cam-1", "state": "active",
                  "held_segments": 30, "until": T0 + 86_400_000},
            recv=Received(by="gw-hall-01", at=T0, est_time=T0)))


def test_a_confirmed_hold_is_fetched_once_kept_logged_and_verified_when_the_recorder_reports_it(
        store: CentralStore, desk: EvidenceDesk) -> None:
    assert desk.footage(COMPLAINT) == []
    held_on_cam1(store)
    (footage,) = desk.footage(COMPLAINT)
    assert (footage.device, footage.camera, footage.window) == (RECORDER, "cam-1", "w01")
    with pytest.raises(NoSuchFootage):
        desk.held(COMPLAINT, RECORDER, "cam-2")

    kept = desk.fetch(COMPLAINT, RECORDER, "cam-1", "office")
    assert desk.fetch(COMPLAINT, RECORDER, "cam-1", "office") == kept
    assert cast(StandInRecorder, desk.links).exports == 1
    assert desk.kept(COMPLAINT, RECORDER, "cam-1") == kept and kept.clip_file.read_bytes() == CLIP
    assert desk.stats() == {"clips": 1}
    steps = store.read(lambda tx: complaint_log.history(tx, COMPLAINT))
    assert steps[-1]["type"] == "complaint.footage_fetched"
    assert store.read(lambda tx: complaint_log.verify(tx))["ok"]

    assert desk.verify(footage, kept).state == AWAITING
    deliver(store, HALL, [("recorder.export", {
        "export_id": EXPORT_ID, "camera": "cam-1", "start": T0, "end": T0 + 60_000, "clip_bytes": len(CLIP),
        "clip_sha256": kept.clip_sha256, "manifest_sha256": kept.manifest_sha256}, T0)], device=RECORDER)
    assert desk.verify(footage, kept, rehash=True).state == VERIFIED


def test_the_walls_layouts_are_saved_replaced_and_deleted(store: CentralStore, desk: EvidenceDesk) -> None:
    layouts = WallLayouts(store)
    cell = WallCell(hall=HALL, device=RECORDER, camera="cam-1")
    layouts.save(WallLayout(name="大厅", grid=4, cells=[cell, None]), "office", T0)
    layouts.save(WallLayout(name="A区", grid=1, cells=[cell]), "office", T0)
    layouts.save(WallLayout(name="大厅", grid=9, cells=[None, cell]), "chief", T0 + 1)
    saved = {layout.name: layout for layout in layouts.all()}
    assert sorted(saved) == ["A区", "大厅"]
    assert (saved["大厅"].grid, saved["大厅"].cells, saved["大厅"].saved_by) == (9, [None, cell], "chief")
    assert layouts.delete("A区") and not layouts.delete("A区")
    assert [layout.name for layout in layouts.all()] == ["大厅"]


class GatedRecorder(StandInRecorder):
    """A recorder whose export answers only when the test lets it: a fetch caught in the middle."""

    def __init__(self) -> None:
        super().__init__()
        self.asked = threading.Event()
        self.go_on = threading.Event()

    def fetch(self, hall: str, device: str, path: str, **kw: Any) -> Answer:
        if not path.endswith("manifest"):
            self.asked.set()
            assert self.go_on.wait(30), "the test never let the export answer"
        return super().fetch(hall, device, path, **kw)


def _waiting_for_a_clip(url: StoreUrl) -> int:
    import psycopg

    with psycopg.connect(host=url.host, port=url.port, user=url.user, dbname=url.database) as sql:
        row = sql.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
                          "AND NOT granted").fetchone()
    return int(row[0]) if row else 0


def test_two_processes_asked_for_one_clip_at_once_fetch_it_once(
        pg_database: StoreUrl, tmp_path: Path) -> None:
    """Two central processes on one PostgreSQL (two stores, two desks, one shared evidence_dir):
    the second waits at the clip's advisory lock while the first fetches, then answers with the
    clip the first one recorded. Without the lock both export it, and the second's record is
    refused by the table's key."""
    from central.video import VideoRoom
    from central.video.settings import VideoSettings

    url = migrated(pg_database)
    recorder = GatedRecorder()
    stores = [CentralStore(url, SimulatedClock(T0)) for _ in range(2)]
    try:
        desks = []
        for store in stores:
            directory = FootageDirectory(store)
            VideoRoom(VideoSettings(), store, tmp_path, lambda: T0)
            desks.append(EvidenceDesk(store, cast(GatewayLinks, recorder), directory,
                                      tmp_path / "evidence", 5.0, lambda: T0 + 1000))
        held_on_cam1(stores[0])
        with ThreadPoolExecutor(2) as pool:
            first = pool.submit(desks[0].fetch, COMPLAINT, RECORDER, "cam-1", "office")
            assert recorder.asked.wait(30)
            second = pool.submit(desks[1].fetch, COMPLAINT, RECORDER, "cam-1", "chief")
            wait_until(lambda: _waiting_for_a_clip(url) == 1, what="the second at the clip's lock")
            recorder.go_on.set()
            kept = first.result(30)
            assert second.result(30) == kept
        assert recorder.exports == 1
        assert kept.fetched_by == "office" and kept.clip_file.read_bytes() == CLIP
        steps = stores[1].read(lambda tx: complaint_log.history(tx, COMPLAINT))
        assert [s["type"] for s in steps].count("complaint.footage_fetched") == 1
    finally:
        recorder.go_on.set()
        for store in stores:
            store.close()
