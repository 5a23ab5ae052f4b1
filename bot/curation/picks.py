"""Staff's picks as proposed example questions: when the assistant asked back which rule was
meant, the person's pick labels their own words with that rule. `python -m bot fragen --aus-auswahl`
turns the picks into a proposal per document (`DOK.fragen-auswahl.yaml`), checked like drafted
questions (bot/curation/drafting.py) and accepted only after a person's review (`--annehmen`).
Nothing is learned automatically."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

from bot.config import Settings
from bot.curation.drafting import Proposal, check_proposal, usable_questions, write_proposal
from bot.jsonl import Record
from bot.pipeline.audit import PickLog
from bot.pipeline.chunking import INTRO, Passage
from bot.pipeline.corpus import Document, load_corpus
from bot.pipeline.embeddings import Embedder
from bot.pipeline.index import LoadedIndex, open_index

PICKS_SUFFIX = ".fragen-auswahl.yaml"
PICKED_BY = "Auswahl von Mitarbeitenden nach Rückfragen"
ORIGIN = "aus der Auswahl von Mitarbeitenden nach Rückfragen des Assistenten"
KIND = "auswahl"
# A redaction left in a stored question ("[Name]", "[Telefonnummer]"): such a question is no example.
REDACTED = re.compile(r"\[[A-ZÄÖÜ][\w-]+\]")


@dataclass(frozen=True)
class PickedQuestions:
    """Picks of one document, by the key its `fragen` use (the section's last heading)."""

    document: Document
    sections: dict[str, list[str]]


def section_key(passage: Passage) -> str:
    """The `fragen` key of the section a passage stands in."""
    return passage.headings[-1] if passage.headings else INTRO


def picked_questions(
    picks: list[Record], index: LoadedIndex, documents: list[Document]
) -> list[PickedQuestions]:
    """The picked passages' questions per document and section, in the order they came; picks of
    passages the index no longer holds, of overviews, and redacted questions left out."""
    by_id = {d.id: d for d in documents}
    grouped: dict[str, dict[str, list[str]]] = {}
    for pick in picks:
        passage = index.passage(str(pick.get("picked") or ""))
        question = " ".join(str(pick.get("question", "")).split())
        if passage is None or passage.is_outline or not question or REDACTED.search(question):
            continue
        if passage.doc_id in by_id:
            grouped.setdefault(passage.doc_id, {}).setdefault(section_key(passage), []).append(question)
    return [PickedQuestions(by_id[doc_id], sections) for doc_id, sections in grouped.items()]


def propose_from_picks(
    settings: Settings,
    *,
    since: dt.date | None = None,
    embeddings: Embedder | None = None,
    today: dt.date | None = None,
) -> list[Path]:
    """A proposal file beside every document whose passages were picked (since a day): the
    questions checked on a temporary index like drafted ones, flagged where they would not find
    their section. Returns the files written."""
    picks = [p for p in PickLog(settings.data_dir).read() if p.get("picked") and _on_or_after(p, since)]
    if not picks:
        return []
    index = open_index(settings, embeddings)
    documents = load_corpus(settings.corpus_dir).documents
    day = today or dt.date.today()
    written = []
    for found in picked_questions(picks, index, documents):
        proposal = Proposal(found.document.path, PICKED_BY, origin=ORIGIN)
        seen: set[str] = set()
        for key, questions in found.sections.items():
            usable = usable_questions(found.document, [(KIND, q) for q in questions], seen, proposal.rejected)
            if usable:
                proposal.sections[key] = usable
        if proposal.sections:
            check_proposal(settings, found.document, proposal, index.embeddings, day)
            path = found.document.path.with_name(found.document.path.stem + PICKS_SUFFIX)
            written.append(write_proposal(proposal, found.document.id, path))
    return written


def _on_or_after(record: Record, since: dt.date | None) -> bool:
    return since is None or str(record.get("time", ""))[:10] >= since.isoformat()
