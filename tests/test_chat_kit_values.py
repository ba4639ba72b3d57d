"""The shared chat kit: locale, secrets and the choice values every platform sends."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from adapters.chat_kit.choices import NONE_VALUE, ticked_answer
from adapters.chat_kit.locale import language_of_locale
from adapters.chat_kit.secrets import secret_value


@pytest.mark.parametrize(
    ("locale", "lang"),
    [
        ("sv", "sv"),
        ("sv-SE", "sv"),
        ("sv_FI", "sv"),
        ("SV-se", "sv"),
        ("en-US", "en"),
        ("fi-FI", "en"),
        ("nb-NO", "en"),
        ("svx", "en"),
        ("", None),
        ("  ", None),
        (None, None),
    ],
)
def test_a_locale_gives_the_language_of_a_new_conversation(
    locale: str | None, lang: str | None
) -> None:
    assert language_of_locale(locale) == lang


@pytest.mark.parametrize(
    ("value", "expected"),
    [(SecretStr("abc"), "abc"), (SecretStr("  "), None), ("x", "x"), ("", None), (None, None)],
)
def test_a_blank_secret_is_not_set(value: SecretStr | str | None, expected: str | None) -> None:
    assert secret_value(value) == expected


@pytest.mark.parametrize(
    ("values", "answer"),
    [(["5", "8"], "5,8"), ([], NONE_VALUE), ([NONE_VALUE], NONE_VALUE), (["3", NONE_VALUE], "3")],
)
def test_ticked_choices_become_the_engines_answer(values: list[str], answer: str) -> None:
    assert ticked_answer(values) == answer
