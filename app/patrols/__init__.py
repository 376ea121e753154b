"""Hotspot patrols and operational outputs recorded on a case."""
