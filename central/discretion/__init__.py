"""Control of discretionary power (自由裁量权): the operator's table of standards, and how a decision is
measured against it. Decisions themselves are case facts (`case.decided`, `central.cases`)."""

from central.discretion.standards import (
    DEFAULT_STANDARDS,
    Measure,
    Standards,
    StandardsError,
    UnknownStandard,
    default_standards,
)

__all__ = ["DEFAULT_STANDARDS", "Measure", "Standards", "StandardsError", "UnknownStandard",
           "default_standards"]
