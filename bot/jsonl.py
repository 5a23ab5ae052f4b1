"""Append-only JSON-lines files under BOT_DATA_DIR, safe for several processes, with retention."""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bot.locks import exclusive

# One line of a log: a JSON object as json.loads gives it.
Record = dict[str, Any]


def now() -> str:
    """The time stamp every record carries: UTC, to the second."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


class JsonLines:
    """One record per line; every write happens under an exclusive lock on the file."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def append(self, record: Record) -> None:
        """Add one record (one write, so a reader never sees half a line)."""
        data = (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8")
        with exclusive(self.path) as fd:
            os.write(fd, data)

    def read(self) -> list[Record]:
        """All records; a damaged line (say, from a full disk) is skipped, not fatal."""
        if not self.path.is_file():
            return []
        records = []
        for line in self.path.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(record, dict):
                records.append(record)
        return records

    def prune(self, keep: Callable[[Record], bool]) -> int:
        """Drop the records `keep` rejects; returns how many went. The file is replaced atomically."""
        if not self.path.is_file():
            return 0
        with exclusive(self.path):
            records = self.read()
            kept = [r for r in records if keep(r)]
            if len(kept) == len(records):
                return 0
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in kept), "utf-8")
            os.chmod(tmp, 0o600)
            os.replace(tmp, self.path)
        return len(records) - len(kept)


def within_days(days: int, today: dt.datetime | None = None) -> Callable[[Record], bool]:
    """A `keep` test for prune: true for records whose time lies within the last `days` days
    (and for records without a readable time, which are never silently lost)."""
    cutoff = (today or dt.datetime.now(dt.UTC)) - dt.timedelta(days=days)

    def keep(record: Record) -> bool:
        try:
            stamp = dt.datetime.fromisoformat(str(record.get("time", "")))
        except ValueError:
            return True  # a record we cannot date is kept, never silently lost
        if stamp.tzinfo is None:
            stamp = stamp.replace(tzinfo=dt.UTC)
        return stamp >= cutoff

    return keep
