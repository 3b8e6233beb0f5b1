"""How much media an MPEG-TS file holds, read from its own timestamps (no ffprobe process).

A segment that ffmpeg never closed (kill -9, power cut) has no line in the
segment list, and its file times say when it was last touched, not what it
holds: trimming it to whole packets sets its mtime to the moment of the trim,
hours after the crash if the outage lasted hours. Its packets do know: the
first and last presentation timestamps (PTS) of its video stream. Reading
them costs two small reads, at the head and the tail of the file.
"""

from __future__ import annotations

import os
from pathlib import Path
from statistics import median_low

PACKET = 188
SYNC = 0x47
PTS_HZ = 90_000
PTS_WRAP = 1 << 33  # PTS is a 33-bit counter: it wraps every 26.5 hours
HEAD_BYTES = 256 * PACKET  # the first frames follow the PAT and PMT closely
TAIL_BYTES = 2048 * PACKET  # about 385 KB: several frames even of a 4K camera
MAX_TAIL_BYTES = 64 * TAIL_BYTES  # a tail this long without a frame start holds no frame
MAX_FRAME_MS = 1_000  # a frame interval longer than this is a timestamp jump, not a frame


def _pes_timestamp(packet: bytes) -> tuple[int, int, int] | None:
    """(pid, PES stream id, PTS) if this packet starts a PES packet that carries a PTS."""
    if len(packet) < PACKET or packet[0] != SYNC or not packet[1] & 0x40:
        return None  # no sync, or no payload unit starts here
    pid = (packet[1] & 0x1F) << 8 | packet[2]
    control = packet[3] >> 4 & 0x3
    offset = 4
    if control & 0x2:  # an adaptation field comes first
        offset += 1 + packet[4]
    if not control & 0x1 or offset + 14 > PACKET:
        return None
    pes = packet[offset:]
    if pes[0:3] != b"\x00\x00\x01" or not pes[7] & 0x80:  # not a PES start, or no PTS
        return None
    pts = (
        (pes[9] >> 1 & 0x07) << 30
        | pes[10] << 22
        | (pes[11] >> 1) << 15
        | pes[12] << 7
        | pes[13] >> 1
    )
    return pid, pes[3], pts


def _timestamps(data: bytes, pid: int | None) -> list[tuple[int, int]]:
    """(pid, PTS) of the PES starts in `data` (whole packets), of `pid` or of any video stream."""
    found = []
    for at in range(0, len(data) - PACKET + 1, PACKET):
        stamp = _pes_timestamp(data[at:at + PACKET])
        if stamp is None:
            continue
        packet_pid, stream_id, pts = stamp
        if (pid is None and 0xE0 <= stream_id <= 0xEF) or packet_pid == pid:
            found.append((packet_pid, pts))
    return found


def _signed(delta: int) -> int:
    """A PTS difference taken the short way round the 33-bit circle."""
    return (delta + PTS_WRAP // 2) % PTS_WRAP - PTS_WRAP // 2


def media_span_ms(path: Path) -> int | None:
    """How long the video in `path` plays: last PTS - first PTS + one frame, in ms.

    None when the file holds no video frame start (nothing to play). A torn
    last packet is ignored, so the file need not be trimmed first.
    """
    with open(path, "rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        size -= size % PACKET
        head = _timestamps(handle.read(min(size, HEAD_BYTES)), None)
        if not head:
            return None
        pid, sent_first = head[0]
        # Frames sent after the first may be shown before it (B-frames): the earliest counts.
        first = min((pts for _, pts in head), key=lambda pts: _signed(pts - sent_first))
        tail_bytes = TAIL_BYTES
        while True:
            start = max(0, size - tail_bytes)
            handle.seek(start)
            tail = [pts for _, pts in _timestamps(handle.read(size - start), pid)]
            if tail or start == 0 or tail_bytes >= MAX_TAIL_BYTES:
                break
            tail_bytes *= 4
    if not tail:
        return None
    offsets = sorted((pts - first) % PTS_WRAP for pts in tail)
    steps = [b - a for a, b in zip(offsets, offsets[1:], strict=False) if b > a]
    # The typical step, not the smallest: a muxer may nudge a timestamp by one tick.
    frame_ms = median_low(steps) * 1000 // PTS_HZ if steps else 0
    if frame_ms > MAX_FRAME_MS:
        frame_ms = 0
    return offsets[-1] * 1000 // PTS_HZ + frame_ms
