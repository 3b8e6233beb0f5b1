"""The matter guide (办事指南): what a citizen can apply for, per department, and where.

An operator-maintained TOML file (`[public] guide` in central's configuration)
lists each department's matters: the documents to bring, the statutory and the
committed time limit, the fee, and the halls, windows and window officers that
handle it. Without a file the embedded `defaults.toml` (the demo's units and
matters) is used. The public site shows it and online booking books against it.
"""

from central.guide.load import load_guide
from central.guide.model import Department, Hall, Matter, MatterGuide, OfficerDesk, Place

__all__ = ["Department", "Hall", "Matter", "MatterGuide", "OfficerDesk", "Place", "load_guide"]
