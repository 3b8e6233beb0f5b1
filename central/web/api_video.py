"""The video wall and complaint evidence: cameras, layouts, live files relayed from the halls, clips.

Reads need the viewer role (the monitoring room's): watching is reading. Saving
a layout and fetching a complaint's clip change something, so a caller using
the monitoring room's cookie must also send the pages' own header
(`X-Hallwatch-Page`), which another site cannot make a browser send; a caller
with a bearer token needs no header.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Annotated, Any, Literal, TypeVar

from fastapi import APIRouter, Depends, HTTPException, Path, Request, Response
from fastapi.responses import FileResponse, StreamingResponse
from pydantic import Field

from central.complaints import ComplaintDesk, UnknownComplaint
from central.complaints.log import iso
from central.video import VideoRoom
from central.video.evidence import EvidenceUnavailable, HeldFootage, KeptClip, NoSuchFootage
from central.video.layouts import SavedLayout, WallCell, WallLayout
from central.video.links import HallUnreachable, NoLink
from central.video.live import NotLiveFile
from central.web.auth import Principal, reader
from central.web.context import CentralContext
from central.web.models import NOT_FOUND, Out

router = APIRouter(prefix="/api/video", tags=["video"])
T = TypeVar("T")

PAGE_HEADER = "X-Hallwatch-Page"
UNREACHABLE: dict[int | str, dict[str, Any]] = {
    502: {"description": "the hall's gateway or recorder did not answer"},
    503: {"description": "the camera is not live now; the detail says why"},
}


async def page_action(request: Request, who: Annotated[Principal, Depends(reader)]) -> Principal:
    """A viewer's change: by bearer token, or by the monitoring room's cookie from our own pages."""
    if request.headers.get("authorization") is None and request.headers.get(PAGE_HEADER) is None:
        raise HTTPException(403, f"a change made with the screen's cookie needs the {PAGE_HEADER} header")
    return who


Reader = Annotated[Principal, Depends(reader)]
Actor = Annotated[Principal, Depends(page_action)]


def room(request: Request) -> VideoRoom:
    video: VideoRoom | None = getattr(request.app.state, "video", None)
    if video is None:
        raise HTTPException(503, "this central runs without video")
    return video


def relayed(call: Callable[[], T]) -> T:
    """A hall that cannot be reached, or is not configured, becomes an answer that says so."""
    try:
        return call()
    except NoLink as exc:
        raise HTTPException(404, str(exc)) from exc
    except HallUnreachable as exc:
        raise HTTPException(502, str(exc)) from exc


# --- cameras and layouts --------------------------------------------------------------------


class CameraOut(Out):
    hall: str
    hall_name: str
    device: str
    camera: str
    state: str = Field(description="its recorder's latest word: recording, offline, stalled...")
    since: str | None
    watchable: bool = Field(description="central has a video link to its hall")
    playlist: str = Field(description="the live playlist's URL, for a player")


@router.get("/cameras", response_model=list[CameraOut], summary="Every camera the halls' recorders reported")
def cameras(request: Request, _who: Reader) -> list[CameraOut]:
    video = room(request)
    context: CentralContext = request.app.state.central
    return [
        CameraOut(hall=c.hall, hall_name=context.hall_names.get(c.hall, c.hall), device=c.device,
                  camera=c.camera, state=c.state, since=iso(c.since) if c.since else None,
                  watchable=video.links.knows(c.hall),
                  playlist=f"/api/video/live/{c.hall}/{c.device}/{c.camera}/index.m3u8")
        for c in video.directory.cameras()
    ]


class LayoutIn(Out):
    grid: Literal[1, 4, 9, 16] = Field(description="windows shown")
    cells: list[WallCell | None] = Field(
        default_factory=list, max_length=16,
        description="row by row; null: an empty window; cells past the grid are kept for a bigger one")


LayoutName = Annotated[str, Path(min_length=1, max_length=60)]


@router.get("/layouts", response_model=list[SavedLayout], summary="The wall's saved layouts")
def layouts(request: Request, _who: Reader) -> list[SavedLayout]:
    return room(request).layouts.all()


@router.put("/layouts/{name}", response_model=SavedLayout, responses={422: {"description": "bad layout"}},
            summary="Save a layout (windows and the camera in each) under a name")
def save_layout(request: Request, name: LayoutName, body: LayoutIn, who: Actor) -> SavedLayout:
    video = room(request)
    try:
        layout = WallLayout.model_validate({"name": name, "grid": body.grid, "cells": body.cells})
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from exc
    return video.layouts.save(layout, who.name, video.now_ms())


@router.delete("/layouts/{name}", status_code=204, responses=NOT_FOUND, summary="Forget a saved layout")
def delete_layout(request: Request, name: LayoutName, _who: Actor) -> Response:
    if not room(request).layouts.delete(name):
        raise HTTPException(404, f"no layout {name!r}")
    return Response(status_code=204)


# --- live -----------------------------------------------------------------------------------


@router.get("/live/{hall}/{device}/{camera}/{name}", responses={**NOT_FOUND, **UNREACHABLE},
            summary="A camera's live playlist or segment, relayed from its hall on request",
            response_class=Response)
def live(request: Request, hall: str, device: str, camera: str, name: str, _who: Reader) -> Response:
    video = room(request)
    try:
        answer = relayed(lambda: video.live.get(hall, device, camera, name))
    except NotLiveFile as exc:
        raise HTTPException(404, str(exc)) from exc
    if answer.status != 200:
        raise HTTPException(answer.status, _detail(answer.body))
    return Response(answer.body, media_type=answer.content_type,
                    headers={"Cache-Control": answer.cache_control or "no-cache"})


# --- evidence ---------------------------------------------------------------------------------


class ClipOut(Out):
    export_id: str
    bytes: int
    sha256: str
    manifest_sha256: str
    fetched_at: str
    fetched_by: str
    verification: str = Field(description="verified, awaiting_record (the recorder's event is on its "
                                          "way) or failed")
    checks: list[str]
    problems: list[str]
    clip_url: str
    manifest_url: str
    download_url: str


class HeldFootageOut(Out):
    hall: str
    device: str
    camera: str
    window: str
    start: str
    end: str
    clip: ClipOut | None = Field(description="the clip fetched from the recorder, once it is")
    fetch_url: str


def _complaint_known(request: Request, complaint: str) -> None:
    context: CentralContext = request.app.state.central
    desk: ComplaintDesk = context.complaints
    try:
        desk.get(complaint)
    except UnknownComplaint as exc:
        raise HTTPException(404, f"no complaint {complaint!r}") from exc


def _footage_out(video: VideoRoom, footage: HeldFootage, *, rehash: bool = False) -> HeldFootageOut:
    base = f"/api/video/evidence/{footage.complaint}/{footage.device}/{footage.camera}"
    kept = video.evidence.kept(footage.complaint, footage.device, footage.camera)
    return HeldFootageOut(
        hall=footage.hall, device=footage.device, camera=footage.camera, window=footage.window,
        start=iso(footage.start), end=iso(footage.end), fetch_url=base,
        clip=_clip_out(video, footage, kept, base, rehash) if kept is not None else None,
    )


def _clip_out(video: VideoRoom, footage: HeldFootage, kept: KeptClip, base: str, rehash: bool) -> ClipOut:
    check = video.evidence.verify(footage, kept, rehash=rehash)
    return ClipOut(
        export_id=kept.export_id, bytes=kept.clip_bytes, sha256=kept.clip_sha256,
        manifest_sha256=kept.manifest_sha256, fetched_at=iso(kept.fetched_at), fetched_by=kept.fetched_by,
        verification=check.state, checks=check.checks, problems=check.problems,
        clip_url=f"{base}/clip", manifest_url=f"{base}/manifest", download_url=f"{base}/download",
    )


def _held(video: VideoRoom, complaint: str, device: str, camera: str) -> HeldFootage:
    try:
        return video.evidence.held(complaint, device, camera)
    except NoSuchFootage as exc:
        raise HTTPException(404, str(exc)) from exc


def _kept(video: VideoRoom, complaint: str, device: str, camera: str) -> KeptClip:
    kept = video.evidence.kept(complaint, device, camera)
    if kept is None:
        raise HTTPException(404, "this footage has not been fetched from its recorder yet")
    return kept


@router.get("/evidence/{complaint}", response_model=list[HeldFootageOut], responses=NOT_FOUND,
            summary="A complaint's held footage: each camera's range, and its clip once fetched")
def evidence(request: Request, complaint: str, _who: Reader) -> list[HeldFootageOut]:
    _complaint_known(request, complaint)
    video = room(request)
    return [_footage_out(video, footage) for footage in video.evidence.footage(complaint)]


@router.post("/evidence/{complaint}/{device}/{camera}", response_model=HeldFootageOut,
             responses={**NOT_FOUND, **UNREACHABLE},
             summary="Fetch a held camera's clip from its recorder (once) and check it")
def fetch_evidence(request: Request, complaint: str, device: str, camera: str, who: Actor
                   ) -> HeldFootageOut:
    video = room(request)
    footage = _held(video, complaint, device, camera)
    try:
        relayed(lambda: video.evidence.fetch(complaint, device, camera, who.name))
    except EvidenceUnavailable as exc:
        raise HTTPException(exc.status if 400 <= exc.status < 600 else 502, str(exc)) from exc
    return _footage_out(video, footage)


@router.post("/evidence/{complaint}/{device}/{camera}/verify", response_model=HeldFootageOut,
             responses=NOT_FOUND, summary="Check a fetched clip again, hashing the kept copy anew")
def verify_evidence(request: Request, complaint: str, device: str, camera: str, _who: Actor
                    ) -> HeldFootageOut:
    video = room(request)
    footage = _held(video, complaint, device, camera)
    _kept(video, complaint, device, camera)
    return _footage_out(video, footage, rehash=True)


@router.get("/evidence/{complaint}/{device}/{camera}/clip", responses=NOT_FOUND,
            response_class=FileResponse, summary="The clip, for the page's player (ranges supported)")
def evidence_clip(request: Request, complaint: str, device: str, camera: str, _who: Reader) -> FileResponse:
    kept = _kept(room(request), complaint, device, camera)
    return FileResponse(kept.clip_file, media_type="video/mp4", headers={"Cache-Control": "no-store"})


@router.get("/evidence/{complaint}/{device}/{camera}/manifest", responses=NOT_FOUND,
            response_class=FileResponse, summary="The clip's manifest, as the recorder wrote it")
def evidence_manifest(request: Request, complaint: str, device: str, camera: str, _who: Reader
                      ) -> FileResponse:
    kept = _kept(room(request), complaint, device, camera)
    return FileResponse(kept.manifest_file, media_type="application/json",
                        filename=kept.manifest_file.name)


@router.get("/evidence/{complaint}/{device}/{camera}/download", responses=NOT_FOUND,
            response_class=StreamingResponse, summary="The export: the clip and its manifest in one zip")
def evidence_download(request: Request, complaint: str, device: str, camera: str, _who: Reader
                      ) -> StreamingResponse:
    video = room(request)
    kept = _kept(video, complaint, device, camera)
    name = f"{complaint}_{device}_{camera}_{kept.export_id}.zip"
    return StreamingResponse(video.evidence.bundle(kept), media_type="application/zip",
                             headers={"Content-Disposition": f'attachment; filename="{name}"'})


def _detail(body: bytes) -> Any:
    try:
        return json.loads(body).get("detail") or "the hall refused"
    except (ValueError, AttributeError):
        return body[:300].decode("utf-8", "replace")
