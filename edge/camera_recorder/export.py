"""Evidence clips: segments joined by stream copy, with a SHA-256 manifest kept in the index.

The manifest names each source segment with its hash, the clip's hash, the
camera, the range, the gaps inside it (and their causes) and who exported it
and why. The index keeps the manifest and its hash, so `verify` can prove a
clip unchanged even if someone edits both the clip and the manifest beside it.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edge.camera_recorder.ffmpeg import ONE_OFF
from edge.camera_recorder.index import ExportRecord, FootageIndex, HoldRecord
from edge.camera_recorder.index.models import EXPORT_GUARD_SOURCE
from edge.camera_recorder.times import iso

MANIFEST_FORMAT = "hallwatch-clip/1"
CHUNK = 1024 * 1024


class NoFootage(LookupError):
    """Nothing recorded in the range; the message says why (the gaps and their causes)."""


class ExportFailed(RuntimeError):
    pass


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass(frozen=True)
class ExportResult:
    export_id: str
    clip: Path
    manifest_path: Path
    manifest: dict[str, Any]


def export_clip(
    index: FootageIndex,
    *,
    storage_dir: Path,
    export_dir: Path,
    camera: str,
    start_ms: int,
    end_ms: int,
    who: str,
    why: str,
    now_ms: int,
    device: str,
    hall: str,
    ffmpeg: str = "ffmpeg",
    ffprobe: str = "ffprobe",
    container: str = "mp4",
    out: Path | None = None,
) -> ExportResult:
    """Cut [start_ms, end_ms) of `camera` into one clip by stream copy and record its manifest."""
    if end_ms <= start_ms:
        raise ValueError("the range ends before it starts")
    export_id = f"x{now_ms}-{uuid.uuid4().hex[:8]}"
    # An export-long hold, so retention cannot take a segment from under ffmpeg.
    guard, _ = index.holds.place(
        HoldRecord(
            f"export:{export_id}", camera, start_ms, end_ms, now_ms + 3_600_000, who,
            f"export {export_id}", now_ms, EXPORT_GUARD_SOURCE,
        )
    )
    try:
        segments = index.segments.between(camera, start_ms, end_ms)
        gaps = index.gaps.between(camera, start_ms, end_ms)
        if not segments:
            raise NoFootage(_why_nothing(camera, start_ms, end_ms, gaps))
        hashed = []
        for segment in segments:
            path = storage_dir / segment.path
            hashed.append((segment, sha256_of(path)))
        clip = out or export_dir / f"{camera}_{_stamp(start_ms)}_{_stamp(end_ms)}_{export_id}.{container}"
        clip.parent.mkdir(parents=True, exist_ok=True)
        _join(ffmpeg, ffprobe, [(storage_dir / s.path, s.start_ms, s.end_ms) for s in segments],
              start_ms, end_ms, clip, container)
        clip_hash = sha256_of(clip)
        manifest: dict[str, Any] = {
            "format": MANIFEST_FORMAT,
            "export_id": export_id,
            "hall": hall,
            "device": device,
            "camera": camera,
            "range": {"from": iso(start_ms), "to": iso(end_ms), "from_ms": start_ms,
                      "to_ms": end_ms},
            "exported_by": who,
            "reason": why,
            "created": iso(now_ms),
            "created_ms": now_ms,
            "clip": {"file": clip.name, "bytes": clip.stat().st_size, "sha256": clip_hash,
                     "container": container, "codec": "stream copy"},
            "segments": [
                {"path": s.path, "start_ms": s.start_ms, "end_ms": s.end_ms, "bytes": s.bytes,
                 "partial": s.partial, "sha256": digest}
                for s, digest in hashed
            ],
            "gaps": [
                {"start_ms": g.start_ms, "end_ms": g.end_ms, "cause": g.cause}
                for g in gaps
            ],
        }
        text = json.dumps(manifest, indent=2, ensure_ascii=False) + "\n"
        manifest_path = clip.with_name(clip.name + ".manifest.json")
        _write_durably(manifest_path, text)
        index.exports.add(
            ExportRecord(
                export_id, camera, start_ms, end_ms, who, why, now_ms, str(clip),
                manifest["clip"]["bytes"], clip_hash, text,
                hashlib.sha256(text.encode()).hexdigest(),
            )
        )
        return ExportResult(export_id, clip, manifest_path, manifest)
    finally:
        index.holds.release(guard.id, who, "export finished", now_ms)


def _stamp(ms: int) -> str:
    return (iso(ms) or "").replace(":", "").replace("-", "")[:15]


def _why_nothing(camera: str, start_ms: int, end_ms: int, gaps: list[Any]) -> str:
    if not gaps:
        return f"{camera} has no footage from {iso(start_ms)} to {iso(end_ms)}"
    causes = ", ".join(
        f"{g.cause} {iso(g.start_ms)}..{iso(g.end_ms) if g.end_ms else 'now'}" for g in gaps
    )
    return f"{camera} has no footage from {iso(start_ms)} to {iso(end_ms)}: {causes}"


def _stream_start_s(ffprobe: str, path: Path) -> float:
    result = subprocess.run(
        [ffprobe, "-v", "error", "-show_entries", "format=start_time", "-of",
         "default=noprint_wrappers=1:nokey=1", str(path)],
        capture_output=True, timeout=60, check=False,
    )
    try:
        return float(result.stdout.strip() or 0.0)
    except ValueError:
        return 0.0


def _join(
    ffmpeg: str,
    ffprobe: str,
    sources: list[tuple[Path, int, int]],
    start_ms: int,
    end_ms: int,
    clip: Path,
    container: str,
) -> None:
    """Concatenate with the concat demuxer, trimming the ends with inpoint/outpoint (no re-encode)."""
    lines = ["ffconcat version 1.0"]
    for number, (path, seg_start, seg_end) in enumerate(sources):
        lines.append("file '" + str(path.resolve()).replace("'", "'\\''") + "'")
        first, last = number == 0, number == len(sources) - 1
        if (first and start_ms > seg_start) or (last and end_ms < seg_end):
            # In/out points are stream timestamps, and a segment's start where
            # the camera's clock says: read it, for the two end segments only.
            origin = _stream_start_s(ffprobe, path)
            if first and start_ms > seg_start:
                lines.append(f"inpoint {origin + (start_ms - seg_start) / 1000:.3f}")
            if last and end_ms < seg_end:
                lines.append(f"outpoint {origin + (end_ms - seg_start) / 1000:.3f}")
    muxer = {"mp4": "mp4", "mkv": "matroska", "ts": "mpegts"}[container]
    partial = clip.with_name(clip.name + ".part")
    with tempfile.NamedTemporaryFile("w", suffix=".ffconcat", delete=False) as listing:
        listing.write("\n".join(lines) + "\n")
    try:
        command = [
            ffmpeg, *ONE_OFF, "-y",
            "-f", "concat", "-safe", "0", "-i", listing.name,
            "-map", "0:v:0", "-map", "0:a?", "-c", "copy",
        ]
        if container == "mp4":
            command += ["-movflags", "+faststart"]
        command += ["-f", muxer, str(partial)]
        result = subprocess.run(command, capture_output=True, timeout=3600, check=False)
        if result.returncode != 0:
            partial.unlink(missing_ok=True)
            message = result.stderr.decode("utf-8", "replace").strip()[-600:]
            hint = " (try --format mkv for audio codecs MP4 cannot carry)" if container == "mp4" else ""
            raise ExportFailed(f"ffmpeg could not join the clip: {message}{hint}")
        with open(partial, "rb+") as handle:
            os.fsync(handle.fileno())
        partial.replace(clip)
    finally:
        os.unlink(listing.name)


def _write_durably(path: Path, text: str) -> None:
    partial = path.with_name(path.name + ".part")
    with open(partial, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    partial.replace(path)


@dataclass
class Verification:
    """The outcome of checking a clip against its manifest (and the index, when at hand)."""

    ok: bool = True
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def fail(self, problem: str) -> None:
        self.ok = False
        self.problems.append(problem)


def verify_export(
    manifest_path: Path,
    *,
    index: FootageIndex | None = None,
    storage_dir: Path | None = None,
    clip: Path | None = None,
) -> Verification:
    """Recompute the clip's hash and compare it with the manifest and with the index's record."""
    result = Verification()
    try:
        text = manifest_path.read_text(encoding="utf-8")
        manifest = json.loads(text)
    except (OSError, ValueError) as exc:
        result.fail(f"cannot read the manifest {manifest_path}: {exc}")
        return result
    if manifest.get("format") != MANIFEST_FORMAT:
        result.fail(f"not a {MANIFEST_FORMAT} manifest")
        return result
    clip_path = clip or manifest_path.with_name(manifest["clip"]["file"])
    try:
        actual = sha256_of(clip_path)
    except OSError as exc:
        result.fail(f"cannot read the clip {clip_path}: {exc}")
        return result
    if actual != manifest["clip"]["sha256"]:
        result.fail(f"clip hash {actual} differs from the manifest's {manifest['clip']['sha256']}")
    if index is not None:
        record = index.exports.get(manifest["export_id"])
        if record is None:
            result.fail(f"export {manifest['export_id']} is not in this recorder's index")
        else:
            if hashlib.sha256(text.encode()).hexdigest() != record.manifest_sha256:
                result.fail("the manifest differs from the one recorded in the index")
            if actual != record.clip_sha256:
                result.fail("the clip differs from the one recorded in the index")
    if storage_dir is not None:
        for entry in manifest["segments"]:
            source = storage_dir / entry["path"]
            if not source.exists():
                result.notes.append(f"source segment {entry['path']} no longer on disk")
            elif sha256_of(source) != entry["sha256"]:
                result.fail(f"source segment {entry['path']} changed since the export")
    return result
