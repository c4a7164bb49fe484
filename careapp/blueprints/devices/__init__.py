"""Assistive devices: the catalogue, loans and returns (administrators)."""
