"""Extractive answers: verbatim sentences from the retrieved passages, each with its citation."""

from __future__ import annotations

import dataclasses
import itertools
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal

from bot.config import Settings
from bot.pipeline.chunking import Passage, quote_units
from bot.pipeline.decide import AnswerKind, Decision
from bot.pipeline.german import Analyzer
from bot.pipeline.index import LoadedIndex
from bot.pipeline.privacy import redact
from bot.pipeline.retrieve import Hit, Retrieval

LEAD_IN = "In den freigegebenen Texten des ASB NRW steht dazu:"
NO_ANSWER = (
    "Dazu finde ich in den freigegebenen Texten keine passende Stelle – und ich erfinde keine "
    "Antwort. Bitte wenden Sie sich an das Referat Digitalisierung:"
)
NO_CONTACT = (
    "Dazu finde ich in den freigegebenen Texten keine passende Stelle – und ich erfinde keine "
    "Antwort. Bitte wenden Sie sich an das Referat Digitalisierung des ASB NRW."
)
# Asking back: which of these rules is meant? (the candidates follow, numbered, then NONE_OF_THEM)
ASK_BACK = "Ihre Frage passt zu mehreren Stellen der freigegebenen Texte. Welche meinen Sie?"
NONE_OF_THEM = "Nichts davon – Referat fragen"
ASK_BACK_CLOSE = (
    f"Passt keine, wählen Sie „{NONE_OF_THEM}“: Dann nenne ich Ihnen das Referat Digitalisierung."
)
# The first words of a candidate's rule, as the question back shows them.
PREVIEW_WORDS = 14
# How the answer's source lists are headed, by the sources' role.
SOURCES_HEADING = "Quellen"
CHOICES_HEADING = "Zur Auswahl"
# Quotes by meaning and words: a sentence scores its similarity to the question plus
# LEXICAL_SHARE times its shared German terms relative to the best sentence's. Sentences within
# SENTENCE_GAP of the top passage's best are quoted; another passage only if its fused score is
# within SECONDARY_GAP of the top's. Chosen on the tuning sets by quote precision and recall
# (page 0.797 / 0.864, synthetic-tune 0.792 / 0.879; quoting only by words: 0.73 / 0.78; a gap
# of 0.1 quotes nearly every sentence of the top passage for +0.005 precision).
LEXICAL_SHARE = 0.02
SENTENCE_GAP = 0.06
SECONDARY_GAP = 0.15


class SourceRole(StrEnum):
    """What an answer uses a cited passage for."""

    QUOTE = "quote"  # it answers: the answer quotes it
    CHOICE = "choice"  # a candidate of a question asked back: the person picks the rule meant
    CONTACT = "contact"  # whom to ask (the Referat Digitalisierung)


# Which generator wrote the reply: the quotes, a language model (verified), or a fixed text.
Generator = Literal["extractive", "llm", "fixed"]


@dataclass(frozen=True)
class Source:
    """A cited passage: the number the answer uses for it and its retrieval score."""

    n: int
    passage: Passage
    score: float
    role: SourceRole = SourceRole.QUOTE

    @property
    def listed(self) -> str:
        """How a source list names it: document, section and the date of the text."""
        return f"{self.passage.label} (Stand: {self.passage.stand})"

    def to_json(self) -> dict[str, object]:
        """The source as the CLI's JSON shows it."""
        p = self.passage
        return {
            "n": self.n,
            "role": self.role.value,
            "id": p.id,
            "title": p.title,
            "section": p.section,
            "stand": p.stand,
            "text": p.text,
            "url": p.url,
            "score": self.score,
        }


@dataclass(frozen=True)
class Quote:
    """One verbatim sentence of the answer, the source it cites and the heading it stands under."""

    n: int
    heading: str
    text: str


@dataclass(frozen=True)
class Question:
    """The question as it was answered, and what every reply to it carries besides its text: notes
    on how it was read, the privacy warning, and the corpus build it was answered from."""

    text: str
    notes: tuple[str, ...] = ()
    privacy_warning: str | None = None
    corpus_hash: str | None = None  # the manifest's corpus_hash, for provenance


