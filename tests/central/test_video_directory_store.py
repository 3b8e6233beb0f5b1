"""The video directory at the store, the same specification on SQLite and on PostgreSQL: every camera a
recorder reported with its newest state whatever order reports arrive in, and each export's hashes
as the recorder sent them (a fetched clip is checked against those)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from central.store import CentralStore
from central.video.directory import CameraEntry, FootageDirectory, ReportedExport
from spine.clock import SimulatedClock
from spine.storeurl import StoreUrl
from tests.central.events import deliver

HALL = "hall-01"
RECORDER = "recorder-01"
T0 = 1_795_399_200_000
SECOND = 1000


@pytest.fixture
def store(store_url: StoreUrl) -> Iterator[CentralStore]:
    store = CentralStore(store_url, SimulatedClock(T0))
    yield store
    store.close()


@pytest.fixture
def directory(store: CentralStore) -> FootageDirectory:
    directory = FootageDirectory(store)
    directory.install(store)
    store.handlers.append(directory)
    return directory


def test_each_camera_shows_its_newest_reported_state_whatever_order_reports_arrive_in(
        store: CentralStore, directory: FootageDirectory) -> None:
    deliver(store, HALL, [
        ("recorder.camera_state", {"camera": "cam1", "state": "stalled", "since": T0 + 5 * SECOND},
         T0 + 5 * SECOND),
        ("recorder.camera_state", {"camera": "cam1", "state": "recording", "since": T0}, T0),
        ("recorder.health", {"cameras": [{"camera": "cam2", "state": "recording", "since": T0}]}, T0),
    ], device=RECORDER)
    deliver(store, "hall-02", [("recorder.camera_state", {"camera": "cam1", "state": "recording"}, T0)],
            device="recorder-02")
    assert directory.cameras(HALL) == [
        CameraEntry(HALL, RECORDER, "cam1", "stalled", T0 + 5 * SECOND),
        CameraEntry(HALL, RECORDER, "cam2", "recording", T0)]
    assert [c.hall for c in directory.cameras()] == [HALL, HALL, "hall-02"]
    assert directory.has_camera(HALL, RECORDER, "cam2")
    assert not directory.has_camera(HALL, "recorder-02", "cam1")


def test_an_export_keeps_the_hashes_its_recorder_sent_first(store: CentralStore,
                                                            directory: FootageDirectory) -> None:
    export = {"export_id": "ex-1", "camera": "cam1", "start": T0, "end": T0 + 60 * SECOND,
              "clip_bytes": 5_000_000, "clip_sha256": "a" * 64, "manifest_sha256": "b" * 64}
    deliver(store, HALL, [("recorder.export", export, T0)], device=RECORDER)
    deliver(store, HALL, [("recorder.export", {**export, "clip_sha256": "c" * 64}, T0)], device=RECORDER)
    assert directory.reported_export(HALL, RECORDER, "ex-1") == ReportedExport(
        "ex-1", "cam1", 5_000_000, "a" * 64, "b" * 64)
    assert directory.reported_export(HALL, RECORDER, "ex-2") is None
