"""Event types of the rating domain."""

from __future__ import annotations
