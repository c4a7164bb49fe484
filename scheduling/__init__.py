"""Dispatch, rosters, ratings and provider quality: pure, framework-free."""