@dataclass(frozen=True)
class Answer:
    """What the assistant says: text with [n] citations, the disclosure and the sources it used."""

    asked: Question
    kind: AnswerKind
    text: str
    disclosure: str
    sources: list[Source]
    generator: Generator = "extractive"
    quotes: list[Quote] = field(default_factory=list)  # the sentences quoted, in answer order
    outline: str | None = None  # the outline passage whose items the answer lists

    @property
    def question(self) -> str:
        """The question as answered (cleaned, perhaps cut)."""
        return self.asked.text

    @property
    def notes(self) -> tuple[str, ...]:
        """Notes on how the question was read (e.g. cut because it was too long)."""
        return self.asked.notes

    @property
    def privacy_warning(self) -> str | None:
        """The warning shown when the question carries personal data."""
        return self.asked.privacy_warning

    @property
    def abstained(self) -> bool:
        """Whether the reply leaves the question unanswered from the texts."""
        return self.kind in (AnswerKind.CHOICE, AnswerKind.REFUSAL, AnswerKind.ERROR)

    @property
    def error(self) -> str | None:
        """The error message, for an error."""
        return self.text if self.kind is AnswerKind.ERROR else None

    @property
    def choices(self) -> list[Source]:
        """The candidates of a question asked back, in the order offered."""
        return [s for s in self.sources if s.role is SourceRole.CHOICE]

    def source_lists(self) -> list[tuple[str, list[Source]]]:
        """The sources under their headings, as chat and terminal list them: candidates apart."""
        groups = [
            (CHOICES_HEADING, self.choices),
            (SOURCES_HEADING, [s for s in self.sources if s.role is not SourceRole.CHOICE]),
        ]
        return [(heading, sources) for heading, sources in groups if sources]

    def provenance(self) -> dict[str, object]:
        """What audit, history and feedback keep of an answer; the question redacted."""
        return {
            "question": redact(self.question),
            "kind": self.kind.value,
            "abstained": self.abstained,
            "error": self.error is not None,
            "privacy_warning": self.privacy_warning is not None,
            "passages": [
                {"id": s.passage.id, "stand": s.passage.stand, "role": s.role.value} for s in self.sources
            ],
            "generator": self.generator,
            "corpus_hash": self.asked.corpus_hash,
        }

    def to_json(self, request_id: object = None) -> dict[str, object]:
        """One JSON object, the CLI contract."""
        data: dict[str, object] = {
            "id": request_id,
            "kind": self.kind.value,
            "question": self.question,
            "answer": self.text,
            "abstained": self.abstained,
            "disclosure": self.disclosure,
            "sources": [s.to_json() for s in self.sources],
            "generator": self.generator,
            "privacy_warning": self.privacy_warning,
        }
        if self.notes:
            data["notes"] = list(self.notes)
        if self.error:
            data["error"] = self.error
        return data


def _relevance(sentence: str, terms: set[str], analyzer: Analyzer, idf: dict[str, float]) -> float:
    found = set(analyzer.terms(sentence)) & terms
    return sum(idf.get(t, 1.0) for t in found)


def heading_of(passage: Passage) -> str:
    """Where a quote stands, as its heading says: the section, or the document's title."""
    return passage.headings[-1] if passage.headings else passage.title


@dataclass(frozen=True)
class _Scored:
    """One quotable sentence of a candidate passage and how well it answers."""

    hit: Hit
    unit: int
    text: str
    score: float


def _scored_units(retrieval: Retrieval, hits: list[Hit], index: LoadedIndex) -> list[_Scored]:
    """Every sentence of the candidate passages, scored by the model's similarity to the question
    and by the German terms they share with it (idf-weighted, relative to the best sentence)."""
    lexical = index.lexical
    terms = set(retrieval.terms)
    units = [(hit, n, text) for hit in hits for n, text in enumerate(quote_units(hit.passage))]
    relevance = [_relevance(text, terms, lexical.analyzer, lexical.idf) for _, _, text in units]
    top_relevance = max(relevance, default=0.0) or 1.0
    meaning = index.sentence_similarities(retrieval.vector, [(h.passage.id, n) for h, n, _ in units])
    return [
        _Scored(hit, n, text, float(m) + LEXICAL_SHARE * r / top_relevance)
        for (hit, n, text), r, m in zip(units, relevance, meaning, strict=True)
    ]


def _with_list(units: list[_Scored], chosen: _Scored) -> list[_Scored]:
    """A lead-in ending in ':' announces a list: the list comes with it, in order."""
    if not chosen.text.endswith(":"):
        return [chosen]
    return [chosen, *(u for u in units if u.hit is chosen.hit and u.unit > chosen.unit)]


def _choose(retrieval: Retrieval, settings: Settings, index: LoadedIndex) -> list[tuple[Hit, list[str]]]:
    """The quotes that answer: the best sentences of the top passage (the answering one first);
    another passage only if it ranks close and has a sentence that answers nearly as well."""
    top = retrieval.hits[0]
    candidates = [top] + [
        h
        for h in retrieval.hits[1 : settings.answer_max_passages]
        if not h.passage.is_outline and top.score - h.score <= SECONDARY_GAP
    ]
    units = _scored_units(retrieval, candidates, index)
    ranked = sorted(units, key=lambda u: u.score, reverse=True)
    best = next(u.score for u in ranked if u.hit is top)
    chosen: dict[str, list[_Scored]] = {}
    count = 0
    for unit in ranked:
        if count >= settings.answer_max_sentences or unit.score < best - SENTENCE_GAP:
            break
        taken = chosen.setdefault(unit.hit.passage.id, [])
        if unit in taken or (unit.hit is not top and taken):
            continue  # a second passage gives its one answering sentence
        block = [u for u in _with_list(units, unit) if u not in taken]
        taken.extend(block)
        count += 1
    by_id = {h.passage.id: h for h in candidates}
    if top.passage.id not in chosen:  # the top passage always speaks first
        chosen = {top.passage.id: [next(u for u in ranked if u.hit is top)], **chosen}
    order = [top.passage.id] + [pid for pid in chosen if pid != top.passage.id]
    return [(by_id[pid], [u.text for u in chosen[pid]]) for pid in order]


