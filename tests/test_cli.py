"""The `tripcheck` command end to end: batch evaluation, the jsonl chat, start-up errors."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli_helpers import ROOT, SHARED, TRIPCHECK, JsonlProcess, env


def test_the_public_acceptance_cases_pass() -> None:
    cases = SHARED / "scenarios" / "public.yml"
    if not cases.exists():
        pytest.skip("../shared is not beside this checkout")
    run = subprocess.run(
        [
            sys.executable,
            str(SHARED / "tools" / "check_scenarios.py"),
            str(cases),
            "--cmd",
            f"{TRIPCHECK} evaluate",
        ],
        capture_output=True,
        text=True,
        env=env(ROOT / "data" / "unused.db"),
        timeout=300,
    )
    assert run.stdout.strip().splitlines()[-1] == "8 passed, 0 failed", run.stdout + run.stderr


BATCH = """
- id: good
  kind: trip
  title: Board meeting
  department: Kommunstaben
  partner: Bothnian Arc
  destination: Oulu
  contributes_development: yes
  external_monitoring: no
  influence: yes
  goals: [8]
  physical_necessary: no
  digital_alternative: yes
  travellers: 2
  travel_mode: flight
  equality_considered: yes
  in_annual_plan: yes
- id: bad-mode
  kind: trip
  title: Teleport
  department: Kommunstaben
  partner: none
  destination: Bologna
  contributes_development: yes
  external_monitoring: no
  influence: no
  goals: [8]
  physical_necessary: yes
  travellers: 1
  travel_mode: teleport
  equality_considered: yes
  in_annual_plan: yes
- id: no-goals-key
  kind: resa
  title: Something
  department: Kommunstaben
  partner: ingen
  destination: Bologna
  contributes_development: ja
  external_monitoring: nej
  influence: nej
  equality_considered: ja
  in_annual_plan: ja
- id: still-evaluated
  kind: aktivitet
  title: Mässa
  department: LBR
  partner: none
  destination: Tokyo
  contributes_development: yes
  external_monitoring: yes
  influence: no
  goals: "tillväxt, arbete"
  physical_necessary: ja
  travellers: 2
  travel_mode: flyg
  equality_considered: yes
  in_annual_plan: yes
