"""The password policy (ASVS 4.0.3 V2.1): length, the common-password list, no name."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from careapp.core.passwords import (
    MAX_LENGTH,
    PasswordPolicy,
    PasswordProblem,
    common_passwords,
    generate_password,
    is_common_password,
    password_length,
    password_problems,
)

POLICY = PasswordPolicy()


@pytest.mark.parametrize(
    ("password", "problems"),
    [
        ("short pass", [PasswordProblem.TOO_SHORT]),  # V2.1.1
        ("elevenchars", [PasswordProblem.TOO_SHORT]),
        ("twelve chars", []),
        ("a" * 64, []),  # V2.1.2: 64 characters allowed
        ("b" * MAX_LENGTH, []),  # ...and 128
        ("c" * (MAX_LENGTH + 1), [PasswordProblem.TOO_LONG]),  # more than 128 refused
        ("password1234", [PasswordProblem.COMMON]),  # V2.1.7
        ("PASSWORD1234", [PasswordProblem.COMMON]),  # case ignored
        ("  password1234  ", [PasswordProblem.COMMON]),  # surrounding spaces ignored
        ("ｐａｓｓｗｏｒｄ１２３４", [PasswordProblem.COMMON]),  # full-width letters too
        ("123456", [PasswordProblem.TOO_SHORT, PasswordProblem.COMMON]),
        ("护理保险的一个长长的密码短语", []),  # V2.1.4: any Unicode
        ("🐼🐼🐼🐼 panda 🐼🐼🐼🐼", []),  # emoji
        ("no digits no capitals", []),  # V2.1.9: no composition rules
    ],
)
def test_password_problems(password: str, problems: list[PasswordProblem]) -> None:
    assert password_problems(password, POLICY) == problems


def test_runs_of_spaces_count_once() -> None:
    assert password_length("a      b") == 3
    assert password_problems("ab" + " " * 20 + "cd", POLICY) == [PasswordProblem.TOO_SHORT]
    assert password_problems("abc def ghi jk", POLICY) == []


@pytest.mark.parametrize(
    "password", ["caregiver1234", "CAREGIVER-1234", "caregiver 1234", "4321revigerac"]
)
def test_the_username_is_refused(password: str) -> None:
    problems = password_problems(password, POLICY, personal=["caregiver1234", "王芳"])
    assert PasswordProblem.LIKE_NAME in problems


def test_the_name_is_refused_but_a_phrase_containing_it_is_not() -> None:
    personal = ["wang", "Wang Fang Fang Li"]
    assert password_problems("wang fang fang li", POLICY, personal=personal) == [
        PasswordProblem.LIKE_NAME
    ]
    assert password_problems("wang fang likes tea at nine", POLICY, personal=personal) == []


def test_the_list_is_django_s_twenty_thousand() -> None:
    found = common_passwords()
    assert len(found) > 19_000
    assert {"123456", "qwerty", "password"} <= found
    assert not is_common_password("demo-care-2026")


def test_a_policy_below_asvs_is_refused() -> None:
    assert PasswordPolicy(min_length=16).min_length == 16
    with pytest.raises(ValueError, match="at least 8"):
        PasswordPolicy(min_length=6)
    with pytest.raises(ValueError, match="64"):
        PasswordPolicy(max_length=40)


def test_a_longer_minimum_is_applied() -> None:
    assert password_problems("twelve chars", PasswordPolicy(min_length=14)) == [
        PasswordProblem.TOO_SHORT
    ]


def test_generated_passwords_pass_the_policy_and_differ() -> None:
    made = {generate_password() for _ in range(50)}
    assert len(made) == 50
    for password in made:
        assert len(password) == 19
        assert password_problems(password, POLICY) == []
        assert not set(password) & set("0o1li")


@given(st.text(min_size=12, max_size=MAX_LENGTH).filter(lambda s: " " not in s))
def test_any_long_enough_text_is_accepted_unless_common(password: str) -> None:
    problems = password_problems(password, POLICY)
    assert PasswordProblem.TOO_SHORT not in problems
    assert PasswordProblem.TOO_LONG not in problems
    assert set(problems) <= {PasswordProblem.COMMON}
