"""How long a segment file plays, from its own timestamps: what a half-written segment may claim."""

from __future__ import annotations

from pathlib import Path

from edge.camera_recorder.mpegts import PACKET, PTS_WRAP, media_span_ms

from .media import duration_s, pes_packet, probe


def test_a_closed_segment_spans_what_a_player_plays(test_clip: Path) -> None:
    expected_ms = duration_s(probe(test_clip)) * 1000
    assert abs(media_span_ms(test_clip) - expected_ms) <= 2


def test_a_torn_segment_spans_its_whole_packets(tmp_path: Path, test_clip: Path) -> None:
    data = test_clip.read_bytes()
    torn = tmp_path / "torn.ts"
    torn.write_bytes(data[: len(data) // 2 // PACKET * PACKET + 100])  # the power went mid-packet
    whole = tmp_path / "whole.ts"
    whole.write_bytes(data[: len(data) // 2 // PACKET * PACKET])
    span = media_span_ms(torn)
    assert span is not None and abs(span - duration_s(probe(whole)) * 1000) <= 2
    assert span < media_span_ms(test_clip) - 1000


def test_timestamps_that_wrap_still_measure_the_span(tmp_path: Path) -> None:
    first = PTS_WRAP - 90_000  # one second before the 33-bit counter wraps
    frames = [pes_packet((first + n * 9_000) % PTS_WRAP) for n in range(30)]  # 3 s at 10 fps
    path = tmp_path / "wrap.ts"
    path.write_bytes(b"".join(frames))
    assert media_span_ms(path) == 3_000


def test_a_file_without_a_frame_start_has_no_span(tmp_path: Path) -> None:
    path = tmp_path / "empty.ts"
    path.write_bytes(bytes([0x47, 0x1F, 0xFF, 0x10]).ljust(PACKET, b"\xff") * 64)  # null packets
    assert media_span_ms(path) is None
