"""A complaint's held footage at central: fetched from the recorder, played in Chromium, proven by SHA-256."""

from __future__ import annotations

import hashlib
import io
import json
import time
import zipfile
from collections.abc import Callable
from typing import Any

from central.telemetry import recorders_of
from tests.central.browser import chromium
from tests.central.hall import served
from tests.support import wait_until
from tests.video.conftest import DEADLINE_S, HALL, RECORDER, SUPERVISOR_TOKEN, VIEWER_TOKEN, VideoHall


def footage_of(hall: VideoHall, complaint: str) -> list[dict[str, Any]]:
    with hall.api() as http:
        return list(http.get(f"/api/video/evidence/{complaint}").json())


def complaint_with_held_footage(hall: VideoHall) -> str:
    """A ticket served at window w01 a few seconds ago, a complaint about it, its hold confirmed."""
    wait_until(lambda: RECORDER in recorders_of(hall.central.store, HALL), DEADLINE_S,
               "central to know the hall's recorder")
    recorder = hall.recorder.recorder
    wait_until(lambda: len(recorder.index.segments.between("cam-1", 0, 2**62)) >= 4, DEADLINE_S,
               "8 s of cam-1's footage")
    now = int(time.time() * 1000)
    called, ended = now - 7000, now - 3000
    hall.gateway.store.record_own("queue.served", served("A017", "w01", "李明", called, ended))
    wait_until(lambda: hall.central.store.query(
        "SELECT count(*) FROM events WHERE type = 'queue.served'")[0][0], DEADLINE_S,
        "the served ticket at central")
    with hall.api(SUPERVISOR_TOKEN) as office:
        answer = office.post("/api/complaints", json={
            "hall": HALL, "ticket": "A017", "summary": "窗口工作人员态度生硬", "phone": "13712345678"})
        assert answer.status_code == 201, answer.text
        complaint = str(answer.json()["id"])
    wait_until(lambda: footage_of(hall, complaint), DEADLINE_S, "the recorder to confirm the hold")
    return complaint


def test_a_complaints_clip_plays_in_the_browser_and_shows_verified(
    start_video_hall: Callable[[int], VideoHall],
) -> None:
    hall = start_video_hall(2)
    complaint = complaint_with_held_footage(hall)
    held = footage_of(hall, complaint)
    assert [(f["device"], f["camera"], f["window"]) for f in held] == [(RECORDER, "cam-1", "w01")], \
        "only the camera of the complained-about window"
    assert held[0]["clip"] is None, "nothing is fetched before someone asks"

    with chromium() as driver:
        driver.get(f"{hall.central.base_url}/evidence?token={VIEWER_TOKEN}")
        driver.get(f"{hall.central.base_url}/evidence?complaint={complaint}")
        fetch = wait_until(lambda: driver.find_elements("css selector", '.held[data-camera="cam-1"] .fetch'),
                           DEADLINE_S, "the held camera and its fetch button")
        fetch[0].click()
        badge = wait_until(lambda: driver.find_elements(
            "css selector", '.held[data-camera="cam-1"] .verification[data-state="verified"]'),
            DEADLINE_S, "the clip to be fetched and verified")
        assert "verified" in badge[0].text and "已验证" in badge[0].text
        wait_until(lambda: driver.execute_script(
            "const v = document.querySelector('.held video'); return v && v.currentTime > 1;"),
            DEADLINE_S, "the clip's currentTime to advance")
        assert "13712345678" not in driver.page_source

    clip = footage_of(hall, complaint)[0]["clip"]
    assert clip["verification"] == "verified" and not clip["problems"]
    with hall.api() as http:
        bundle = http.get(clip["download_url"])
        assert bundle.status_code == 200 and bundle.headers["content-type"] == "application/zip"
        with zipfile.ZipFile(io.BytesIO(bundle.content)) as archive:
            names = archive.namelist()
            video = archive.read(next(n for n in names if n.endswith(".mp4")))
            manifest = json.loads(archive.read(next(n for n in names if n.endswith(".manifest.json"))))
        assert hashlib.sha256(video).hexdigest() == manifest["clip"]["sha256"] == clip["sha256"]
        assert (manifest["hall"], manifest["device"], manifest["camera"]) == (HALL, RECORDER, "cam-1")
        assert manifest["reason"] == f"complaint {complaint}"
        assert http.get(clip["clip_url"], headers={"Range": "bytes=0-99"}).status_code == 206
        with hall.api(SUPERVISOR_TOKEN) as office:
            steps = office.get(f"/api/complaints/{complaint}/history").json()
        fetched = [s for s in steps if s["type"] == "complaint.footage_fetched"]
        assert len(fetched) == 1 and fetched[0]["body"]["clip_sha256"] == clip["sha256"]

        # Fetching again gives the same clip: the recorder exports once per complaint camera.
        again = http.post(held[0]["fetch_url"]).json()["clip"]
        assert again["export_id"] == clip["export_id"]

        # A kept clip changed behind central's back is caught: by its size at once, by its hash on verify.
        kept = next((hall.central.config.data_dir / "evidence" / complaint).glob("*.mp4"))
        data = bytearray(kept.read_bytes())
        data[len(data) // 2] ^= 0xFF
        kept.write_bytes(bytes(data))
        rechecked = http.post(f"{held[0]['fetch_url']}/verify").json()["clip"]
        assert rechecked["verification"] == "failed"
        assert any("changed" in problem for problem in rechecked["problems"])
