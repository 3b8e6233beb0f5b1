"""`hall recorder diagnostics`: a redacted snapshot of a recorder, read from its index and files.

It works whether or not `hall recorder run` is running: the running recorder
keeps each camera's state in the index.
"""

from __future__ import annotations

import os
import re
import sqlite3
from typing import Any

from edge.camera_recorder.config import RecorderConfig
from edge.camera_recorder.index import FootageIndex
from edge.camera_recorder.reconcile import ALIVE_KEY
from edge.camera_recorder.retention import DAY_MS, allowed_bytes
from edge.camera_recorder.segments import RUNS_DIR
from edge.camera_recorder.times import iso

_USERINFO = re.compile(r"(://[^/:@\s]+:)[^@\s/]+@")


def recorder_diagnostics(config: RecorderConfig, index: FootageIndex, now_ms: int) -> dict[str, Any]:
    settings = config.recorder
    used, segments, held = index.cameras.totals()
    stats = os.statvfs(config.storage_dir) if config.storage_dir.exists() else None
    free = stats.f_bavail * stats.f_frsize if stats else 0
    cameras = []
    configured = {c.id: c for c in config.cameras}
    for row in index.cameras.all():
        first = index.segments.first(row.id)
        last = index.segments.last(row.id)
        gap = index.gaps.current(row.id)
        camera = configured.get(row.id)
        cameras.append(
            {
                "camera": row.id,
                "url": camera.safe_url() if camera else "(no longer configured)",
                "windows": list(camera.windows) if camera else [],
                "state": row.state,
                "since": iso(row.state_since),
                "detail": row.detail,
                "runs": row.runs,
                "restarts": row.restarts,
                "segments": row.segments,
                "bytes": row.bytes,
                "held_bytes": row.held_bytes,
                "oldest": iso(first.start_ms) if first else None,
                "newest": iso(last.end_ms) if last else None,
                "days_held": round((now_ms - first.start_ms) / DAY_MS, 2) if first else 0,
                "open_gap": {"since": iso(gap.start_ms), "cause": gap.cause} if gap else None,
                "gaps_24h": index.gaps.count_since(row.id, now_ms - DAY_MS),
                "ffmpeg_log": _log_tail(config, row.id),
            }
        )
    alive = index.meta.get(ALIVE_KEY)
    return {
        "device": config.device.model_dump(),
        "index": str(index.path),
        "storage": str(config.storage_dir),
        "last_alive": iso(int(alive)) if alive else None,
        "settings": settings.model_dump(mode="json"),
        "disk": {
            "used_bytes": used,
            "segments": segments,
            "held_bytes": held,
            "fs_free_bytes": free,
            "allowed_bytes": allowed_bytes(settings.budget_bytes, used, free,
                                           settings.min_free_bytes),
        },
        "cameras": cameras,
        "alarms": [{"code": c, "since": iso(t), "message": m} for c, t, m in index.alarms.active()],
        "holds": [
            {"hold_id": h.id, "camera": h.camera, "from": iso(h.start_ms), "to": iso(h.end_ms),
             "until": iso(h.until_ms), "who": h.who, "why": h.why, "source": h.source}
            for h in index.holds.all(active_only=True)
            if not h.guards_an_export
        ],
        "outbox": _outbox_depth(config),
    }


def _log_tail(config: RecorderConfig, camera_id: str, lines: int = 5) -> list[str]:
    """The newest lines of the camera's last ffmpeg run, credentials masked."""
    path = config.storage_dir / camera_id / RUNS_DIR / "ffmpeg.log"
    try:
        text = path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:]
    except OSError:
        return []
    secrets = []
    for camera in config.cameras:
        if camera.id == camera_id:
            secrets = [(camera.input_url(), camera.safe_url()), (camera.url, camera.safe_url())]
    cleaned = []
    for line in text:
        for secret, safe in secrets:
            line = line.replace(secret, safe)
        cleaned.append(redact_url_in_text(line))
    return cleaned


def redact_url_in_text(line: str) -> str:
    """Mask `user:password@` in any URL ffmpeg printed."""
    return _USERINFO.sub(r"\1***@", line)


def _outbox_depth(config: RecorderConfig) -> dict[str, Any]:
    path = config.outbox.path
    if not path.exists():
        return {"path": str(path), "events_waiting": 0}
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
    try:
        (waiting,) = connection.execute("SELECT count(*) FROM outbox").fetchone()
    except sqlite3.Error as exc:
        return {"path": str(path), "error": str(exc)}
    finally:
        connection.close()
    return {"path": str(path), "events_waiting": waiting}
