"""Benchmark: how many answers a whole check takes, and how long its decision is (issue 11).

Drives every public acceptance case (../shared/scenarios/public.yml) through the jsonl
channel (`tripcheck chat --jsonl`, one process per check, a new user each time) four times:
opening with one sentence that says the case's title, partner, place, party and mode; with
one that also names its goals by word (what the issue lists; the cases have no date); with
one that names the department too; and answering question by question. Every question still
asked gets the case's own answer, typed as a user would. Prints the answers per check and
their medians against the targets (≤ 6 from one sentence, ≤ 12 without), the most lines a
decision took, and every check whose decision is not the case's (fewer questions must not
mean other decisions).
Run with `.venv/bin/python bench/answers.py [--cases FILE]`.
"""

from __future__ import annotations

# ruff: noqa: E402 (the path is fixed before the imports)
import sys

# Run as a script, this folder comes first on the path (bench/http.py shadows http).
sys.path[:] = [p for p in sys.path if p not in ("", __file__.rsplit("/", 1)[0])]

import argparse
import json
import os
import statistics
import subprocess
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import IO, Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.cases import public_cases
from bench.summary import Summary
from rules.fields import GROUPS
from rules.language import detect
from rules.loader import load_ruleset
from rules.models import Lang
from rules.ruleset import RuleSet

TRIPCHECK = str(Path(sys.executable).parent / "tripcheck")
ONE_SENTENCE_TARGET = 6
PLAIN_TARGET = 12
DECISION_LINES_TARGET = 8
# The words a user would type for what a case says in data.
YES_NO = {"sv": ("ja", "nej"), "en": ("yes", "no")}
UNKNOWN = {"sv": "vet inte", "en": "don't know"}
NO_PARTNER = {"sv": "ingen", "en": "none"}
MODES = {
    "sv": {"flight": "flyger", "train": "åker tåg", "bus": "åker buss", "car": "tar bilen"},
    "en": {"flight": "flying", "train": "by train", "bus": "by bus", "car": "by car"},
}
MODE_ANSWERS = {
    "sv": {"flight": "flyg", "train": "tåg", "bus": "buss", "car": "bil", "ferry": "färja"},
    "en": {"flight": "flight", "train": "train", "bus": "bus", "car": "car", "ferry": "ferry"},
}
MOTIVATION = {"sv": "Det är viktigt för Luleås näringsliv.", "en": "It matters for Luleå."}
# The presence question answered with the digital option in the same words.
PRESENCE = {
    "sv": {
        True: "ja",
        "digital": "nej, det går digitalt",
        "none": "nej, inget digitalt alternativ",
    },
    "en": {True: "yes", "digital": "no, online works", "none": "no, there is no online option"},
}
EVERY_OR_NONE = {"sv": ("alla", "inget"), "en": ("all", "none")}
# The plan's goals named by a word, as a user would say what a trip is for.
GOAL_WORDS = {
    "sv": {1: "hälsa", 2: "delaktighet", 3: "kultur", 4: "natur", 5: "klimatet", 6: "trygghet",
           7: "vardagsliv", 8: "tillväxt", 9: "jobb"},
    "en": {1: "health", 2: "participation", 3: "culture", 4: "nature", 5: "climate",
           6: "safety", 7: "everyday life", 8: "growth", 9: "jobs"},
}  # fmt: skip


