"""Entitlement events, the benefit ledger and the fund page (administrators)."""
