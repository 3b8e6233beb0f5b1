"""Event types of the provisioning domain."""

from __future__ import annotations
