"""Central's `[supervision]` section: the anomaly rule table, the discretionary standards, the screen."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from spine.config import Section


class SupervisionSettings(Section):
    anomaly_rules: Path | None = Field(
        None, description="the anomaly rule table (TOML); default: the starter rules shipped with central "
        "(central/anomalies/rules.toml)")
    discretion_standards: Path | None = Field(
        None, description="the table of discretionary standards (TOML); default: the shipped example "
        "(central/discretion/standards.toml)")
    screen_risk: Literal["low", "medium", "high"] = Field(
        "high", description="open anomalies of this risk or higher stand on the big screen")
    pass_code_length: int = Field(
        6, ge=4, le=12, description="digits of a green-channel pass: the kiosks' `code_length`")
