"""Loading the matter guide: the operator's TOML file, or the embedded defaults of the demo."""

from __future__ import annotations

from pathlib import Path

from central.guide.model import MatterGuide
from spine.config import load_config

DEFAULTS = Path(__file__).with_name("defaults.toml")


def load_guide(path: Path | None = None) -> MatterGuide:
    """The guide in `path`, or the embedded one; raises `spine.config.ConfigError` listing every
    wrong key at once."""
    return load_config(MatterGuide, path or DEFAULTS)
