"""Audit of claims: flagged visits, explained, and their review by an administrator."""
