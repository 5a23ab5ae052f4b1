"""Append-only logs: retention removes old lines and keeps undated ones."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from bot.jsonl import JsonLines, within_days


def test_retention_keeps_recent_and_undated_lines(tmp_path: Path) -> None:
    log = JsonLines(tmp_path / "x.jsonl")
    today = dt.datetime(2026, 11, 25, tzinfo=dt.UTC)
    for stamp in ("2026-01-01T10:00:00+00:00", "2026-11-20T10:00:00+00:00", "kaputt"):
        log.append({"time": stamp})
    (tmp_path / "x.jsonl").open("a").write("{halbe Zeile\n")
    assert log.prune(within_days(90, today)) == 1
    assert [r["time"] for r in log.read()] == ["2026-11-20T10:00:00+00:00", "kaputt"]
    assert log.prune(within_days(90, today)) == 0
