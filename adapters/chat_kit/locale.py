"""A platform's locale as the language of a new conversation."""

from __future__ import annotations

from rules.models import Lang


def language_of_locale(locale: str | None) -> Lang | None:
    """Swedish for a Swedish locale ("sv", "sv-SE", "sv_FI"), English for any other, None when
    the platform gave none (the engine's default then applies)."""
    if not locale or not locale.strip():
        return None
    return "sv" if locale.strip().lower().replace("_", "-").split("-")[0] == "sv" else "en"
