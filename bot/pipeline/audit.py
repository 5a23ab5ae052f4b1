"""The provenance audit: one redacted JSON line per answer under BOT_DATA_DIR."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from bot.jsonl import JsonLines, now
from bot.pipeline.answer import Answer

AUDIT_FILE = "audit.jsonl"


class AuditLog(JsonLines):
    """Appends one line per answer; safe for several processes (each line is written under a lock)."""

    def __init__(self, data_dir: Path) -> None:
        super().__init__(data_dir / AUDIT_FILE)

    def record(self, answer: Answer, *, manifest: Mapping[str, Any], channel: str) -> None:
        """Write provenance that names no one: redacted question, decision, passages and their stand."""
        self.append(
            {"time": now(), "channel": channel, **answer.provenance(), "build": manifest.get("build")}
        )
