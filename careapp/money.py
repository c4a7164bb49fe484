"""Money is integer fen (1 yuan = 100 fen); this formats it for people."""

from __future__ import annotations


def format_yuan(fen: int | None) -> str:
    """`123456` -> `"1,234.56"`; None -> `"—"`."""
    if fen is None:
        return "—"
    sign = "-" if fen < 0 else ""
    yuan, rest = divmod(abs(fen), 100)
    return f"{sign}{yuan:,}.{rest:02d}"
