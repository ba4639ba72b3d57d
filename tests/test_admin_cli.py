"""Admins read the decision log from the command line: 10,000 generated decisions."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from collections import Counter, defaultdict
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.passwords import verify_password
from tests.decision_factory import build_log, generated_rows
from tripcheck.cli import main

COUNT = 10_000

STOCKHOLM = ZoneInfo("Europe/Stockholm")


@pytest.fixture(scope="module")
def log_db(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict[str, Any]]]:
    path = tmp_path_factory.mktemp("log") / "tripcheck.db"
    return path, build_log(path, COUNT)


def run(capsys: pytest.CaptureFixture[str], db: Path, *args: str) -> tuple[int, str]:
    code = main([*args, "--db", str(db)])
    return code, capsys.readouterr().out


def day(timestamp: float) -> date:
    """The Stockholm day of a timestamp, as the date filters read days."""
    return datetime.fromtimestamp(timestamp, STOCKHOLM).date()


def test_list_filters_by_outcome_channel_and_dates(log_db, capsys) -> None:  # type: ignore[no-untyped-def]
    db, rows = log_db
    expected = [
        r
        for r in rows
        if r["outcome"] == "digital"
        and r["channel"] == "slack"
        and date(2026, 1, 1) <= day(r["created_at"]) <= date(2026, 3, 31)
    ]
    code, out = run(
        capsys,
        db,
        "decisions",
        "list",
        "--outcome",
        "digital",
        "--channel",
        "slack",
        "--since",
        "2026-01-01",
        "--until",
        "2026-03-31",
        "--format",
        "jsonl",
        "--limit",
        "100000",
    )
    assert code == 0
    found = [json.loads(line) for line in out.splitlines()]
    assert len(found) == len(expected) > 0
    assert {f["outcome"] for f in found} == {"digital"} and {f["channel"] for f in found} == {
        "slack"
    }
    dates = [f["created_at"] for f in found]
    assert dates == sorted(dates, reverse=True), "newest first"


def test_list_filters_by_department_partner_focus_area_and_search(log_db, capsys) -> None:  # type: ignore[no-untyped-def]
    db, rows = log_db
    code, out = run(
        capsys,
        db,
        "decisions",
        "list",
        "--department",
        "business region",
        "--partner",
        "SERN",
        "--focus-area",
        "eu",
        "--format",
        "jsonl",
        "--limit",
        "100000",
    )
    expected = [
        r for r in rows if r["department"] == "Luleå Business Region" and r["partner"] == "SERN"
    ]
    assert code == 0 and len(out.splitlines()) == len(expected) > 0
    code, out = run(
        capsys,
        db,
        "decisions",
        "list",
        "--search",
        "studiebes",
        "--format",
        "jsonl",
        "--limit",
        "100000",
    )
    expected = [r for r in rows if r["title"].startswith("Studiebesök")]
    assert len(out.splitlines()) == len(expected) > 0


def test_list_as_table_csv_and_json(log_db, capsys) -> None:  # type: ignore[no-untyped-def]
    db, _ = log_db
    code, table = run(capsys, db, "decisions", "list", "--limit", "5")
    assert code == 0 and "outcome" in table and table.count("\n") > 5
    _, text = run(capsys, db, "decisions", "list", "--limit", "5", "--format", "csv")
    records = list(csv.DictReader(io.StringIO(text)))
    assert len(records) == 5 and records[0]["rules_version"] == "2024.1+test"
    _, text = run(capsys, db, "decisions", "list", "--limit", "5", "--format", "json")
    assert len(json.loads(text)) == 5


def test_show_gives_every_answer_reason_version_and_transcript(log_db, capsys) -> None:  # type: ignore[no-untyped-def]
    db, rows = log_db
    code, out = run(capsys, db, "decisions", "show", "17")
    row = rows[16]
    assert code == 0
    assert f"Decision 17 — {row['outcome']}" in out
    assert f"title: '{row['title'].lower()}' → {row['title']}" in out
    assert "[adds_value]" in out and "rules version: 2024.1+test" in out
    assert "Transcript:" in out and row["title"].lower() in out.split("Transcript:")[1]
    assert main(["decisions", "show", "999999", "--db", str(db)]) == 1


def test_export_streams_the_whole_log(log_db, capsys) -> None:  # type: ignore[no-untyped-def]
    db, rows = log_db
    code, text = run(capsys, db, "decisions", "export", "--format", "csv")
    records = list(csv.DictReader(io.StringIO(text)))
    assert code == 0 and len(records) == COUNT
    assert [int(r["id"]) for r in records] == list(range(1, COUNT + 1))
    _, text = run(capsys, db, "decisions", "export", "--format", "json", "--outcome", "travel")
    exported = json.loads(text)
    assert len(exported) == sum(r["outcome"] == "travel" for r in rows)


def test_stats_per_month_and_department(log_db, capsys) -> None:  # type: ignore[no-untyped-def]
    db, rows = log_db
    code, text = run(
        capsys, db, "stats", "--format", "json", "--since", "2026-07-01", "--until", "2026-09-30"
    )
    assert code == 0
    stats = json.loads(text)
    expected: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    avoided: dict[tuple[str, str], float] = defaultdict(float)
    for r in rows:
        when = day(r["created_at"])
        if date(2026, 7, 1) <= when <= date(2026, 9, 30):
            # Months as the municipality lives them: in Stockholm time.
            month = datetime.fromtimestamp(r["created_at"], STOCKHOLM).strftime("%Y-%m")
            group = (month, r["department"])
            expected[group][r["outcome"]] += 1
            avoided[group] += r["co2_avoided_kg"] or 0
    by_group = {(s["month"], s["department"]): s for s in stats if s["month"] != "all"}
    assert set(by_group) == set(expected)
    for group, counts in expected.items():
        assert by_group[group]["digital"] == counts["digital"]
        assert by_group[group]["travel"] == counts["travel"]
        assert by_group[group]["avoided_kg"] == pytest.approx(avoided[group], abs=0.1)
    total = next(s for s in stats if s["month"] == "all")
    assert total["total"] == sum(sum(c.values()) for c in expected.values())
    assert total["avoided_kg"] == pytest.approx(sum(avoided.values()), abs=0.5)
    code, table = run(capsys, db, "stats", "--since", "2026-07-01", "--until", "2026-09-30")
    assert code == 0 and "avoided_kg" in table


def test_purge_removes_identifiers_from_old_decisions_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "t.db"
    rows = build_log(db, 300)
    monkeypatch.setenv("TRIPCHECK_RETENTION_MONTHS", "12")
    code = main(["decisions", "purge", "--db", str(db)])
    assert code == 0 and "older than 12 months" in capsys.readouterr().out
    conn = sqlite3.connect(db)
    cutoff = datetime.now(UTC).timestamp() - 12 * 30.44 * 86400
    old = [i + 1 for i, r in enumerate(rows) if r["created_at"] < cutoff]
    new = [i + 1 for i, r in enumerate(rows) if r["created_at"] >= cutoff]
    assert old and new
    for decision_id in old:
        user, chat, transcript, answers, purged = conn.execute(
            "SELECT user_id, chat, transcript, answers, purged_at FROM decisions WHERE id = ?",
            [decision_id],
        ).fetchone()
        assert (user, chat, transcript) == ("", "", "[]") and purged is not None
        assert json.loads(answers)["title"]["raw"] == ""
    kept = conn.execute(
        f"SELECT count(*) FROM decisions WHERE user_id != '' AND id IN ({','.join(map(str, new))})"
    ).fetchone()[0]
    assert kept == len(new)
    # Statistics survive a purge.
    assert conn.execute("SELECT count(*) FROM decisions").fetchone()[0] == 300
    assert conn.execute("SELECT action FROM audit").fetchall() == [("purge",)]


def test_erase_removes_a_person_everywhere(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    db = tmp_path / "t.db"
    rows = build_log(db, 300)
    conn = sqlite3.connect(db)
    conn.execute("INSERT INTO conversations VALUES ('slack', 'c', 'user-3', '{}', 0)")
    conn.execute("INSERT INTO profiles VALUES ('slack', 'user-3', 'Kommunstaben', 0)")
    conn.commit()
    assert main(["decisions", "erase", "--user", "user-3", "--db", str(db)]) == 0
    hit = sum(r["user_id"] == "user-3" for r in rows)
    assert f"from {hit} decision(s)" in capsys.readouterr().out
    assert (
        conn.execute("SELECT count(*) FROM decisions WHERE user_id = 'user-3'").fetchone()[0] == 0
    )
    assert (
        conn.execute("SELECT count(*) FROM conversations WHERE user_id = 'user-3'").fetchone()[0]
        == 0
    )
    assert conn.execute("SELECT count(*) FROM profiles WHERE user_id = 'user-3'").fetchone()[0] == 0
    assert conn.execute("SELECT count(*) FROM decisions WHERE user_id = 'user-4'").fetchone()[0] > 0
    audit = conn.execute("SELECT action, details FROM audit").fetchall()
    assert audit[0][0] == "erase" and "user-3" not in audit[0][1]


def test_admin_add_stores_a_memory_hard_hash(tmp_path: Path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    db = tmp_path / "t.db"
    monkeypatch.setattr("sys.stdin", io.StringIO("correct horse battery\n"))
    assert main(["admin", "add", "kerstin", "--password-stdin", "--db", str(db)]) == 0
    stored = sqlite3.connect(db).execute("SELECT password_hash FROM admins").fetchone()[0]
    assert stored.startswith("$argon2id$") and "correct horse" not in stored
    assert verify_password("correct horse battery", stored)
    assert not verify_password("wrong horse battery", stored)
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert main(["admin", "add", "kerstin", "--password-stdin", "--db", str(db)]) == 1


def test_exported_text_never_runs_as_a_spreadsheet_formula() -> None:
    from bot.export import CSV_COLUMNS, csv_row
    from bot.storage import StoredDecision

    decision = StoredDecision.model_validate(
        {
            **generated_rows(1)[0],
            "id": 1,
            "title": '=HYPERLINK("http://x")',
            "department": "+46 stab",
            "advisories": [],
            "reasons": [],
            "guidelines": [],
            "answers": {},
            "transcript": [],
            "co2": None,
        }
    )
    row = dict(zip(CSV_COLUMNS, csv_row(decision), strict=True))
    assert row["title"] == '\'=HYPERLINK("http://x")' and row["department"] == "'+46 stab"
