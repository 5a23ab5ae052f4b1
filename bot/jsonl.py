"""Append-only JSON-lines files under BOT_DATA_DIR, safe for several processes, with retention."""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path


def now() -> str:
    """The time stamp every record carries: UTC, to the second."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


@contextmanager
def _locked(path: Path) -> Iterator[int]:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield fd
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


class JsonLines:
    """One record per line; every write happens under an exclusive lock on the file."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def append(self, record: dict) -> None:
        """Add one record (one write, so a reader never sees half a line)."""
        data = (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8")
        with _locked(self.path) as fd:
            os.write(fd, data)

    def read(self) -> list[dict]:
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

    def prune(self, keep: Callable[[dict], bool]) -> int:
        """Drop the records `keep` rejects; returns how many went. The file is replaced atomically."""
        if not self.path.is_file():
            return 0
        with _locked(self.path):
            records = self.read()
            kept = [r for r in records if keep(r)]
            if len(kept) == len(records):
                return 0
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in kept), "utf-8")
            os.chmod(tmp, 0o600)
            os.replace(tmp, self.path)
        return len(records) - len(kept)


def older_than(days: int, today: dt.datetime | None = None) -> Callable[[dict], bool]:
    """A `keep` test for prune: records whose time lies within the last `days` days."""
    cutoff = (today or dt.datetime.now(dt.UTC)) - dt.timedelta(days=days)

    def keep(record: dict) -> bool:
        try:
            stamp = dt.datetime.fromisoformat(str(record.get("time", "")))
        except ValueError:
            return True  # a record we cannot date is kept, never silently lost
        if stamp.tzinfo is None:
            stamp = stamp.replace(tzinfo=dt.UTC)
        return stamp >= cutoff

    return keep
