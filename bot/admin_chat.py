"""Admin commands in any chat: `stats`, `recent` and `show ID`, for listed admins only."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, date, datetime

from bot.decision_log import DecisionFilter, DecisionLog
from bot.messages import ConversationKey, Outgoing
from bot.storage import StoredDecision
from rules.footprint import kg_text
from rules.matching import normalize
from rules.models import Lang
from rules.ruleset import RuleSet

_COMMAND = re.compile(r"^/?(stats|statistik|recent|senaste|show|visa)(?:\s+#?(\d+))?$")
RECENT_COUNT = 10


def quarter_start(day: date) -> date:
    """The first day of the quarter `day` is in."""
    return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


class AdminCommands:
    """Answers admin commands from the decision log; anyone else gets a polite refusal."""

    def __init__(
        self, rules: RuleSet, log: DecisionLog, admins: Mapping[str, frozenset[str]]
    ) -> None:
        self.rules = rules
        self.log = log
        self.admins = admins

    def parse(self, text: str | None) -> tuple[str, int | None] | None:
        """The command and its number, if the text is an admin command."""
        match = _COMMAND.match(" ".join((text or "").strip().lower().split()))
        if match is None:
            return None
        word = normalize(match.group(1))
        command = {"statistik": "stats", "senaste": "recent", "visa": "show"}.get(word, word)
        number = int(match.group(2)) if match.group(2) else None
        if (command == "show") != (number is not None):
            return None
        return command, number

    async def answer(
        self, key: ConversationKey, text: str | None, lang: Lang, now: float
    ) -> list[Outgoing] | None:
        """The reply to an admin command, or None when the text is not one."""
        parsed = self.parse(text)
        if parsed is None:
            return None
        if key.user not in self.admins.get(key.channel, frozenset()):
            return [Outgoing("message", self.rules.text("admin.refused", lang))]
        command, number = parsed
        if command == "stats":
            return [Outgoing("message", await self._stats(lang, now))]
        if command == "recent":
            return [Outgoing("message", await self._recent(lang))]
        assert number is not None
        return [Outgoing("message", await self._show(number, lang))]

    async def _stats(self, lang: Lang, now: float) -> str:
        today = datetime.fromtimestamp(now, UTC).date()
        lines = []
        for label, since in (
            ("admin.period.month", today.replace(day=1)),
            ("admin.period.quarter", quarter_start(today)),
        ):
            rows = await self.log.stats(DecisionFilter(since=since))
            digital = sum(r.digital for r in rows)
            qualified = digital + sum(r.travel for r in rows)
            planned = self.rules.text(
                "admin.stats",
                lang,
                period=self.rules.text(label, lang),
                total=sum(r.total for r in rows),
                digital=digital,
                share=f"{digital / qualified:.0%}" if qualified else "–",
                avoided=kg_text(sum(r.avoided_kg for r in rows), lang),
            )
            # What the follow-ups confirmed: the meetings that really went digital.
            confirmed = self.rules.text(
                "admin.stats.confirmed",
                lang,
                confirmed=sum(r.confirmed_digital for r in rows),
                avoided=kg_text(sum(r.confirmed_avoided_kg for r in rows), lang),
                answered=sum(r.answered for r in rows),
                asked=sum(r.asked for r in rows),
            )
            lines.append(f"{planned} {confirmed}")
        return "\n".join(lines)

    def _line(self, decision: StoredDecision, lang: Lang) -> str:
        return self.rules.text(
            "admin.recent.line",
            lang,
            id=decision.id,
            date=datetime.fromtimestamp(decision.created_at, UTC).date().isoformat(),
            channel=decision.channel,
            department=decision.department,
            title=decision.title,
            outcome=self.rules.text(f"outcome.{decision.outcome}", lang),
        )

    async def _recent(self, lang: Lang) -> str:
        found = await self.log.query_decisions(DecisionFilter(), limit=RECENT_COUNT)
        if not found:
            return self.rules.text("admin.recent.none", lang)
        lines = [self.rules.text("admin.recent.header", lang)]
        return "\n".join(lines + [self._line(d, lang) for d in found])

    async def _show(self, decision_id: int, lang: Lang) -> str:
        decision = await self.log.get_decision(decision_id)
        if decision is None:
            return self.rules.text("admin.not_found", lang, id=decision_id)
        lines = [self._line(decision, lang)]
        lines += [f"• {r['text']} ({r['section']})" for r in decision.reasons]
        lines += [f"⚠ {a['text']}" for a in decision.advisories]
        return "\n".join(lines)
