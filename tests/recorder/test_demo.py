"""The recorder `hall demo` starts: two test-pattern cameras, real segments, a clean stop."""

from __future__ import annotations

from pathlib import Path

from edge.camera_recorder.demo import start_demo_recorder

from .conftest import wait_for


def test_the_demo_recorder_records_two_cameras_and_stops_cleanly(tmp_path: Path) -> None:
    demo = start_demo_recorder(tmp_path / "rec", None, "hall-1")
    try:
        wait_for(
            lambda: all(c["segments"] >= 1 for c in demo.summary()["cameras"].values()),
            what="both demo cameras recording",
        )
    finally:
        summary = demo.stop()
    assert sorted(summary["cameras"]) == ["cam-1", "cam-2"]
    assert all(c["bytes"] > 0 for c in summary["cameras"].values())
    assert list((tmp_path / "rec" / "footage" / "cam-1").rglob("*.ts"))
    assert demo.stop() == {}  # stopping twice is harmless