"""


def test_a_bad_row_is_named_and_the_others_are_still_evaluated(tmp_path: Path) -> None:
    batch = tmp_path / "plan.yml"
    batch.write_text(BATCH, encoding="utf-8")
    run = subprocess.run(
        [TRIPCHECK, "evaluate", str(batch), "--format", "jsonl"],
        capture_output=True,
        text=True,
        env=env(tmp_path / "x.db"),
        timeout=120,
    )
    assert run.returncode == 1
    rows = {row["id"]: row for row in map(json.loads, run.stdout.splitlines())}
    assert rows["good"]["outcome"] == "digital"
    assert rows["still-evaluated"]["outcome"] == "travel"
    assert rows["still-evaluated"]["focus_area"] == "other"
    assert "error" in rows["bad-mode"] and "error" in rows["no-goals-key"]
    assert "row 2 (bad-mode): travel_mode: 'teleport' is not understood" in run.stderr
    assert "row 3 (no-goals-key): goals: missing" in run.stderr


def test_csv_with_the_same_columns(tmp_path: Path) -> None:
    batch = tmp_path / "plan.csv"
    batch.write_text(
        "id,kind,title,department,partner,destination,contributes_development,external_monitoring,"
        "influence,goals,physical_necessary,digital_alternative,travellers,travel_mode,"
        "equality_considered,eu_funding_checked,in_annual_plan\n"
        "csv-1,project,Interreg,LBR,Bothnian Coastal Route,Vasa,yes,yes,yes,"
        '"8, 9, 5",no,yes,1,car,no,no,yes\n',
        encoding="utf-8",
    )
    run = subprocess.run(
        [TRIPCHECK, "evaluate", str(batch), "--format", "jsonl"],
        capture_output=True,
        text=True,
        env=env(tmp_path / "x.db"),
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    [row] = [json.loads(line) for line in run.stdout.splitlines()]
    assert row["outcome"] == "digital" and row["focus_area"] == "business_region"
    assert {"equality_not_considered", "eu_funding_not_checked"} <= {
        a["code"] for a in row["advisories"]
    }


def test_the_table_format_is_readable(tmp_path: Path) -> None:
    batch = tmp_path / "plan.yml"
    batch.write_text(BATCH, encoding="utf-8")
    run = subprocess.run(
        [TRIPCHECK, "evaluate", str(batch)],
        capture_output=True,
        text=True,
        env=env(tmp_path / "x.db", COLUMNS="160"),
        timeout=120,
    )
    assert "good" in run.stdout and "digital" in run.stdout and "invalid" in run.stdout


def test_a_check_survives_a_killed_process(tmp_path: Path) -> None:
    db = tmp_path / "tripcheck.db"
    first = JsonlProcess(db)
    first.send({"text": "hej"})
    first.send({"choice": "trip"})
    replies = first.send({"text": "Styrelsemöte"})
    assert replies[-1]["step"] == "department"
    first.kill()
    second = JsonlProcess(db)
    replies = second.send({"text": "Kommunstaben"})
    assert replies[-1]["step"] == "partner"
    replies = second.send({"text": "summary"})
    assert "Styrelsemöte" in replies[0]["text"]
    second.kill()


def test_the_jsonl_chat_reports_a_malformed_line_and_carries_on(tmp_path: Path) -> None:
    run = subprocess.run(
        [TRIPCHECK, "chat", "--jsonl", "--user", "u", "--lang", "en"],
        input='{"text": "hi"}\n{oops\n\n{"choice": "trip"}\n',
        capture_output=True,
        text=True,
        env=env(tmp_path / "t.db"),
        timeout=60,
    )
    lines = [json.loads(line) for line in run.stdout.splitlines()]
    assert [line["type"] for line in lines] == ["message", "question", "error", "question"]
    assert "not valid JSON" in lines[2]["text"]
    assert lines[3]["step"] == "title"
    assert run.returncode == 0


def test_plain_mode_numbers_pick_choices(tmp_path: Path) -> None:
    run = subprocess.run(
        [TRIPCHECK, "chat", "--user", "u", "--lang", "en"],
        input="1\nBoard meeting\n",
        capture_output=True,
        text=True,
        env=env(tmp_path / "t.db"),
        timeout=60,
    )
    assert "[1] Trip   [2] Project   [3] Activity" in run.stdout
    assert "Which department or municipal company" in run.stdout


def start(db: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [TRIPCHECK, "chat", "--jsonl", "--user", "u"],
        input='{"text": "hej"}\n',
        capture_output=True,
        text=True,
        env=env(db),
        timeout=60,
    )


def test_a_corrupt_database_is_refused_and_left_untouched(tmp_path: Path) -> None:
    db = tmp_path / "tripcheck.db"
    garbage = b"this is not a database" * 100
    db.write_bytes(garbage)
    run = start(db)
    assert run.returncode == 2
    assert "corrupt or not a SQLite file" in run.stderr and "Traceback" not in run.stderr
    assert db.read_bytes() == garbage


def test_a_locked_database_is_a_clear_error(tmp_path: Path) -> None:
    db = tmp_path / "tripcheck.db"
    JsonlProcess(db).close()
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        run = start(db)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert run.returncode == 2
    assert "locked by another program" in run.stderr


def make_read_only(path: Path) -> None:
    """Root ignores file modes, so there the file is made immutable instead."""
    if os.geteuid() == 0:
        subprocess.run(["chattr", "+i", str(path)], check=True)
    else:
        path.chmod(0o444)


def make_writable(path: Path) -> None:
    if os.geteuid() == 0:
        subprocess.run(["chattr", "-i", str(path)], check=True)
    path.chmod(0o644)


def test_a_read_only_database_is_a_clear_error(tmp_path: Path) -> None:
    db = tmp_path / "tripcheck.db"
    JsonlProcess(db).close()
    before = db.read_bytes()
    make_read_only(db)
    try:
        run = start(db)
    finally:
        make_writable(db)
    assert run.returncode == 2
    assert "read-only" in run.stderr, run.stderr
    assert db.read_bytes() == before


def test_the_command_line_imports_the_engine_only_for_the_commands_that_run_it() -> None:
    """`tripcheck evaluate` (and --help) start without the engine, storage and metrics
    imports: a tenth of a second of its start-up; chat and serve import them when run."""
    probe = (
        "import sys, tripcheck.cli;"
        " print(sorted(m for m in ('tripcheck.app', 'bot.engine', 'prometheus_client',"
        " 'storage.sqlite.store', 'starlette') if m in sys.modules))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe], check=True, capture_output=True, text=True, cwd=ROOT
    ).stdout.strip()
    assert loaded == "[]"
