"""Looking at media files the way a player would (ffprobe), and writing the smallest by hand."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from edge.camera_recorder.mpegts import PACKET


def probe(path: Path) -> dict[str, Any]:
    """ffprobe's view of a file; raises if ffprobe cannot read it at all."""
    result = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries",
         "format=duration,format_name:stream=codec_name,codec_type,nb_read_packets",
         "-count_packets", "-of", "json", str(path)],
        capture_output=True, timeout=60, check=True,
    )
    return json.loads(result.stdout)


def video_codec(info: dict[str, Any]) -> str | None:
    for stream in info.get("streams", []):
        if stream.get("codec_type") == "video":
            return str(stream.get("codec_name"))
    return None


def video_packets(info: dict[str, Any]) -> int:
    for stream in info.get("streams", []):
        if stream.get("codec_type") == "video":
            return int(stream.get("nb_read_packets", 0))
    return 0


def duration_s(info: dict[str, Any]) -> float:
    return float(info["format"].get("duration", 0.0))


def pes_packet(pts: int, pid: int = 0x100, stream_id: int = 0xE0) -> bytes:
    """One TS packet that starts a PES packet carrying `pts` (as a muxer writes a frame start)."""
    header = bytes([0x47, 0x40 | pid >> 8, pid & 0xFF, 0x10])
    pts_bytes = bytes([
        0x21 | (pts >> 29 & 0x0E),
        pts >> 22 & 0xFF,
        0x01 | (pts >> 14 & 0xFE),
        pts >> 7 & 0xFF,
        0x01 | (pts << 1 & 0xFE),
    ])
    pes = b"\x00\x00\x01" + bytes([stream_id, 0, 0, 0x80, 0x80, 5]) + pts_bytes
    return (header + pes).ljust(PACKET, b"\xff")
