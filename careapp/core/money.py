"""Money is integer fen (1 yuan = 100 fen); this formats it for people and parses what they type."""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal


def format_yuan(fen: int | None) -> str:
    """`123456` -> `"1,234.56"`; None -> `"—"`."""
    if fen is None:
        return "—"
    sign = "-" if fen < 0 else ""
    yuan, rest = divmod(abs(fen), 100)
    return f"{sign}{yuan:,}.{rest:02d}"


class InvalidAmountError(ValueError):
    """Text that is not an amount of yuan the scheme can store; `reason` names the problem."""

    def __init__(self, reason: str, maximum_fen: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.maximum_fen = maximum_fen


NOT_AN_AMOUNT = "not_an_amount"
NEGATIVE_AMOUNT = "negative"
TOO_MANY_DECIMALS = "too_many_decimals"
AMOUNT_TOO_LARGE = "too_large"
_AMOUNT = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)", re.ASCII)


def parse_yuan(text: str, maximum_fen: int) -> int:
    """`"50"` -> 5000, `"12.5"` -> 1250, `"０.０５"` -> 5 (exact: Decimal, never a float).

    Raises InvalidAmountError: not a plain decimal number (no exponent, NaN or thousands
    separators), negative, a fraction of a fen (more than two decimals), or above `maximum_fen`.
    """
    value = unicodedata.normalize("NFKC", text).strip()  # full-width digits from an IME
    if not _AMOUNT.fullmatch(value):
        raise InvalidAmountError(NOT_AN_AMOUNT)
    amount = Decimal(value)
    if amount < 0:
        raise InvalidAmountError(NEGATIVE_AMOUNT)
    if amount > Decimal(maximum_fen) / 100:  # compared exactly, before any rounding could happen
        raise InvalidAmountError(AMOUNT_TOO_LARGE, maximum_fen)
    fen = amount * 100
    if fen != fen.to_integral_value():
        raise InvalidAmountError(TOO_MANY_DECIMALS)
    return int(fen)


def check_fen(fen: int, maximum_fen: int) -> int:
    """`fen` itself if it is from 0 to `maximum_fen`; InvalidAmountError otherwise."""
    if fen < 0:
        raise InvalidAmountError(NEGATIVE_AMOUNT)
    if fen > maximum_fen:
        raise InvalidAmountError(AMOUNT_TOO_LARGE, maximum_fen)
    return fen


def yuan_text(fen: int) -> str:
    """An amount as an input field shows it: `120000` -> `"1200.00"` (no thousands separator)."""
    return format_yuan(fen).replace(",", "")
