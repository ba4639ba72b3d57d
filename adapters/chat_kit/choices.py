"""Values every chat platform's buttons share with the engine."""

from __future__ import annotations

# The answer "none of these" to a multiple-choice question (goals): what Done sends when
# nothing is ticked, and the value of the "None" button.
NONE_VALUE = "none"


def ticked_answer(values: list[str] | tuple[str, ...]) -> str:
    """What the engine takes for ticked choices: "5,8", or NONE_VALUE when none is ticked."""
    picked = [v for v in values if v != NONE_VALUE]
    return ",".join(picked) or NONE_VALUE
