"""The observer port: what the engine and the channels report for operators to count.

The engine reports each turn, decision and storage failure; a channel's platform client
reports the calls its platform failed or throttled. The shell plugs in an implementation (the
Prometheus metrics of `tripcheck serve`); without one nothing is counted."""

from __future__ import annotations

from typing import Protocol


class Observer(Protocol):
    """Receives counts; every method returns at once and never raises."""

    def turn(self, channel: str, step: str | None, seconds: float) -> None:
        """A handled message: its channel, the step open after it (None: no check open) and
        how long it took."""
        ...

    def decision(self, channel: str, outcome: str) -> None:
        """A recorded decision and its outcome."""
        ...

    def storage_error(self) -> None:
        """A turn that storage failed (the user was told so)."""
        ...

    def platform_error(self, platform: str) -> None:
        """A call to a platform's API (Slack, Telegram, Teams) that failed."""
        ...

    def platform_rate_limited(self, platform: str) -> None:
        """A call to a platform's API answered with 429 (throttled; it is waited out)."""
        ...


class NoObserver:
    """Counts nothing: the default."""

    def turn(self, channel: str, step: str | None, seconds: float) -> None:
        pass

    def decision(self, channel: str, outcome: str) -> None:
        pass

    def storage_error(self) -> None:
        pass

    def platform_error(self, platform: str) -> None:
        pass

    def platform_rate_limited(self, platform: str) -> None:
        pass


NO_OBSERVER: Observer = NoObserver()
