"""Monthly settlement: reconciliation, statements and their PDF and CSV."""
