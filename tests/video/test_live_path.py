"""Live video from a camera to central's API, hop by hop, on request only, with a token at every hop."""

from __future__ import annotations

import re
from collections.abc import Callable

import httpx

from contract.video import API, bearer
from tests.support import wait_until
from tests.video.conftest import DEADLINE_S, HALL, HALL_TOKEN, RECORDER, RECORDER_TOKEN, VideoHall

PDT = re.compile(r"#EXT-X-PROGRAM-DATE-TIME:(\S+)")


def test_a_watched_camera_plays_through_gateway_and_central_and_an_unwatched_one_costs_nothing(
    start_video_hall: Callable[[int], VideoHall],
) -> None:
    hall = start_video_hall(2)
    cameras = hall.wait_for_cameras(2)
    assert {c["camera"] for c in cameras} == {"cam-1", "cam-2"}
    listed = next(c for c in cameras if c["camera"] == "cam-1")
    assert listed["watchable"] and listed["hall_name"] == "市政务服务中心"

    with hall.api() as http:
        def playlist() -> str | None:
            answer = http.get(listed["playlist"])
            return answer.text if answer.status_code == 200 and ".ts" in answer.text else None

        text = wait_until(playlist, DEADLINE_S, "cam-1's live playlist at central")
        assert PDT.search(text), "every live segment carries its program date-time"
        segment = [line for line in text.splitlines() if line.endswith(".ts")][-1]
        answer = http.get(listed["playlist"].replace("index.m3u8", segment))
        assert answer.status_code == 200 and answer.headers["content-type"] == "video/mp2t"
        assert answer.content[0] == 0x47, "an MPEG-TS segment, as the camera sent it (stream copy)"

    served = hall.recorder_video.video.served
    assert served["cam-1"] > 0
    assert served["cam-2"] == 0, "nobody watched cam-2: not one request reached its recorder"
    assert hall.recorder_video.video.bytes_served["cam-2"] == 0
    assert hall.central.video.live.fetched.get((HALL, RECORDER, "cam-2"), 0) == 0
    relayed = hall.gateway.diagnostics()["video"]
    assert relayed["requests"][RECORDER] >= 2 and relayed["bytes"][RECORDER] > 0, \
        "the gateway's diagnostics show what it relayed to the recorder"


def test_every_hop_wants_its_own_token(start_video_hall: Callable[[int], VideoHall]) -> None:
    hall = start_video_hall(1)
    recorder_url = f"{hall.recorder_video.url}{API}/live/cam-1/index.m3u8"
    gateway_url = f"{hall.relay.url}{API}/{RECORDER}/live/cam-1/index.m3u8"
    wait_until(lambda: httpx.get(recorder_url, headers=bearer(RECORDER_TOKEN)).status_code == 200,
               DEADLINE_S, "the recorder's live playlist")

    assert httpx.get(recorder_url).status_code == 401
    assert httpx.get(recorder_url, headers=bearer(HALL_TOKEN)).status_code == 401, \
        "central's token to the hall opens nothing at the recorder"
    assert httpx.get(gateway_url).status_code == 401
    assert httpx.get(gateway_url, headers=bearer(RECORDER_TOKEN)).status_code == 401
    assert httpx.get(gateway_url, headers=bearer(HALL_TOKEN)).status_code == 200
    with hall.api() as http:
        assert httpx.get(f"{hall.central.base_url}/api/video/cameras").status_code == 401
        assert http.get(f"/api/video/live/{HALL}/{RECORDER}/cam-1/index.m3u8").status_code == 200


def test_the_gateway_relays_only_to_its_halls_recorders(start_video_hall: Callable[[int], VideoHall]) -> None:
    hall = start_video_hall(1)
    relay = hall.relay.url + API
    headers = bearer(HALL_TOKEN)
    assert httpx.get(f"{relay}/rec-99/live/cam-1/index.m3u8", headers=headers).status_code == 404
    refused = httpx.get(f"{relay}/kiosk-01/live/cam-1/index.m3u8", headers=headers)
    assert refused.status_code == 403 and "not a recorder" in refused.json()["detail"]
    assert httpx.get(f"{relay}/{RECORDER}/live/cam-1/..%2f..%2fetc", headers=headers).status_code == 404
    assert httpx.get(f"{relay}/{RECORDER}/live/cam-9/index.m3u8", headers=headers).status_code == 404
    with hall.api() as http:
        assert http.get(f"/api/video/live/{HALL}/{RECORDER}/cam-1/passwd").status_code == 404
        assert http.get(f"/api/video/live/hall-77/{RECORDER}/cam-1/index.m3u8").status_code == 404
