"""What the recorder serves its hall gateway: live playlists and segments, cameras, evidence clips.

Only on request, only to a caller with the recorder's token (`[video] token`):
the recorder pushes nothing, so a camera nobody watches costs nothing beyond
the few seconds of live segments its ffmpeg keeps on the recorder's own disk
(or tmpfs). Every request is counted per camera (`served`), so "nobody asked
for this camera" is a fact a test and diagnostics can read.

Evidence: `POST exports` cuts the range by stream copy into MP4 (the same
`export_clip` as `hall recorder export`, so the manifest is recorded in the
index and reported upstream as `recorder.export`), then the clip and the exact
manifest bytes can be fetched.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections import Counter
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from pydantic import ValidationError

from contract.video import (
    API,
    CAMERAS,
    CLIP,
    EXPORT_ID,
    EXPORTS,
    LIVE,
    LIVE_PLAYLIST,
    MANIFEST,
    ExportAnswer,
    ExportRequest,
    LiveCamera,
    content_type_of,
    live_file_allowed,
)
from edge.camera_recorder.config import RecorderConfig
from edge.camera_recorder.export import ExportFailed, NoFootage, export_clip
from edge.camera_recorder.service import Recorder
from edge.camera_recorder.supervisor import CameraState
from spine.httphop import BearerCheck, HopServer, QuietHandler

log = logging.getLogger(__name__)

CHUNK = 256 * 1024
MAX_BODY = 16 * 1024
EVIDENCE_CONTAINER = "mp4"  # what a browser plays; stream copy of H.264 needs no other


class Refused(Exception):
    """A request the recorder will not serve: its HTTP status and why."""

    def __init__(self, status: HTTPStatus, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True)
class Served:
    """A file to send: where it is and its type."""

    path: Path
    content_type: str


class RecorderVideo:
    """The recorder's video answers, apart from HTTP: cameras, live files, exports."""

    def __init__(self, recorder: Recorder, config: RecorderConfig) -> None:
        self.recorder = recorder
        self.config = config
        self.served: Counter[str] = Counter()
        """Requests per camera (live files and exports): zero for a camera nobody watched."""
        self.bytes_served: Counter[str] = Counter()
        self._counting = threading.Lock()
        self._exporting = threading.Lock()  # one ffmpeg join at a time on a small Pi

    def count(self, camera: str, size: int = 0, *, request: bool = True) -> None:
        with self._counting:
            if request:
                self.served[camera] += 1
            self.bytes_served[camera] += size

    def cameras(self) -> list[LiveCamera]:
        statuses = self.recorder.statuses()
        live = self.recorder.live
        return [
            LiveCamera(
                camera=camera.id,
                windows=camera.windows,
                state=statuses[camera.id].state.value,
                live=live is not None and (live.camera_dir(camera.id) / LIVE_PLAYLIST).exists(),
            )
            for camera in self.config.cameras
        ]

    def live_file(self, camera: str, name: str) -> Served:
        if camera not in self.recorder.supervisors:
            raise Refused(HTTPStatus.NOT_FOUND, f"no camera {camera!r} on this recorder")
        if not live_file_allowed(name):
            raise Refused(HTTPStatus.NOT_FOUND, f"{name!r} is not a live file")
        live = self.recorder.live
        if live is None:
            raise Refused(HTTPStatus.NOT_FOUND, "this recorder has no live view")
        self.count(camera)
        path = live.camera_dir(camera) / name
        if not path.is_file():
            status = self.recorder.supervisors[camera].status
            if status.state is not CameraState.RECORDING:
                why = f"camera {camera} is {status.state.value}" + (
                    f": {status.detail}" if status.detail else "")
                raise Refused(HTTPStatus.SERVICE_UNAVAILABLE, why)
            if name == LIVE_PLAYLIST:
                raise Refused(HTTPStatus.SERVICE_UNAVAILABLE, f"camera {camera} is starting its live view")
            raise Refused(HTTPStatus.NOT_FOUND, f"segment {name} is no longer live")
        return Served(path, content_type_of(name))

    def export(self, request: ExportRequest) -> ExportAnswer:
        if request.camera not in self.recorder.supervisors:
            raise Refused(HTTPStatus.NOT_FOUND, f"no camera {request.camera!r} on this recorder")
        self.count(request.camera)
        now = self.recorder.clock.wall_ms()
        settings = self.config.recorder
        with self._exporting:
            try:
                result = export_clip(
                    self.recorder.index,
                    storage_dir=self.config.storage_dir,
                    export_dir=self.config.export_dir,
                    camera=request.camera,
                    start_ms=request.start,
                    end_ms=request.end,
                    who=request.who,
                    why=request.why,
                    now_ms=now,
                    device=self.config.device.id,
                    hall=self.config.device.hall,
                    ffmpeg=settings.ffmpeg,
                    ffprobe=settings.ffprobe,
                    container=EVIDENCE_CONTAINER,
                )
            except NoFootage as exc:
                raise Refused(HTTPStatus.NOT_FOUND, str(exc)) from exc
            except ExportFailed as exc:
                raise Refused(HTTPStatus.BAD_GATEWAY, str(exc)) from exc
        # Reported now, not at the next housekeeping pass: central checks the clip against it.
        self.recorder.report_pending()
        record = self.recorder.index.exports.get(result.export_id)
        assert record is not None  # export_clip recorded it before returning
        log.info("exported %s of %s for %s (%s)", result.export_id, request.camera, request.who,
                 request.why)
        return ExportAnswer(
            export_id=record.id, camera=record.camera, start=record.start_ms, end=record.end_ms,
            clip_bytes=record.clip_bytes, clip_sha256=record.clip_sha256,
            manifest_sha256=record.manifest_sha256, gaps=result.manifest["gaps"],
        )

    def export_part(self, export_id: str, part: str) -> Served | bytes:
        if not EXPORT_ID.match(export_id):
            raise Refused(HTTPStatus.NOT_FOUND, f"{export_id!r} is not an export id")
        record = self.recorder.index.exports.get(export_id)
        if record is None:
            raise Refused(HTTPStatus.NOT_FOUND, f"no export {export_id} on this recorder")
        self.count(record.camera)
        if part == MANIFEST:
            return record.manifest.encode()  # the exact bytes whose hash the index and central hold
        if part == CLIP:
            path = Path(record.clip_path)
            if not path.is_file():
                raise Refused(HTTPStatus.GONE, f"the clip of {export_id} is no longer on this recorder")
            return Served(path, "video/mp4")
        raise Refused(HTTPStatus.NOT_FOUND, f"an export has a clip and a manifest, not {part!r}")


