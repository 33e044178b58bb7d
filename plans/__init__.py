"""Bluesky plans, one per STXM scan type, and the standard scan metadata."""
