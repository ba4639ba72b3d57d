"""The closing block every benchmark prints: each figure of issue 16 with its target."""

from __future__ import annotations


class Summary:
    """Figures with their targets, printed together at the end of a run."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def add(self, name: str, value: str, target: str, meets: bool) -> str:
        """Keeps one figure; returns its line."""
        line = f"{name}: {value} (target {target}) {'meets' if meets else 'MISSES'}"
        self.lines.append(line)
        return line

    def print(self) -> None:
        print("summary:")
        for line in self.lines:
            print(f"  {line}")
