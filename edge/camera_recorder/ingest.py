"""Turning files ffmpeg wrote into index rows: closed segments, and half-written leftovers."""

from __future__ import annotations

import logging
from pathlib import Path

from edge.camera_recorder.camera import ClosedSegment
from edge.camera_recorder.index import NewSegment, Segment
from edge.camera_recorder.index.segments import Segments
from edge.camera_recorder.mpegts import media_span_ms
from edge.camera_recorder.segments import (
    TS_PACKET,
    fsync_directory,
    fsync_file,
    parse_segment_name,
    trim_to_whole_packets,
)
from spine.clock import Clock

log = logging.getLogger(__name__)

CHAIN_TOLERANCE_MS = 1_500
MIN_PLAYABLE_BYTES = 16 * TS_PACKET  # smaller than this holds no picture worth keeping


class SegmentIngest:
    """Indexes one camera's segments, placing each on the wall clock.

    The segment list gives a segment's exact duration from the stream's own
    timestamps; its end on the wall clock is when ffmpeg closed it, which the
    supervisor sees within a tick (bounded by the file name, which gives the
    opening time to the second). Measuring back from the end places the first
    segment of a run right even though ffmpeg buffered its first seconds while
    probing. Within one run, a segment starts where the previous one ended if
    they agree to within a second and a half, so consecutive segments neither
    overlap nor leave false gaps. Lines read late (at start-up) fall back to
    the file name.
    """

    def __init__(
        self, segments: Segments, storage_dir: Path, camera: str, clock: Clock, segment_s: int
    ) -> None:
        self.segments = segments
        self.storage_dir = storage_dir
        self.camera = camera
        self.clock = clock
        self.segment_ms = segment_s * 1000
        self._chain: tuple[int, int] | None = None  # (run, end_ms of the last segment)

    def follow(self, segment: Segment | None) -> None:
        """Chain the next segment of the same run to `segment` (already indexed, e.g. before a crash)."""
        if segment is not None:
            self._chain = (segment.run, segment.end_ms)

    def closed(
        self,
        closed: ClosedSegment,
        *,
        observed_ms: int | None = None,
        not_before_ms: int | None = None,
    ) -> Segment | None:
        """Index a segment ffmpeg listed as closed; None if its file is gone or already indexed.

        `observed_ms`: when the list line was seen (live), `not_before_ms`:
        when this run's ffmpeg was started, as no footage of it is older.
        """
        name = parse_segment_name(closed.name)
        if name is None:
            log.warning("%s: ffmpeg listed an unexpected file name %r", self.camera, closed.name)
            return None
        relative = name.relative_path(self.camera)
        path = self.storage_dir / relative
        try:
            fsync_file(path)
            fsync_directory(path.parent)
            size = path.stat().st_size
        except OSError as exc:
            log.warning("%s: closed segment %s cannot be read: %s", self.camera, relative, exc)
            return None
        if size < MIN_PLAYABLE_BYTES:
            # ffmpeg names a segment by the wall-clock second it opens in. When the camera's
            # first burst (the frames it held back) carries the stream past a cut within that
            # second, the next segment opens under the same name and empties this one before
            # its line is read: that footage is gone. Not indexed, so the index never claims it;
            # the next line, of the same name, indexes what the file holds then.
            log.warning("%s: ffmpeg listed segment %s closed with %d bytes: the next segment, "
                        "opened in the same wall-clock second, took its name and overwrote it "
                        "(%.1f s of footage lost); not indexed", self.camera, relative, size,
                        closed.end_s - closed.start_s)
            return None
        duration_ms = max(0, round((closed.end_s - closed.start_s) * 1000))
        if observed_ms is not None:
            end_ms = min(observed_ms, name.start_ms + 1_000 + duration_ms)
            start_ms = self._placed(name.run, end_ms - duration_ms)
        else:
            start_ms = self._placed(name.run, name.start_ms)
        if not_before_ms is not None:
            start_ms = max(start_ms, not_before_ms)
        segment = self.segments.add(
            NewSegment(self.camera, start_ms, start_ms + duration_ms, relative, size, name.run),
            self.clock.wall_ms(),
        )
        self._chain = (name.run, start_ms + duration_ms)
        return segment

    def _placed(self, run: int, estimate_ms: int) -> int:
        if self._chain is not None and self._chain[0] == run:
            previous_end = self._chain[1]
            if abs(estimate_ms - previous_end) <= CHAIN_TOLERANCE_MS:
                return previous_end
        return estimate_ms

    def leftover(self, path: Path) -> Segment | None:
        """Index a file ffmpeg never closed (killed, crash, power cut), or delete it if empty.

        MPEG-TS plays up to its last whole packet, so the file is cut back to
        whole packets and kept. Its length is what its video timestamps span
        (`mpegts.media_span_ms`), never more than a segment: the file's mtime
        is not a witness, as the trim itself sets it to now, however long the
        recorder was down.
        """
        name = parse_segment_name(path.name)
        if name is None:
            return None
        relative = name.relative_path(self.camera)
        if self.segments.has_path(relative):
            return None
        try:
            size = trim_to_whole_packets(path)
            if size < MIN_PLAYABLE_BYTES:
                path.unlink()
                log.info("%s: removed empty leftover %s", self.camera, relative)
                return None
            fsync_file(path)
            span_ms = media_span_ms(path)
        except OSError as exc:
            log.warning("%s: leftover %s cannot be kept: %s", self.camera, relative, exc)
            return None
        if span_ms is None:
            # Kept as evidence all the same, but it claims no time it cannot show.
            log.warning("%s: leftover %s holds no video timestamp", self.camera, relative)
            span_ms = 0
        start_ms = self._placed(name.run, name.start_ms)
        end_ms = start_ms + max(1, min(span_ms, self.segment_ms))
        segment = self.segments.add(
            NewSegment(self.camera, start_ms, end_ms, relative, size, name.run, partial=True),
            self.clock.wall_ms(),
        )
        if segment is not None:
            self._chain = (name.run, end_ms)
            log.info(
                "%s: kept half-written segment %s (%d bytes, %.3f s)",
                self.camera, relative, size, (end_ms - start_ms) / 1000,
            )
        return segment
