"""Extractive answers: verbatim sentences from the retrieved passages, each with its citation."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.chunking import Passage, quote_units
from bot.config import Settings
from bot.german import Analyzer
from bot.lexical import LexicalIndex
from bot.privacy import redact
from bot.retrieve import Hit, Retrieval

LEAD_IN = "In den freigegebenen Texten des ASB NRW steht dazu:"
NO_ANSWER = (
    "Dazu finde ich in den freigegebenen Texten keine passende Stelle – und ich erfinde keine "
    "Antwort. Bitte wenden Sie sich an das Referat Digitalisierung:"
)
NO_CONTACT = (
    "Dazu finde ich in den freigegebenen Texten keine passende Stelle – und ich erfinde keine "
    "Antwort. Bitte wenden Sie sich an das Referat Digitalisierung des ASB NRW."
)
NO_SURE_ANSWER = (
    "Eine Antwort auf Ihre Frage finde ich in den freigegebenen Texten nicht – und ich erfinde keine."
)
HINT_LEAD = (
    "Am nächsten kommt vielleicht diese Stelle; ob sie Ihre Frage beantwortet, prüfen Sie bitte selbst:"
)
HINT_CONTACT = "Eine verbindliche Auskunft gibt Ihnen das Referat Digitalisierung:"
HINT_NO_CONTACT = "Eine verbindliche Auskunft gibt Ihnen das Referat Digitalisierung des ASB NRW."
# How the answer's source lists are headed, by the sources' role.
SOURCES_HEADING = "Quellen"
HINT_HEADING = "Vermutete Stelle (keine Antwort – bitte selbst prüfen)"
# A passage quoted further down must be at least this relevant compared with the first.
SECONDARY_SHARE = 0.5
SENTENCE_SHARE = 0.6


@dataclass(frozen=True)
class Source:
    """A cited passage: the number the answer uses for it and its retrieval score."""

    n: int
    passage: Passage
    score: float
    # What the answer uses it for: "quote" (it answers), "hint" (closest passage of a declined
    # question, to check by hand) or "contact" (whom to ask).
    role: str = "quote"

    @property
    def listed(self) -> str:
        """How a source list names it: document, section and the date of the text."""
        return f"{self.passage.label} (Stand: {self.passage.stand})"

    def to_json(self) -> dict[str, object]:
        """The source as the CLI's JSON shows it."""
        p = self.passage
        return {
            "n": self.n,
            "role": self.role,
            "id": p.id,
            "title": p.title,
            "section": p.section,
            "stand": p.stand,
            "text": p.text,
            "url": p.url,
            "score": self.score,
        }


@dataclass(frozen=True)
class Answer:
    """What the assistant says: text with [n] citations, the disclosure and the sources it used."""

    question: str
    text: str
    abstained: bool
    disclosure: str
    sources: list[Source]
    generator: str = "extractive"
    notes: list[str] = field(default_factory=list)
    error: str | None = None
    privacy_warning: str | None = None
    # The corpus build the answer came from (manifest's corpus_hash), for provenance.
    corpus_hash: str | None = None

    def source_lists(self) -> list[tuple[str, list[Source]]]:
        """The sources under their headings, as chat and terminal list them: a guess apart."""
        groups = [
            (HINT_HEADING, [s for s in self.sources if s.role == "hint"]),
            (SOURCES_HEADING, [s for s in self.sources if s.role != "hint"]),
        ]
        return [(heading, sources) for heading, sources in groups if sources]

    def provenance(self) -> dict[str, object]:
        """What audit, history and feedback keep of an answer; the question redacted."""
        return {
            "question": redact(self.question),
            "abstained": self.abstained,
            "error": self.error is not None,
            "privacy_warning": self.privacy_warning is not None,
            "passages": [
                {"id": s.passage.id, "stand": s.passage.stand, "role": s.role} for s in self.sources
            ],
            "generator": self.generator,
            "corpus_hash": self.corpus_hash,
        }

    def to_json(self, request_id: object = None) -> dict[str, object]:
        """One JSON object, the CLI contract."""
        data: dict[str, object] = {
            "id": request_id,
            "question": self.question,
            "answer": self.text,
            "abstained": self.abstained,
            "disclosure": self.disclosure,
            "sources": [s.to_json() for s in self.sources],
            "generator": self.generator,
            "privacy_warning": self.privacy_warning,
        }
        if self.notes:
            data["notes"] = self.notes
        if self.error:
            data["error"] = self.error
        return data


def _relevance(sentence: str, terms: set[str], analyzer: Analyzer, idf: dict[str, float]) -> float:
    found = set(analyzer.terms(sentence)) & terms
    return sum(idf.get(t, 1.0) for t in found)


