"""Event types of the recorder domain."""

from __future__ import annotations
