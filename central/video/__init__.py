"""The monitoring room's video: the wall of live cameras, and evidence clips for complaints.

Video is pulled over HTTP, hop by hop, only while someone watches
(`contract/video.py`, docs/video.md): central relays its browsers' requests
to the hall's gateway (`links`, `live`), lists the halls' cameras from the
recorders' events (`directory`), keeps the wall's layouts (`layouts`), and
fetches and proves the held footage of a complaint (`evidence`). Its HTTP
door is `central/web/api_video.py`; its pages `/wall` and `/evidence`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from central.projection import run_script
from central.store import CentralStore
from central.video.directory import FootageDirectory
from central.video.evidence import SCHEMA as EVIDENCE_SCHEMA
from central.video.evidence import EvidenceDesk
from central.video.layouts import SCHEMA as LAYOUTS_SCHEMA
from central.video.layouts import WallLayouts
from central.video.links import GatewayLinks
from central.video.live import LiveRelay
from central.video.settings import VideoSettings


class VideoRoom:
    """Central's video parts, built together: what the wall and evidence pages use."""

    def __init__(self, settings: VideoSettings, store: CentralStore, data_dir: Path,
                 now_ms: Callable[[], int]) -> None:
        self.settings = settings
        if store.url.is_sqlite:  # on PostgreSQL the tables are the migrations'
            with store.transaction() as tx:
                run_script(tx, LAYOUTS_SCHEMA + EVIDENCE_SCHEMA)
        self.links = GatewayLinks(settings)
        self.directory = FootageDirectory(store)
        self.live = LiveRelay(self.links, settings.segment_cache_s)
        self.layouts = WallLayouts(store)
        self.evidence = EvidenceDesk(store, self.links, self.directory,
                                     settings.evidence_dir or data_dir / "evidence",
                                     settings.export_timeout_s, now_ms)
        self.now_ms = now_ms
