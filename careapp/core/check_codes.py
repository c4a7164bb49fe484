"""Check codes: the secret printed beside a certificate's number, which /verify requires.

A certificate's number is a readable sequence (`DY-2026-000123`) and can be guessed; its check
code cannot. It is 10 random characters (50 bits, from `secrets`) of Crockford's base 32
(digits and capitals without I, L, O and U), printed in two groups: `K7QF3-M9DXA`.

What a person types is normalised before it is compared: full-width characters (a Chinese
input method) become ASCII, case and separators (spaces, dashes, dots) do not matter, and the
letters people confuse with digits are read as Crockford reads them (I and L as 1, O as 0).
Pure functions, no framework.
"""

from __future__ import annotations

import hmac
import re
import secrets
import unicodedata

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford's base 32
LENGTH = 10  # 10 characters of 5 bits: 50 bits
GROUP = 5  # printed as two groups of five
BITS = LENGTH * 5
# Never a valid code (U is not in the alphabet): what an unknown number is compared against, so
# that a look-up of an unknown number does the same work as one with a wrong code.
UNMATCHABLE = "U" * LENGTH

_SEPARATORS = re.compile(r"[\s\-_.\u2010-\u2015\u2212\u30fc]+")
_CONFUSED = str.maketrans({"I": "1", "L": "1", "O": "0"})


def new_check_code() -> str:
    """A fresh random check code, stored as its 10 characters (no separator)."""
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def normalise_check_code(raw: str | None) -> str | None:
    """The 10 characters of a typed or scanned code, or None if it cannot be one."""
    if not raw:
        return None
    text = unicodedata.normalize("NFKC", raw[:64]).upper()
    code = _SEPARATORS.sub("", text).translate(_CONFUSED)
    if len(code) != LENGTH or any(character not in ALPHABET for character in code):
        return None
    return code


def format_check_code(code: str) -> str:
    """The printed form: `K7QF3-M9DXA`."""
    return f"{code[:GROUP]}-{code[GROUP:]}"


def check_code_matches(stored: str, typed: str | None) -> bool:
    """Whether a normalised typed code is the stored one, in constant time (the comparison
    takes as long wherever the first difference is)."""
    return hmac.compare_digest(stored.encode("ascii"), (typed or "").encode("ascii"))