def handler_for(video: RecorderVideo, check: BearerCheck) -> type[QuietHandler]:
    """The HTTP side of `RecorderVideo`: paths below `/video/v1`, the token first."""

    class Handler(QuietHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            self._answer(self._get)

        def do_POST(self) -> None:  # noqa: N802
            self._answer(self._post)

        def _answer(self, route: Any) -> None:
            try:
                if not check.admits(self.headers.get("Authorization")):
                    raise Refused(HTTPStatus.UNAUTHORIZED, "this recorder's video token is required")
                parts = _parts(self.path)
                route(parts)
            except Refused as refused:
                self._send_json(refused.status, {"detail": refused.reason})
            except (BrokenPipeError, ConnectionResetError):
                pass  # the viewer went away mid-answer
            except Exception:
                log.exception("video request %s failed", self.path)
                self._send_json(HTTPStatus.INTERNAL_SERVER_ERROR, {"detail": "recorder error"})

        def _get(self, parts: list[str]) -> None:
            if parts == [CAMERAS]:
                self._send_json(HTTPStatus.OK, [c.model_dump() for c in video.cameras()])
            elif len(parts) == 3 and parts[0] == LIVE:
                served = video.live_file(parts[1], parts[2])
                self._send_file(served, camera=parts[1], cache="no-cache" if parts[2] == LIVE_PLAYLIST
                                else "max-age=60")
            elif len(parts) == 3 and parts[0] == EXPORTS:
                found = video.export_part(parts[1], parts[2])
                if isinstance(found, bytes):
                    self._send_bytes(HTTPStatus.OK, found, "application/json")
                else:
                    self._send_file(found, camera=None, cache="no-store")
            else:
                raise Refused(HTTPStatus.NOT_FOUND, f"no such video path {self.path!r}")

        def _post(self, parts: list[str]) -> None:
            if parts != [EXPORTS]:
                raise Refused(HTTPStatus.NOT_FOUND, f"no such video path {self.path!r}")
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY:
                raise Refused(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "an export request is small")
            try:
                request = ExportRequest.model_validate_json(self.rfile.read(length))
            except ValidationError as exc:
                raise Refused(HTTPStatus.UNPROCESSABLE_ENTITY, str(exc)) from exc
            answer = video.export(request)
            self._send_json(HTTPStatus.CREATED, answer.model_dump())

        def _send_file(self, served: Served, *, camera: str | None, cache: str) -> None:
            try:
                handle = open(served.path, "rb")  # noqa: SIM115 - closed below
            except FileNotFoundError as exc:  # deleted by ffmpeg between the check and now
                raise Refused(HTTPStatus.NOT_FOUND, "no longer live") from exc
            with handle:
                size = _size(handle)
                self.send_response(HTTPStatus.OK)
                self.send_header("Content-Type", served.content_type)
                self.send_header("Content-Length", str(size))
                self.send_header("Cache-Control", cache)
                self.end_headers()
                while chunk := handle.read(CHUNK):
                    self.wfile.write(chunk)
            if camera is not None:
                video.count(camera, size, request=False)

        def _send_json(self, status: HTTPStatus, data: Any) -> None:
            self._send_bytes(status, json.dumps(data, ensure_ascii=False).encode(), "application/json")

        def _send_bytes(self, status: HTTPStatus, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

    return Handler


def _parts(raw_path: str) -> list[str]:
    path = urlsplit(raw_path).path
    if not path.startswith(API + "/"):
        raise Refused(HTTPStatus.NOT_FOUND, f"video paths start with {API}/")
    parts = [unquote(part) for part in path[len(API) + 1:].split("/")]
    if any(part in ("", ".", "..") or "/" in part for part in parts):
        raise Refused(HTTPStatus.NOT_FOUND, "not a video path")
    return parts


def _size(handle: Any) -> int:
    return os.fstat(handle.fileno()).st_size


class RecorderVideoServer:
    """`RecorderVideo` on the hall LAN, behind the recorder's token."""

    def __init__(self, recorder: Recorder, config: RecorderConfig) -> None:
        assert config.video is not None
        self.video = RecorderVideo(recorder, config)
        check = BearerCheck(config.video.token.resolved())
        self.http = HopServer(handler_for(self.video, check), config.video.host, config.video.port,
                              name="recorder-video")

    @property
    def url(self) -> str:
        return self.http.url

    def start(self) -> None:
        self.http.start()

    def stop(self) -> None:
        self.http.stop()

    def diagnostics(self) -> dict[str, Any]:
        return {"url": self.url, "requests": dict(self.video.served),
                "bytes": dict(self.video.bytes_served)}
