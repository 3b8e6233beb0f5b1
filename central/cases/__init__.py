"""Supervision case records and the countdown engine (no HTTP here: central's door is central/web)."""
