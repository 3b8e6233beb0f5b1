"""The technician's commands: selftest, holds, diagnostics, and configuration errors."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from click.testing import CliRunner

from edge.camera_recorder.config import RecorderConfig
from edge.camera_recorder.testsource import TestPatternCamera, free_port
from hallwatch.cli import main as hall
from spine.config import ConfigError, load_config


def write_config(tmp_path: Path, cameras: list[tuple[str, str]], extra: str = "") -> Path:
    data = tmp_path / "data"
    path = tmp_path / "recorder.toml"
    camera_text = "".join(
        f'\n[[cameras]]\nid = "{cid}"\nurl = "{url}"\nwindows = ["w03"]\nread_timeout_s = 3\n'
        for cid, url in cameras
    )
    path.write_text(
        f'data_dir = "{data}"\n'
        '[device]\nid = "rec-1"\nhall = "hall-1"\nkind = "recorder"\n'
        f'[outbox]\npath = "{data}/outbox.sqlite"\n'
        f"[recorder]\nmin_free_bytes = 0\n{extra}" + camera_text
    )
    return path


def test_selftest_passes_with_a_live_camera_and_keeps_its_snapshot(
    tmp_path: Path, make_camera: Callable[[], TestPatternCamera]
) -> None:
    camera = make_camera()
    config = write_config(tmp_path, [("cam-1", camera.url)])
    result = CliRunner().invoke(hall, ["recorder", "selftest", "--config", str(config), "--offline",
                                       "--snapshots", str(tmp_path / "snaps")])
    assert result.exit_code == 0, result.output
    assert "[ok] camera cam-1" in result.output and "[ok] disk" in result.output
    assert result.output.count("camera cam-1") == 1  # each step printed once
    assert (tmp_path / "snaps" / "cam-1.jpg").stat().st_size > 0


def test_selftest_fails_loudly_for_a_dead_camera(tmp_path: Path) -> None:
    dead = f"tcp://127.0.0.1:{free_port()}"
    config = write_config(tmp_path, [("cam-1", dead)])
    result = CliRunner().invoke(hall, ["recorder", "selftest", "--config", str(config), "--offline",
                                       "--timeout", "10"])
    assert result.exit_code == 1
    assert "[FAILED] camera cam-1" in result.output and "refused" in result.output.lower()


def test_selftest_never_prints_a_camera_password(tmp_path: Path) -> None:
    url = f"rtsp://127.0.0.1:{free_port()}/stream"
    config = write_config(tmp_path, [("cam-1", url)])
    text = config.read_text().replace(
        'windows = ["w03"]', 'windows = ["w03"]\nusername = "admin"\npassword = "s3cret-pw"'
    )
    config.write_text(text)
    result = CliRunner().invoke(hall, ["recorder", "selftest", "--config", str(config), "--offline",
                                       "--timeout", "10"])
    assert result.exit_code == 1
    assert "s3cret-pw" not in result.output


def test_holds_from_the_command_line(tmp_path: Path) -> None:
    config = write_config(tmp_path, [("cam-1", "tcp://127.0.0.1:9")])
    runner = CliRunner()
    placed = runner.invoke(hall, [
        "recorder", "hold", "place", "--config", str(config), "--window", "w03",
        "--from", "2027-01-15T09:30:00+08:00", "--to", "2027-01-15T09:45:00+08:00",
        "--until", "+180d", "--who", "Officer Wang", "--why", "complaint 2027-0042",
        "--id", "cmp-42",
    ])
    assert placed.exit_code == 0, placed.output
    assert "placed hold cmp-42:cam-1" in placed.output
    listed = runner.invoke(hall, ["recorder", "hold", "list", "--config", str(config)])
    rows = json.loads(listed.stdout)
    assert [(r["hold_id"], r["who"], r["state"]) for r in rows] == [
        ("cmp-42:cam-1", "Officer Wang", "active")
    ]
    released = runner.invoke(hall, ["recorder", "hold", "release", "cmp-42", "--config",
                                    str(config), "--who", "Officer Wang", "--why", "closed"])
    assert released.exit_code == 0 and "released hold cmp-42:cam-1" in released.output
    refused = runner.invoke(hall, [
        "recorder", "hold", "place", "--config", str(config), "--camera", "cam-1",
        "--from", "2027-01-15T09:30:00", "--to", "2027-01-15T09:45:00", "--until", "+1d",
        "--who", "Officer Wang", "--why", "   ",
    ])
    assert refused.exit_code != 0 and "blank" in refused.output


def test_diagnostics_print_a_redacted_snapshot(tmp_path: Path) -> None:
    config = write_config(tmp_path, [("cam-1", "rtsp://admin:hunter22@10.0.0.5/stream")])
    runs = tmp_path / "data" / "footage" / "cam-1" / ".runs"
    runs.mkdir(parents=True)
    (runs / "ffmpeg.log").write_text(
        "[rtsp @ 0x5] method DESCRIBE failed: 401 Unauthorized\n"
        "rtsp://admin:hunter22@10.0.0.5/stream: Server returned 401 Unauthorized\n"
    )
    from edge.camera_recorder.index import FootageIndex

    index = FootageIndex(tmp_path / "data" / "recorder.sqlite")
    index.cameras.set_state("cam-1", "offline", 0, None)
    index.close()
    result = CliRunner().invoke(hall, ["recorder", "diagnostics", "--config", str(config)])
    assert result.exit_code == 0, result.output
    snapshot = json.loads(result.stdout)
    assert snapshot["device"]["id"] == "rec-1" and "disk" in snapshot
    (camera,) = snapshot["cameras"]
    assert camera["state"] == "offline"
    assert any("401 Unauthorized" in line for line in camera["ffmpeg_log"])
    assert "hunter22" not in result.output


def test_every_configuration_error_is_listed_at_once(tmp_path: Path) -> None:
    config = write_config(
        tmp_path,
        [("cam-1", "tcp://127.0.0.1:9"), ("cam-1", "tcp://127.0.0.1:10"), ("Bad_Id", "x")],
        extra="segment_s = 1\nretention_dayz = 30\n",
    )
    try:
        load_config(RecorderConfig, config)
    except ConfigError as exc:
        message = str(exc)
    else:
        raise AssertionError("the configuration should have been refused")
    assert "recorder.segment_s" in message
    assert "recorder.retention_dayz" in message
    assert "cameras.2.id" in message
    result = CliRunner().invoke(hall, ["recorder", "run", "--config", str(config)])
    assert result.exit_code != 0 and "problem(s)" in result.output
