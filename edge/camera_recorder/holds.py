"""Holds: footage of a camera and time range kept for a complaint, whatever retention says.

A hold names who placed it, why, and until when. The same request comes from
the technician's command line and from central through the gateway (an MQTT
command), so it is one validated model. A hold on a window holds every camera
covering that window: a complaint about a served ticket names a window and a
time, not a camera.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from contract.commands.recorder import HoldRequest, ReleaseRequest
from edge.camera_recorder.config import RecorderConfig
from edge.camera_recorder.index import FootageIndex, Gap, HoldRecord
from edge.camera_recorder.index.holds import FootageHolds
from edge.camera_recorder.times import parse_instant


class HoldRefused(ValueError):
    """The request is well-formed but cannot be honoured (unknown camera, range backwards...)."""


@dataclass(frozen=True)
class PlacedHold:
    hold: HoldRecord
    new: bool
    segments: int
    bytes: int
    gaps: list[Gap]
    """What is already missing in the range (and why): a hold cannot bring it back."""


def place_holds(
    index: FootageIndex,
    config: RecorderConfig,
    request: HoldRequest,
    *,
    now_ms: int,
    source: str,
) -> list[PlacedHold]:
    """Place the hold on its camera, or on every camera of its window."""
    start_ms = parse_instant(request.start, now_ms=now_ms)
    end_ms = parse_instant(request.end, now_ms=now_ms)
    until_ms = parse_instant(request.until, now_ms=now_ms)
    if end_ms <= start_ms:
        raise HoldRefused("the range ends before it starts")
    if until_ms <= now_ms:
        raise HoldRefused("'until' is in the past: the hold would expire at once")
    cameras = _cameras_for(config, index, request)
    base_id = request.hold_id or uuid.uuid4().hex[:16]
    placed = []
    for camera in cameras:
        hold_id = base_id if len(cameras) == 1 and request.camera else f"{base_id}:{camera}"
        stored, new = index.holds.place(
            HoldRecord(
                id=hold_id,
                camera=camera,
                start_ms=start_ms,
                end_ms=end_ms,
                until_ms=until_ms,
                who=request.who,
                why=request.why,
                placed_ms=now_ms,
                source=source,
            )
        )
        segments, size = index.holds.held_in(stored)
        gaps = index.gaps.between(camera, stored.start_ms, stored.end_ms)
        placed.append(PlacedHold(stored, new, segments, size, gaps))
    return placed


def _cameras_for(config: RecorderConfig, index: FootageIndex, request: HoldRequest) -> list[str]:
    if request.camera is not None:
        known = {c.id for c in config.cameras} | {row.id for row in index.cameras.all()}
        if request.camera not in known:
            raise HoldRefused(f"no camera {request.camera!r} on this recorder")
        return [request.camera]
    cameras = [c.id for c in config.cameras if request.window in c.windows]
    if not cameras:
        raise HoldRefused(f"no camera of this recorder covers window {request.window!r}")
    return cameras


def release_hold(
    holds: FootageHolds, request: ReleaseRequest, *, now_ms: int
) -> list[HoldRecord]:
    """Release a hold by id; a window hold's id releases all of its cameras' holds."""
    released = []
    direct = holds.release(request.hold_id, request.who, request.why, now_ms)
    if direct is not None:
        released.append(direct)
    else:
        for hold in holds.all(active_only=True):
            if hold.id.startswith(request.hold_id + ":"):
                done = holds.release(hold.id, request.who, request.why, now_ms)
                if done is not None:
                    released.append(done)
    if not released:
        raise HoldRefused(f"no hold {request.hold_id!r}")
    return released


def expire_holds(holds: FootageHolds, now_ms: int) -> list[HoldRecord]:
    """Holds past their 'until' end; their footage falls back under retention."""
    return [
        released
        for hold in holds.expired(now_ms)
        if (released := holds.release(hold.id, "expiry", "until reached", now_ms))
    ]
