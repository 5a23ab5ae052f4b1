"""The provenance audit: one redacted JSON line per answer, and one per pick of a question asked
back, under BOT_DATA_DIR."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from bot.jsonl import JsonLines, now
from bot.pipeline.answer import Answer, heading_of
from bot.pipeline.chunking import Passage
from bot.pipeline.index import Manifest
from bot.pipeline.privacy import redact

AUDIT_FILE = "audit.jsonl"
PICKS_FILE = "picks.jsonl"


class AuditLog(JsonLines):
    """Appends one line per answer; safe for several processes (each line is written under a lock)."""

    def __init__(self, data_dir: Path) -> None:
        super().__init__(data_dir / AUDIT_FILE)

    def record(self, answer: Answer, *, manifest: Manifest, channel: str) -> None:
        """Write provenance that names no one: redacted question, decision, passages and their stand."""
        self.append({"time": now(), "channel": channel, **answer.provenance(), "build": manifest.build})


class PickLog(JsonLines):
    """One line per pick of a question asked back: the question (redacted), the passage chosen
    (None for "Nichts davon") and what was offered. Staff's own words for a rule, which the
    Referat may accept as example questions; the account is kept only so `forget` can delete it."""

    def __init__(self, data_dir: Path) -> None:
        super().__init__(data_dir / PICKS_FILE)

    def record(
        self,
        question: str,
        picked: Passage | None,
        candidates: Sequence[str],
        *,
        channel: str,
        user: str | None,
        build: str,
    ) -> None:
        """Write one pick; the question redacted, like every stored question."""
        self.append(
            {
                "time": now(),
                "channel": channel,
                "user": user,
                "question": redact(question),
                "picked": picked.id if picked else None,
                "doc_id": picked.doc_id if picked else None,
                "section": heading_of(picked) if picked else None,
                "candidates": list(candidates),
                "build": build,
            }
        )

    def forget(self, user: str) -> int:
        """Delete one account's picks; how many."""
        return self.prune(lambda record: record.get("user") != user)