class Check:
    """One case driven through a `tripcheck chat --jsonl` process."""

    def __init__(
        self, case: dict[str, Any], lang: Lang, db: Path, user: str, rules: RuleSet
    ) -> None:
        self.case = case
        self.rules = rules
        self.lang = lang
        environment = dict(os.environ, TRIPCHECK_DB=str(db))
        self.process = subprocess.Popen(
            [TRIPCHECK, "chat", "--jsonl", "--user", user, "--lang", lang],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=environment,
        )
        self.answers = 0
        self.decision_lines = 0
        self.outcome = ""
        self.advisories: set[str] = set()
        self.asked: list[str] = []

    def send(self, message: dict[str, Any]) -> dict[str, Any]:
        """One message in; the replies up to the question or decision the bot waits on."""
        stdin: IO[str] = self.process.stdin  # type: ignore[assignment]
        stdout: IO[str] = self.process.stdout  # type: ignore[assignment]
        stdin.write(json.dumps(message, ensure_ascii=False) + "\n")
        stdin.flush()
        while True:
            line = stdout.readline()
            if not line:
                raise RuntimeError(f"tripcheck ended during {self.case.get('id')}")
            reply: dict[str, Any] = json.loads(line)
            if reply["type"] in ("question", "decision"):
                return reply

    def run(self, opening: str | None) -> None:
        """Greets (not counted) or opens with one sentence, then answers until the decision."""
        if opening is None:
            reply = self.send({"text": "hej" if self.lang == "sv" else "hello"})
        else:
            self.answers += 1
            reply = self.send({"text": opening})
        for _ in range(40):
            if reply["type"] == "decision":
                self.decision_lines = len(reply["text"].splitlines())
                decision = reply.get("decision") or {}
                self.outcome = str(decision.get("outcome"))
                self.advisories = {str(a.get("code")) for a in decision.get("advisories") or ()}
                break
            self.answers += 1
            reply = self.send(self.answer(reply))
        else:
            raise RuntimeError(f"{self.case.get('id')}: no decision after 40 answers")
        if self.process.stdin is not None:
            self.process.stdin.close()
        self.process.wait(timeout=30)

    def answer(self, question: dict[str, Any]) -> dict[str, Any]:
        """The case's answer to a question, typed as a user would, or the button to press."""
        step = str(question["step"])
        self.asked.append(step)
        if step == "confirm":
            return {"choice": "save", "step": step}
        if step.endswith(".confirm"):
            return {"choice": question["choices"][0]["value"], "step": step}
        return {"text": self.typed(step, question)}

    def ticks(self, question: dict[str, Any]) -> str:
        """A tick list answered with the numbers of what the case says was done."""
        every, none = EVERY_OR_NONE[self.lang]
        by_text = {self.rules.text(f"tick.{name}", self.lang): name for name in GROUPS["prepared"]}
        listed = [line.split(". ", 1) for line in question["text"].splitlines()[1:]]
        done = [number for number, text in listed if self.case.get(by_text[text]) is True]
        if len(done) == len(listed):
            return every
        return ", ".join(done) if done else none

    def typed(self, step: str, question: dict[str, Any]) -> str:
        lang, value = self.lang, self.case.get(step)
        yes, no = YES_NO[lang]
        if step == "when":
            return str(value) if value else UNKNOWN[lang]
        if step == "motivation":
            return MOTIVATION[lang]
        if step == "physical_necessary":
            if value:
                return PRESENCE[lang][True]
            return PRESENCE[lang]["digital" if self.case.get("digital_alternative") else "none"]
        if step == "prepared":
            return self.ticks(question)
        if step == "travel_mode":
            return MODE_ANSWERS[lang].get(str(value), str(value))
        if step == "partner" and not value:
            return NO_PARTNER[lang]
        if isinstance(value, bool):
            return yes if value else no
        if isinstance(value, list):
            return ", ".join(str(v) for v in value) if value else NO_PARTNER[lang]
        return str(value) if value is not None else UNKNOWN[lang]


