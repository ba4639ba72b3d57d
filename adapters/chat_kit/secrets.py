"""Secret settings as plain strings, treating an empty value as not set."""

from __future__ import annotations

from pydantic import SecretStr


def secret_value(value: SecretStr | str | None) -> str | None:
    """The secret's text, or None when it is unset or blank (the channel is then off)."""
    if value is None:
        return None
    text = value.get_secret_value() if isinstance(value, SecretStr) else value
    return text.strip() or None
