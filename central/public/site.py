"""What the public pages read, in one object set on central's application."""

from __future__ import annotations

from dataclasses import dataclass

from central.booking.desk import BookingDesk
from central.guide import MatterGuide
from central.public.attempts import AttemptLog
from central.public.figures import PublicFigures
from central.public.gate import FormGate
from central.public.progress import ProgressDesk
from central.public.settings import PublicSettings
from spine.clock import Clock


@dataclass
class PublicSite:
    settings: PublicSettings
    guide: MatterGuide
    progress: ProgressDesk
    figures: PublicFigures
    attempts: AttemptLog
    gate: FormGate
    clock: Clock
    booking: BookingDesk | None = None
    """None: online booking is off (`[booking] enabled = false`)."""
