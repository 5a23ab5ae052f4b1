"""Use at a glance for the Referat: per week, how many questions came and the share answered at
once, asked back and refused; the sections asked about most; the gaps still open.

Read from the audit (BOT_DATA_DIR/audit.jsonl, questions already redacted) and staff's picks
among offered passages (picks.jsonl); a missing file means no data. Lines written before the
audit named their kind are read by their `abstained` flag. Questions are redacted once more
before they leave, whatever the file holds.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from bot.chat.report import group_questions
from bot.config import Settings
from bot.pipeline.audit import AuditLog, PickLog
from bot.pipeline.chunking import cut_passages
from bot.pipeline.corpus import load_corpus
from bot.pipeline.privacy import redact

WEEKS = 8
TOP_SECTIONS = 8
TOP_GAPS = 6
QUESTION_KINDS = ("answer", "choice", "refusal")
NUMBERED = re.compile(r"-\d+$")  # a passage key ends in its number within the section


def kind_of(line: dict[str, Any]) -> str:
    """What an audit line records: its `kind`, or for older lines, derived from `abstained`."""
    kind = line.get("kind")
    if isinstance(kind, str) and kind:
        return kind
    if line.get("error"):
        return "error"
    if line.get("generator") == "fixed":
        return "smalltalk"
    return "refusal" if line.get("abstained") else "answer"


def _day(line: dict[str, Any]) -> dt.date | None:
    try:
        return dt.date.fromisoformat(str(line.get("time", ""))[:10])
    except ValueError:
        return None


def section_of(passage_id: str) -> str:
    """`document#section` of a passage id (`document#section-key-3`)."""
    doc, _, key = passage_id.partition("#")
    return f"{doc}#{NUMBERED.sub('', key)}" if key else doc


@dataclass
class Week:
    """One week's questions by kind."""

    start: dt.date
    counts: Counter[str] = field(default_factory=Counter)

    def to_json(self) -> dict[str, Any]:
        """The week as the chart reads it: counts and shares of the questions."""
        total = sum(self.counts[k] for k in QUESTION_KINDS)
        share = {k: round(self.counts[k] / total, 3) if total else None for k in QUESTION_KINDS}
        return {
            "woche": f"{self.start.isocalendar().year}-W{self.start.isocalendar().week:02d}",
            "ab": self.start.isoformat(),
            "fragen": total,
            "beantwortet": self.counts["answer"],
            "nachgefragt": self.counts["choice"],
            "abgelehnt": self.counts["refusal"],
            "anteile": {
                "beantwortet": share["answer"],
                "nachgefragt": share["choice"],
                "abgelehnt": share["refusal"],
            },
        }


def _quoted_sections(line: dict[str, Any]) -> set[str]:
    passages = line.get("passages") or []
    return {
        section_of(str(p.get("id", "")))
        for p in passages
        if isinstance(p, dict) and p.get("id") and p.get("role", "quote") == "quote"
    }


def build_usage(
    audit: Iterable[dict[str, Any]],
    picks: Iterable[dict[str, Any]],
    example_questions: set[str],
    today: dt.date,
    weeks: int = WEEKS,
) -> dict[str, Any]:
    """The figures of the last `weeks` weeks (this one included), from audit and picks lines."""
    first = today - dt.timedelta(days=today.weekday()) - dt.timedelta(weeks=weeks - 1)
    table = [Week(first + dt.timedelta(weeks=i)) for i in range(weeks)]
    sections: Counter[str] = Counter()
    gaps: list[str] = []
    for line in audit:
        day = _day(line)
        if day is None or day < first or day > today:
            continue
        kind = kind_of(line)
        table[(day - first).days // 7].counts[kind] += 1
        if kind == "answer":
            sections.update(_quoted_sections(line))
        elif kind == "refusal" and line.get("question"):
            gaps.append(redact(str(line["question"])))
    for pick in picks:
        day = _day(pick)
        if day is None or day < first or day > today:
            continue
        if pick.get("picked"):
            sections[section_of(str(pick["picked"]))] += 1
        elif pick.get("question"):
            gaps.append(redact(str(pick["question"])))  # "Nichts davon": none of the offers fitted
    known = {" ".join(q.split()).casefold() for q in example_questions}
    open_groups = [
        g
        for g in group_questions(gaps)
        if not any(" ".join(q.split()).casefold() in known for q in g.questions)
    ]
    return {
        "wochen": [w.to_json() for w in table],
        "abschnitte": [{"abschnitt": s, "anzahl": n} for s, n in sections.most_common(TOP_SECTIONS)],
        "offene_luecken": len(open_groups),
        "luecken": [{"frage": g.example, "anzahl": g.count} for g in open_groups[:TOP_GAPS]],
    }


def usage(settings: Settings, today: dt.date | None = None) -> dict[str, Any]:
    """The figures from the files under settings.data_dir, sections named as readers see them."""
    documents = load_corpus(settings.corpus_dir).documents
    questions: set[str] = set()
    labels: dict[str, str] = {}
    for doc in documents:
        fragen = doc.meta.fragen
        questions.update(fragen if isinstance(fragen, list) else (q for qs in fragen.values() for q in qs))
        for passage in cut_passages(doc, settings.max_passage_chars):
            labels.setdefault(section_of(passage.id), passage.label)
    shown = build_usage(
        AuditLog(settings.data_dir).read(),
        PickLog(settings.data_dir).read(),
        questions,
        today or dt.date.today(),
    )
    for row in shown["abschnitte"]:
        row["titel"] = labels.get(row["abschnitt"], row["abschnitt"])
    return shown