def _outline(retrieval: Retrieval, index: LoadedIndex) -> list[tuple[Hit, list[str]]]:
    """An outline answers with its items, each citing the passage it names."""
    top = retrieval.hits[0]
    items = quote_units(top.passage)
    found = {h.passage.id: h for h in retrieval.hits}
    chosen = []
    for item, pid in zip(items, top.passage.parts, strict=True):
        passage = index.passage(pid)
        if passage is not None:
            hit = found.get(pid) or Hit(passage, score=0.0, lexical=0.0, dense=0.0, coverage=0.0)
            # An address block says more than its heading (the person's name): it is quoted whole.
            units = quote_units(passage)
            chosen.append((hit, units[:1] if len(units) == 1 and units[0].startswith(item) else [item]))
    return chosen


def compose(
    retrieval: Retrieval,
    decision: Decision,
    asked: Question,
    *,
    settings: Settings,
    index: LoadedIndex,
    contact: list[Passage],
) -> Answer:
    """What the decision says to do: quote the sentences that answer, each under its heading; or
    ask back with the candidates; or decline and name the Referat."""
    if decision.kind is AnswerKind.CHOICE:
        return ask_back(asked, decision.candidates, settings)
    if decision.kind is not AnswerKind.ANSWER:
        return decline(asked, settings, contact)
    if decision.candidates:  # picked by the person: that passage answers, and only it
        retrieval = dataclasses.replace(retrieval, hits=list(decision.candidates[:1]))
    top = retrieval.hits[0].passage
    chosen = _outline(retrieval, index) if top.is_outline else _choose(retrieval, settings, index)
    chosen = _with_named_contact(chosen, retrieval.hits, contact)
    sources = [Source(n, hit.passage, hit.score) for n, (hit, _) in enumerate(chosen, 1)]
    quotes = [Quote(n, heading_of(hit.passage), q) for n, (hit, texts) in enumerate(chosen, 1) for q in texts]
    lines = [LEAD_IN]
    if top.is_outline:
        lines += ["", f"{heading_of(top)}:", *(f"„{q.text}“ [{q.n}]" for q in quotes)]
    else:
        for heading, group in itertools.groupby(quotes, key=lambda q: q.heading):
            lines += ["", f"{heading}:", *(f"„{q.text}“ [{q.n}]" for q in group)]
    return Answer(
        asked=asked,
        kind=AnswerKind.ANSWER,
        text="\n".join(lines),
        disclosure=settings.disclosure,
        sources=sources,
        quotes=quotes,
        outline=top.id if top.is_outline else None,
    )


def preview(passage: Passage) -> str:
    """The first words of a passage's rule, as a candidate shows them."""
    words = " ".join(quote_units(passage) or [passage.text]).split()
    return " ".join(words[:PREVIEW_WORDS]) + (" …" if len(words) > PREVIEW_WORDS else "")


def ask_back(asked: Question, candidates: tuple[Hit, ...], settings: Settings) -> Answer:
    """The question back: which of these rules is meant? Each candidate by its heading and the
    first words of its rule; they are the message's sources (role choice)."""
    sources = [
        Source(n, hit.passage, hit.score, role=SourceRole.CHOICE) for n, hit in enumerate(candidates, 1)
    ]
    lines = [ASK_BACK, ""]
    lines += [f"[{s.n}] {heading_of(s.passage)}: „{preview(s.passage)}“" for s in sources]
    lines += ["", ASK_BACK_CLOSE]
    return Answer(
        asked=asked,
        kind=AnswerKind.CHOICE,
        text="\n".join(lines),
        disclosure=settings.disclosure,
        sources=sources,
    )


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


def decline(asked: Question, settings: Settings, contact: list[Passage]) -> Answer:
    """The refusal: no invented answer, but the Referat Digitalisierung, quoted from the corpus."""
    lines = [NO_ANSWER if contact else NO_CONTACT]
    sources = [Source(n, p, 0.0, role=SourceRole.CONTACT) for n, p in enumerate(contact, 1)]
    quotes = [Quote(s.n, heading_of(s.passage), " ".join(quote_units(s.passage))) for s in sources]
    lines += ["", *(f"„{q.text}“ [{q.n}]" for q in quotes)] if quotes else []
    return Answer(
        asked=asked,
        kind=AnswerKind.REFUSAL,
        text="\n".join(lines),
        disclosure=settings.disclosure,
        sources=sources,
        quotes=quotes,
    )
