"""Camera recorder: ffmpeg stream copy into a 30-day ring buffer with holds and exports."""
