"""Evidence clips: joined by stream copy, playable, hashed, and provably unchanged later."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from edge.camera_recorder.config import RecorderConfig
from edge.camera_recorder.export import NoFootage, export_clip, sha256_of, verify_export
from edge.camera_recorder.index import FootageIndex, Segment
from edge.camera_recorder.service import Recorder
from edge.camera_recorder.testsource import TestPatternCamera
from hallwatch.cli import main as hall

from .conftest import EventLog, recorder_config, wait_for
from .media import duration_s, probe, video_codec

# One worker records the module's footage once (pytest -n 2 --dist loadgroup).
pytestmark = pytest.mark.xdist_group(name="recorder-export")


@dataclass
class Footage:
    config: RecorderConfig
    config_path: Path
    segments: list[Segment]


@pytest.fixture(scope="module")
def footage(test_clip: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Footage]:
    """About ten seconds of one camera, recorded once for the whole module, recorder stopped."""
    root = tmp_path_factory.mktemp("export")
    camera = TestPatternCamera(test_clip).start()
    recorder: Recorder | None = None
    try:
        config = recorder_config(root, [{"id": "cam-1", "url": camera.url}])
        recorder = Recorder(config, events=EventLog())
        recorder.start()
        index = recorder.index
        wait_for(lambda: len(index.segments.between("cam-1", 0, 2**62)) >= 5, what="footage")
    finally:
        if recorder is not None:
            recorder.stop()
        camera.stop()
    config_path = root / "recorder.toml"
    config_path.write_text(
        f'data_dir = "{root}"\n[device]\nid = "rec-1"\nhall = "hall-1"\nkind = "recorder"\n'
        f'[outbox]\npath = "{root}/outbox.sqlite"\n'
        f'[[cameras]]\nid = "cam-1"\nurl = "{camera.url}"\n'
    )
    index = FootageIndex(config.index_path)
    segments = index.segments.between("cam-1", 0, 2**62)
    index.close()
    yield Footage(config, config_path, segments)


@pytest.fixture
def index(footage: Footage) -> Iterator[FootageIndex]:
    opened = FootageIndex(footage.config.index_path)
    yield opened
    opened.close()


def export(footage: Footage, index: FootageIndex, tmp_path: Path, start: int, end: int,
           container: str = "mp4") -> tuple[Path, Path]:
    result = export_clip(
        index, storage_dir=footage.config.storage_dir, export_dir=tmp_path, camera="cam-1",
        start_ms=start, end_ms=end, who="Officer Li", why="complaint 2026-117",
        now_ms=end + 60_000, device="rec-1", hall="hall-1", container=container,
    )
    return result.clip, result.manifest_path


def test_a_clip_across_segments_plays_and_its_manifest_verifies(
    footage: Footage, index: FootageIndex, tmp_path: Path
) -> None:
    segs = footage.segments
    start, end = segs[1].start_ms + 500, segs[3].end_ms - 500
    clip, manifest_path = export(footage, index, tmp_path, start, end)

    info = probe(clip)
    assert video_codec(info) == "h264"
    # Stream copy cuts at keyframes (1 s apart here), so the clip may start up to a second early.
    assert (end - start) / 1000 - 0.5 <= duration_s(info) <= (end - start) / 1000 + 1.5
    manifest = json.loads(manifest_path.read_text())
    assert [s["path"] for s in manifest["segments"]] == [s.path for s in segs[1:4]]
    for entry in manifest["segments"]:
        assert entry["sha256"] == sha256_of(footage.config.storage_dir / entry["path"])
    assert manifest["clip"]["sha256"] == sha256_of(clip)
    assert (manifest["camera"], manifest["exported_by"]) == ("cam-1", "Officer Li")
    assert manifest["range"]["from_ms"] == start and manifest["range"]["to_ms"] == end
    record = index.exports.get(manifest["export_id"])
    assert record is not None and record.clip_sha256 == manifest["clip"]["sha256"]
    result = verify_export(manifest_path, index=index, storage_dir=footage.config.storage_dir)
    assert result.ok, result.problems


def test_one_byte_changed_in_the_clip_fails_the_check(
    footage: Footage, index: FootageIndex, tmp_path: Path
) -> None:
    segs = footage.segments
    clip, manifest_path = export(footage, index, tmp_path, segs[1].start_ms, segs[2].end_ms, "ts")
    data = bytearray(clip.read_bytes())
    data[len(data) // 2] ^= 0x01
    clip.write_bytes(bytes(data))

    result = verify_export(manifest_path)

    assert not result.ok and "clip hash" in result.problems[0]


def test_a_clip_and_manifest_edited_together_are_caught_by_the_index(
    footage: Footage, index: FootageIndex, tmp_path: Path
) -> None:
    segs = footage.segments
    clip, manifest_path = export(footage, index, tmp_path, segs[1].start_ms, segs[2].end_ms, "mkv")
    clip.write_bytes(clip.read_bytes()[:-188])
    manifest = json.loads(manifest_path.read_text())
    manifest["clip"]["sha256"] = sha256_of(clip)
    manifest_path.write_text(json.dumps(manifest, indent=2))

    assert verify_export(manifest_path).ok  # the manifest alone is fooled...
    result = verify_export(manifest_path, index=index)
    assert not result.ok  # ...the index is not
    assert any("index" in problem for problem in result.problems)


def test_exporting_a_range_with_no_footage_says_why(
    footage: Footage, index: FootageIndex, tmp_path: Path
) -> None:
    after = footage.segments[-1].end_ms + 60_000
    with pytest.raises(NoFootage, match="recorder_down"):
        export(footage, index, tmp_path, after, after + 10_000)


def test_export_and_verify_from_the_command_line(footage: Footage, tmp_path: Path) -> None:
    segs = footage.segments
    runner = CliRunner()
    out = tmp_path / "evidence.mp4"
    exported = runner.invoke(hall, [
        "recorder", "export", "--config", str(footage.config_path), "--camera", "cam-1",
        "--from", str(segs[0].start_ms), "--to", str(segs[2].end_ms), "--who", "Officer Li",
        "--why", "complaint 2026-118", "--out", str(out),
    ])
    assert exported.exit_code == 0, exported.output
    manifest = out.with_name(out.name + ".manifest.json")
    ok = runner.invoke(hall, ["recorder", "verify", str(manifest), "--config",
                              str(footage.config_path)])
    assert ok.exit_code == 0 and "OK" in ok.output
    out.write_bytes(out.read_bytes() + b"\0")
    bad = runner.invoke(hall, ["recorder", "verify", str(manifest)])
    assert bad.exit_code == 1 and "FAILED" in bad.output
