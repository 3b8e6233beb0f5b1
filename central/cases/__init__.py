"""Supervision case records and the countdown engine."""
