"""Thumbs up/down on answers, with a reason, recorded with the answer's provenance (redacted)."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

from bot.jsonl import JsonLines, Record, now
from bot.pipeline.privacy import redact

FEEDBACK_FILE = "feedback.jsonl"
# The reasons the Referat sorts by, and the words staff use for them in the comment field
# (its placeholder names the four reasons). Umlauts are folded before matching.
REASONS: dict[str, re.Pattern[str]] = {
    "falsche Quelle": re.compile(
        r"quelle|zitat|beleg|passt nicht|falsche[sn]? (stelle|text|dokument)|thema verfehlt"
    ),
    "veraltet": re.compile(r"veraltet|\balt\b|nicht (mehr )?aktuell|ueberholt|neue(re)? (version|fassung)"),
    "unvollständig": re.compile(r"unvollstaendig|fehlt|nicht vollstaendig|zu kurz|mehr info|nur teil"),
    "unverständlich": re.compile(r"unverstaendlich|verstehe? (ich )?nicht|kompliziert|unklar|verwirrend"),
}


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFC", text).lower()
    return text.replace("ä", "ae").replace("ö", "oe").replace("ü", "ue").replace("ß", "ss")


def reasons_in(comment: str | None) -> list[str]:
    """The reasons a comment names, in the fixed order; none when it names none."""
    folded = _fold(comment or "")
    return [reason for reason, pattern in REASONS.items() if pattern.search(folded)]


class FeedbackLog(JsonLines):
    """data_dir/feedback.jsonl: what `python -m bot report` reads."""

    def __init__(self, data_dir: Path) -> None:
        super().__init__(data_dir / FEEDBACK_FILE)

    def record(self, *, value: int, comment: str | None, message_id: str, provenance: Record) -> Record:
        """One line: the rating, its reasons, the redacted comment and the answer's provenance."""
        line = {
            "time": now(),
            "value": 1 if value > 0 else 0,
            "reason": ", ".join(reasons_in(comment)) or None,
            "comment": redact(comment) if comment else None,
            "message_id": message_id,
            "question": redact(str(provenance.get("question", ""))),
            "abstained": provenance.get("abstained"),
            "passages": provenance.get("passages", []),
            "generator": provenance.get("generator"),
            "corpus_hash": provenance.get("corpus_hash"),
        }
        self.append(line)
        return line
