"""The provenance audit: one redacted JSON line per answer under BOT_DATA_DIR."""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
from pathlib import Path

from bot.answer import Answer
from bot.privacy import redact

AUDIT_FILE = "audit.jsonl"


class AuditLog:
    """Appends one line per answer; safe for several processes (each line is written under a lock)."""

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / AUDIT_FILE

    def record(self, answer: Answer, *, manifest: dict, channel: str) -> None:
        """Write who-knows-nothing provenance: redacted question, decision, passages and their stand."""
        line = {
            "time": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "channel": channel,
            "question": redact(answer.question),
            "abstained": answer.abstained,
            "error": answer.error is not None,
            "privacy_warning": answer.privacy_warning is not None,
            "passages": [{"id": s.passage.id, "stand": s.passage.stand} for s in answer.sources],
            "generator": answer.generator,
            "corpus_hash": manifest.get("corpus_hash"),
            "build": manifest.get("build"),
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        data = (json.dumps(line, ensure_ascii=False) + "\n").encode("utf-8")
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            os.write(fd, data)
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def read(self) -> list[dict]:
        """All recorded lines (for reports and tests)."""
        if not self.path.is_file():
            return []
        return [json.loads(ln) for ln in self.path.read_text(encoding="utf-8").splitlines() if ln.strip()]
