"""PDF reports."""
