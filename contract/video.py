"""The video path between a hall's recorders, its gateway and central: paths, names and bodies.

Video never travels over MQTT. Each hop is plain HTTP, pulled on demand, with
a bearer token of its own (docs/video.md):

    browser --(central's roles)--> central /api/video/...
        --(the hall's token)--> gateway /video/v1/<device>/...
        --(the recorder's token)--> recorder /video/v1/...

The gateway only strips `<device>` and swaps the token, so the recorder's
paths below are the paths of every hop. A camera nobody asks for is never
fetched: nothing is pushed.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import Field, model_validator

from contract.registry import Body

API = "/video/v1"
"""Every video path of a recorder starts here; a gateway's add `/<device>` after it."""
CAMERAS = "cameras"
LIVE = "live"
EXPORTS = "exports"
LIVE_PLAYLIST = "index.m3u8"
CLIP = "clip"
MANIFEST = "manifest"

CAMERA_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
LIVE_SEGMENT = re.compile(r"^r\d{6}-\d{1,20}\.ts$")
"""A live segment: the recorder's run number and the segment's sequence number, never reused."""
EXPORT_ID = re.compile(r"^x\d{1,20}-[0-9a-f]{8}$")

PLAYLIST_TYPE = "application/vnd.apple.mpegurl"
SEGMENT_TYPE = "video/mp2t"


def live_file_allowed(name: str) -> bool:
    """Whether `name` is a file a live camera serves (its playlist or one of its segments)."""
    return name == LIVE_PLAYLIST or bool(LIVE_SEGMENT.match(name))


def content_type_of(name: str) -> str:
    return PLAYLIST_TYPE if name.endswith(".m3u8") else SEGMENT_TYPE


def live_path(camera: str, name: str = LIVE_PLAYLIST) -> str:
    """A live file's path at a recorder, below `API`."""
    return f"{LIVE}/{camera}/{name}"


def export_path(export_id: str | None = None, part: str | None = None) -> str:
    """`exports` (to ask for one), or one export's `clip` or `manifest`, below `API`."""
    if export_id is None:
        return EXPORTS
    return f"{EXPORTS}/{export_id}/{part}" if part else f"{EXPORTS}/{export_id}"


def bearer(token: str) -> dict[str, str]:
    """The header every hop sends its own token in."""
    return {"Authorization": f"Bearer {token}"}


class LiveCamera(Body):
    """One camera as its recorder lists it: whether its live view can be watched now."""

    camera: str = Field(pattern=CAMERA_ID.pattern)
    windows: tuple[str, ...] = ()
    state: str
    live: bool = Field(description="its ffmpeg runs and writes the live playlist")


class ExportRequest(Body):
    """Ask a recorder to cut evidence: the segments of `camera` in [start, end), stream copy."""

    camera: str = Field(pattern=CAMERA_ID.pattern)
    start: int = Field(ge=0, description="ms since the epoch")
    end: int = Field(ge=0)
    who: str = Field(min_length=1, max_length=200)
    why: str = Field(min_length=1, max_length=1000)

    @model_validator(mode="after")
    def _forwards(self) -> ExportRequest:
        if self.end <= self.start:
            raise ValueError("the range ends before it starts")
        return self


class ExportAnswer(Body):
    """What a recorder answers for an export: its id and the hashes it also reports as an event.

    The manifest itself is fetched as bytes (`manifest`), so its SHA-256 can
    be checked against the `recorder.export` event that reached central by the
    store-and-forward path, not only against this answer.
    """

    export_id: str = Field(pattern=EXPORT_ID.pattern)
    camera: str
    start: int
    end: int
    clip_bytes: int = Field(ge=0)
    clip_sha256: str = Field(pattern="^[0-9a-f]{64}$")
    manifest_sha256: str = Field(pattern="^[0-9a-f]{64}$")
    gaps: list[dict[str, Any]] = Field(default_factory=list)
