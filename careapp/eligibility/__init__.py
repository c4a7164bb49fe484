"""Eligibility: pure rules in rules.py."""