def one_sentence(
    case: dict[str, Any], lang: Lang, *, goals: bool = False, department: bool = False
) -> str:
    """The case told in one sentence: its title, partner, place, party and mode; with
    `goals`, also what it is for, the goals named by word ("det gäller tillväxt och jobb"), as
    the issue lists; with `department`, also whose it is ("för Kommunstaben")."""
    title = str(case["title"])
    parts = [title]
    if department:
        parts.append(("för " if lang == "sv" else "for ") + str(case["department"]))
    partner = str(case.get("partner") or "")
    named = partner.lower() in title.lower() or partner.lower() in ("", "none", "ingen")
    if not named:
        parts.append(("med " if lang == "sv" else "with ") + partner)
    parts.append(("i " if lang == "sv" else "in ") + str(case["destination"]))
    sentence = " ".join(parts)
    travellers, mode = case.get("travellers"), case.get("travel_mode")
    if travellers:
        sentence += f", vi är {travellers}" if lang == "sv" else f", {travellers} of us"
    if mode in MODES[lang]:
        sentence += (" och " if lang == "sv" else " ") + MODES[lang][str(mode)]
    goal_words = [GOAL_WORDS[lang][number] for number in case.get("goals") or ()]
    if goals and goal_words:
        words = (" och " if lang == "sv" else " and ").join(goal_words)
        sentence += f", det gäller {words}" if lang == "sv" else f", it is about {words}"
    return sentence


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=Path, default=public_cases())
    parser.add_argument("--limit", type=int, default=0, help="only the first N cases")
    parser.add_argument("--db", type=Path, default=ROOT / "data" / "bench-answers.db")
    parser.add_argument("--verbose", action="store_true", help="the opening and steps asked")
    args = parser.parse_args()
    cases: list[dict[str, Any]] = yaml.safe_load(args.cases.read_text(encoding="utf-8"))
    if args.limit:
        cases = cases[: args.limit]
    rules = load_ruleset()
    args.db.parent.mkdir(parents=True, exist_ok=True)
    args.db.unlink(missing_ok=True)
    # How each check opens: one sentence as in the examples, one that also says whose
    # it is, or a greeting and every question answered in turn.
    openings: dict[str, Callable[[dict[str, Any], Lang], str | None]] = {
        "one sentence": one_sentence,
        "one sentence naming the goals": partial(one_sentence, goals=True),
        "one sentence naming goals and department": partial(
            one_sentence, goals=True, department=True
        ),
        "plain": lambda case, lang: None,
    }
    counts: dict[str, list[int]] = {name: [] for name in openings}
    lines: list[int] = []
    wrong: list[str] = []
    print(
        f"{'case':<30} {'sentence':>9} {'+goals':>7} {'+department':>12} {'plain':>6}"
        f" {'decision lines':>15}"
    )
    for number, case in enumerate(cases):
        title = str(case["title"])
        lang: Lang = detect(title, rules) or ("sv" if set(title.lower()) & set("åäö") else "en")
        row = []
        for index, (name, opening) in enumerate(openings.items()):
            check = Check(case, lang, args.db, f"bench-{index}-{number}", rules)
            said = opening(case, lang)
            check.run(said)
            counts[name].append(check.answers)
            lines.append(check.decision_lines)
            row.append(check.answers)
            expect = case.get("expect") or {}
            missing = set(expect.get("advisories") or ()) - check.advisories
            if check.outcome != expect.get("outcome") or missing:
                wrong.append(
                    f"{case.get('id')} ({name}): {check.outcome}, expected {expect.get('outcome')}"
                    + (f"; advisories missing: {', '.join(sorted(missing))}" if missing else "")
                )
            if args.verbose:
                print(f"  {name}: {said or ''!r} → {', '.join(check.asked)}")
        print(
            f"{case.get('id', number)!s:<30} {row[0]:>9} {row[1]:>7} {row[2]:>12} {row[3]:>6}"
            f" {check.decision_lines:>15}"
        )
    summary = Summary()
    targets = {"plain": PLAIN_TARGET}
    for name in openings:
        target = targets.get(name, ONE_SENTENCE_TARGET)
        median = statistics.median(counts[name])
        print(
            summary.add(
                f"median answers per check, {name}", f"{median:g}", f"≤ {target}", median <= target
            )
        )
    print(
        summary.add("checks with another decision than the case's", str(len(wrong)), "0", not wrong)
    )
    for line in wrong:
        print(f"  {line}")
    longest = max(lines)
    print(
        summary.add(
            "max decision lines per check",
            str(longest),
            f"≤ {DECISION_LINES_TARGET}",
            longest <= DECISION_LINES_TARGET,
        )
    )
    summary.print()
    args.db.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
