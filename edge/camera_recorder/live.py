"""The live view of a camera: a short HLS playlist written by the recording ffmpeg, by stream copy.

The recording ffmpeg already receives every packet; a second output costs a
muxer, not a decoder. Both outputs go through ffmpeg's `tee` muxer, whose
`onfail=ignore` keeps the footage recording if the live output ever fails (a
full tmpfs, a deleted folder): evidence never depends on the live view. The
playlist keeps a few 1 s segments, deletes older ones, stamps each with its
program date-time (how far behind the wall is, measured), never ends (a
restarted ffmpeg continues it), and numbers segments from the epoch second
with the run in their names, so a name is never reused and a player sees the
sequence only grow. Only video goes live: the wall is silent.
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass
from pathlib import Path

from contract.video import LIVE_PLAYLIST

log = logging.getLogger(__name__)

HLS_FLAGS = "+".join((
    "delete_segments",  # a few seconds on disk, whatever the uptime
    "program_date_time",  # the wall clock of each segment: the live edge is measured with it
    "temp_file",  # a segment is renamed into place once whole
    "independent_segments",  # each starts on a keyframe: any can be the first one played
    "omit_endlist",  # a stopped run does not end the stream for players; the next run continues it
    "discont_start",  # a new run's timestamps start afresh: tell the player
))


@dataclass(frozen=True)
class LiveOutput:
    """Where and how one run of one camera writes its live playlist."""

    directory: Path
    run: int
    segment_s: float
    segments: int

    @property
    def playlist(self) -> Path:
        return self.directory / LIVE_PLAYLIST

    def segment_pattern(self) -> Path:
        return self.directory / f"r{self.run:06d}-%d.ts"

    def prepare(self) -> None:
        """An empty folder for this run: the last run's segments are no longer in any playlist."""
        clear(self.directory)
        self.directory.mkdir(parents=True, exist_ok=True)


@dataclass(frozen=True)
class LivePlan:
    """The recorder's live view settings: each camera gets a folder under `root`."""

    root: Path
    segment_s: float = 1.0
    segments: int = 5

    def camera_dir(self, camera: str) -> Path:
        return self.root / camera

    def for_run(self, camera: str, run: int) -> LiveOutput:
        return LiveOutput(self.camera_dir(camera), run, self.segment_s, self.segments)


def clear(directory: Path) -> None:
    """Remove a camera's live files (its ffmpeg has stopped: nothing there is live any more)."""
    shutil.rmtree(directory, ignore_errors=True)


def hls_slave(live: LiveOutput) -> str:
    """The tee muxer's live output: HLS by stream copy, video only, never failing the recording."""
    return tee_slave(
        {
            "f": "hls",
            "select": "v",
            "onfail": "ignore",
            "hls_time": f"{live.segment_s:g}",
            "hls_list_size": str(live.segments),
            "hls_flags": HLS_FLAGS,
            "hls_start_number_source": "epoch",
            "hls_segment_type": "mpegts",
            "hls_segment_filename": str(live.segment_pattern()),
        },
        str(live.playlist),
    )


def tee_slave(options: dict[str, str], target: str) -> str:
    """One output of ffmpeg's tee muxer, escaped for its two parsers.

    An option's value is read by ffmpeg's option parser (`\\`, `'`, `:` are
    special), then the whole output by the splitter on `|` (`\\`, `'`, `|`).
    The option list ends at the first `]`, which cannot be escaped at all.
    """
    for value in (*options.values(), target):
        if "]" in value:
            raise ValueError(f"ffmpeg's tee muxer cannot take ']' in {value!r}: choose another path")
    spec = ":".join(f"{key}={_escaped(value, chr(92) + chr(39) + ':')}" for key, value in options.items())
    return _escaped(f"[{spec}]{target}", chr(92) + chr(39) + "|")


def tee_outputs(*slaves: str) -> str:
    return "|".join(slaves)


def _escaped(text: str, special: str) -> str:
    return "".join("\\" + char if char in special else char for char in text)
