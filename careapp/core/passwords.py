"""The password policy (OWASP ASVS 4.0.3 V2.1), as pure rules.

A password is accepted when it is long enough (`min_length`, 12 by default, counted after runs
of spaces are combined into one), not too long (`max_length`, 128: any password up to 64 and
more is allowed, nothing longer is stored), not one of the 20,000 most common passwords (the
list Django ships, vendored in careapp/data with its licence), and not the account's own
username or name. Nothing else: any character is allowed (Unicode, spaces, emoji), there are no
composition rules (no "one digit, one capital") and no expiry. Passwords are never trimmed or
truncated.

`password_problems` returns the reasons a password is refused (empty when accepted); callers
turn each `PasswordProblem` into a sentence in the user's language.
"""

from __future__ import annotations

import enum
import functools
import gzip
import re
import secrets
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

COMMON_PASSWORDS_FILE = Path(__file__).resolve().parent.parent / "data" / "common-passwords.txt.gz"
MIN_LENGTH = 12
MAX_LENGTH = 128
# ASVS V2.1.2: passwords of at least 64 characters must be allowed; a policy may not go lower.
LONGEST_LIMIT_ALLOWED = 64

# Temporary passwords: 16 characters from letters and digits that are not easily confused when
# read aloud or copied from a screen (no 0/o, 1/l/i), in four groups: about 80 bits.
_READABLE = "abcdefghjkmnpqrstuvwxyz23456789"
_SPACES = re.compile(r" {2,}")
_NOT_WORD = re.compile(r"[\W_]+")


class PasswordProblem(enum.Enum):
    TOO_SHORT = "too_short"
    TOO_LONG = "too_long"
    COMMON = "common"
    LIKE_NAME = "like_name"  # the username or the person's name


@dataclass(frozen=True)
class PasswordPolicy:
    min_length: int = MIN_LENGTH
    max_length: int = MAX_LENGTH

    def __post_init__(self) -> None:
        if self.min_length < 8:
            raise ValueError("a password policy needs at least 8 characters (ASVS V2.1.1: 12)")
        if self.max_length < max(self.min_length, LONGEST_LIMIT_ALLOWED):
            raise ValueError("a password policy must allow at least 64 characters (ASVS V2.1.2)")


def password_length(password: str) -> int:
    """The length that counts: characters (code points), runs of spaces counted as one."""
    return len(_SPACES.sub(" ", password))


def password_problems(
    password: str, policy: PasswordPolicy, *, personal: Iterable[str] = ()
) -> list[PasswordProblem]:
    """Why `password` is refused under `policy` (empty: accepted). `personal` are the account's
    username and name, which the password may not be."""
    problems = []
    length = password_length(password)
    if length < policy.min_length:
        problems.append(PasswordProblem.TOO_SHORT)
    if len(password) > policy.max_length:
        problems.append(PasswordProblem.TOO_LONG)
    if is_common_password(password):
        problems.append(PasswordProblem.COMMON)
    if _is_like_a_name(password, personal):
        problems.append(PasswordProblem.LIKE_NAME)
    return problems


def is_common_password(password: str) -> bool:
    """Whether the password is on the list of common passwords (compared ignoring case, width
    and the spaces around it, as Django does)."""
    return _normalized(password).strip() in common_passwords()


@functools.cache
def common_passwords() -> frozenset[str]:
    with gzip.open(COMMON_PASSWORDS_FILE, "rt", encoding="utf-8") as lines:
        return frozenset(line.strip() for line in lines if line.strip())


def generate_password() -> str:
    """A temporary password: 16 readable characters in four groups, e.g. `kq7m-2xfp-9tzh-r4wc`."""
    groups = ("".join(secrets.choice(_READABLE) for _ in range(4)) for _ in range(4))
    return "-".join(groups)


def _normalized(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


def _is_like_a_name(password: str, personal: Iterable[str]) -> bool:
    """The password is a name: the same letters and digits (ignoring case, spaces and
    punctuation), or the same backwards."""
    bare = _NOT_WORD.sub("", _normalized(password))
    if not bare:
        return False
    for name in personal:
        bare_name = _NOT_WORD.sub("", _normalized(name))
        if bare_name and bare in (bare_name, bare_name[::-1]):
            return True
    return False
