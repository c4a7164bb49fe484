"""Services: typed `verb_noun` functions that load rows, call the pure domain and persist.

They take `session`, `actor` and `now` as arguments, may flush, and never commit.
"""
