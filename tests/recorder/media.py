"""Looking at media files the way a player would: ffprobe."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any


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
