"""Detectors for boundary signals that are patterns rather than words."""

from moderation.boundary.contact import Detection, detect_contacts

__all__ = ["Detection", "detect_contacts"]
