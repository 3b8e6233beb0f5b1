"""The detectors the rule table may name, by name."""

from __future__ import annotations

from central.anomalies.detectors.base import Detector, Settings
from central.anomalies.detectors.confirmation import SelfConfirmed
from central.anomalies.detectors.corrections import DeadlineMoved
from central.anomalies.detectors.discretion import DecisionOutOfRange
from central.anomalies.detectors.footage import CameraGapInComplaint
from central.anomalies.detectors.hours import AcceptedOffHours
from central.anomalies.detectors.pairs import OfficerApplicantPairs
from central.anomalies.detectors.queue import QueueBending
from central.anomalies.detectors.ratings import RatingBursts
from central.anomalies.detectors.refusals import DeviceRefused
from central.anomalies.detectors.suspensions import RepeatedSuspensions, SuspensionNearDeadline

DETECTORS: dict[str, type[Detector[Settings]]] = {
    detector.name: detector  # type: ignore[misc]
    for detector in (AcceptedOffHours, RepeatedSuspensions, SuspensionNearDeadline, SelfConfirmed,
                     OfficerApplicantPairs, DeadlineMoved, RatingBursts, QueueBending, DeviceRefused,
                     CameraGapInComplaint, DecisionOutOfRange)
}

__all__ = ["DETECTORS", "Detector", "Settings"]