def _select(
    hit: Hit, terms: set[str], analyzer: Analyzer, idf: dict[str, float], limit: int
) -> tuple[list[str], float]:
    """The passage's most relevant sentences in their original order, and the best one's relevance."""
    units = quote_units(hit.passage)
    scored = [_relevance(u, terms, analyzer, idf) for u in units]
    best = max(scored, default=0.0)
    if best <= 0:
        return units[:1], 0.0
    keep = sorted(sorted(range(len(units)), key=lambda i: scored[i], reverse=True)[:limit])
    keep = [i for i in keep if scored[i] >= SENTENCE_SHARE * best]
    # A lead-in ending in ':' announces a list: quote the list with it.
    for i in list(keep):
        if units[i].endswith(":"):
            keep = sorted(set(keep) | set(range(i + 1, len(units))))
    return [units[i] for i in keep], best


def compose(
    retrieval: Retrieval, settings: Settings, lexical: LexicalIndex, contact: list[Passage]
) -> Answer:
    """Quote the most relevant sentences of the best passages, or decline and name the Referat."""
    if not retrieval.answerable:
        return decline(retrieval.question, settings, contact, hint_for(retrieval, settings, lexical, contact))
    terms = set(retrieval.terms)
    chosen: list[tuple[Hit, list[str]]] = []
    top_best = 0.0
    for rank, hit in enumerate(retrieval.hits[: settings.answer_max_passages]):
        quotes, best = _select(hit, terms, lexical.analyzer, lexical.idf, settings.answer_max_sentences)
        if rank == 0:
            top_best = best
            chosen.append((hit, quotes))
        elif best > 0 and best >= SECONDARY_SHARE * top_best and hit.coverage > 0:
            chosen.append((hit, quotes[:1] if len(quotes) > 2 else quotes))
    chosen = _with_named_contact(chosen, retrieval.hits, contact)
    sources = [Source(n, hit.passage, hit.score) for n, (hit, _) in enumerate(chosen, 1)]
    lines = [LEAD_IN, ""]
    for n, (_, quotes) in enumerate(chosen, 1):
        lines.extend(f"„{q}“ [{n}]" for q in quotes)
    return Answer(
        question=retrieval.question,
        text="\n".join(lines),
        abstained=False,
        disclosure=settings.disclosure,
        sources=sources,
    )


def hint_for(
    retrieval: Retrieval, settings: Settings, lexical: LexicalIndex, contact: list[Passage]
) -> tuple[Hit, list[str]] | None:
    """What a refusal offers as a guess: the closest passage and its sentences that share words
    with the question. None when the question was not close, when the passage is the contact
    the refusal quotes anyway, or when no sentence shares a word (headings alone are no reason)."""
    hit = retrieval.hint(settings.hint_confidence)
    if hit is None or any(p.id == hit.passage.id for p in contact):
        return None
    terms = set(retrieval.terms)
    quotes, best = _select(hit, terms, lexical.analyzer, lexical.idf, settings.answer_max_sentences)
    return (hit, quotes) if best > 0 else None


def _with_named_contact(
    chosen: list[tuple[Hit, list[str]]], hits: list[Hit], contact: list[Passage]
) -> list[tuple[Hit, list[str]]]:
    """An answer that quotes the Referat's invitation to ask also quotes whom to ask."""
    if len(contact) < 2 or not any(h.passage.id == contact[0].id for h, _ in chosen):
        return chosen
    if any(h.passage.id == contact[1].id for h, _ in chosen):
        return chosen
    hit = next((h for h in hits if h.passage.id == contact[1].id), None)
    hit = hit or Hit(contact[1], score=0.0, lexical=0.0, dense=0.0, coverage=0.0)
    return [*chosen, (hit, quote_units(contact[1]))]


def decline(
    question: str,
    settings: Settings,
    contact: list[Passage],
    hint: tuple[Hit, list[str]] | None = None,
) -> Answer:
    """The refusal: no invented answer, but the Referat Digitalisierung, quoted from the corpus;
    with a hint, first the closest passage, marked as a guess to check."""
    lines: list[str] = []
    sources: list[Source] = []
    if hint is not None:
        hit, hint_quotes = hint
        sources.append(Source(1, hit.passage, hit.score, role="hint"))
        lines += [NO_SURE_ANSWER, HINT_LEAD, "", *(f"„{q}“ [1]" for q in hint_quotes), ""]
        lines.append(HINT_CONTACT if contact else HINT_NO_CONTACT)
    else:
        lines.append(NO_ANSWER if contact else NO_CONTACT)
    if contact:
        contacts = [Source(n, p, 0.0, role="contact") for n, p in enumerate(contact, len(sources) + 1)]
        lines += ["", *(f"„{' '.join(quote_units(s.passage))}“ [{s.n}]" for s in contacts)]
        sources += contacts
    return Answer(question, "\n".join(lines), True, settings.disclosure, sources)
