"""The hall's video relay: central's requests for live video and evidence, passed to the hall's recorders.

See `relay.py` and docs/video.md.
"""
