"""The Referat's self-check: does each section's own example questions find it, with them left out?

Each section's `fragen` are asked against the index as it would be without them (the other
sections keep theirs), so a question only counts when the section's text and the rest of the
corpus lead to it. Leaving them out is done by masking, not by rebuilding: the section's
question vectors are taken out of a private copy of the collection (filtered Chroma queries are
exact, so the ranking is the one a build without them gives) and the lexical side and its
vocabulary are rebuilt from the passages without those questions, as `index` builds them.
tests/curation/test_selfcheck.py compares the two.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import shutil
import tempfile
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from bot.config import Settings
from bot.pipeline.chunking import INTRO, Passage
from bot.pipeline.corpus import Document, load_corpus, load_synonyms
from bot.pipeline.embeddings import Embedder
from bot.pipeline.german import Analyzer
from bot.pipeline.index import (
    BUILDS,
    MANIFEST,
    LoadedIndex,
    VectorKind,
    build_index,
    open_index,
    question_id,
    read_manifest,
    vocabulary,
)

WHOLE = "(ganzes Dokument)"  # a plain list of fragen applies to the whole document
MIN_QUESTIONS = 10  # fewer are reported; about 25 per section worked on the KI page


@dataclass(frozen=True)
class Section:
    """A unit example questions belong to: a heading of a document (its key in `fragen`)."""

    doc_id: str
    key: str
    passage_ids: frozenset[str]  # the passages (and outlines) a question of it should find
    questions: tuple[str, ...]

    @property
    def label(self) -> str:
        """`document#heading`, as the report and the proposal name it."""
        return f"{self.doc_id}#{self.key}"


def _fragen_of(doc: Document, key: str) -> tuple[str, ...]:
    fragen = doc.meta.fragen
    if isinstance(fragen, list):
        return tuple(fragen) if key == WHOLE else ()
    wanted = {k.casefold(): v for k, v in fragen.items()}
    return tuple(dict.fromkeys(wanted.get(key.casefold(), ())))


def sections_of(doc: Document, passages: list[Passage]) -> list[Section]:
    """The document's sections in order: every heading with text of its own, every heading of
    `fragen` that has only sub-sections (its questions apply to all of them), or the whole
    document for a plain list."""
    own = [p for p in passages if p.doc_id == doc.id]
    texts = [p for p in own if not p.is_outline]
    if isinstance(doc.meta.fragen, list) and doc.meta.fragen:
        return [Section(doc.id, WHOLE, frozenset(p.id for p in own), _fragen_of(doc, WHOLE))]
    keys: dict[str, tuple[str, ...]] = {}
    for p in texts:
        keys.setdefault((p.headings[-1] if p.headings else INTRO).casefold(), p.headings)
    sections: list[Section] = []
    seen: set[str] = set()
    fragen_keys = [k.casefold() for k in doc.meta.fragen] if isinstance(doc.meta.fragen, dict) else []
    paths: list[tuple[str, ...]] = []
    for p in own:
        for depth in range(1, len(p.headings) + 1):
            if p.headings[:depth] not in paths:
                paths.append(p.headings[:depth])
    if any(not p.headings for p in texts):
        paths.insert(0, ())
    for path in paths:
        key = path[-1] if path else INTRO
        if key.casefold() in seen:
            continue
        direct = [p for p in own if p.headings == path]
        has_text = any(not p.is_outline for p in direct)
        if not has_text and key.casefold() not in fragen_keys:
            continue  # a heading with only sub-sections and no questions of its own
        members = direct if has_text else [p for p in own if p.headings[: len(path)] == path]
        seen.add(key.casefold())
        sections.append(Section(doc.id, key, frozenset(p.id for p in members), _fragen_of(doc, key)))
    return sections


def unknown_keys(doc: Document, sections: list[Section]) -> list[str]:
    """Headings named in `fragen` that the document does not have (a typo drops their questions)."""
    if not isinstance(doc.meta.fragen, dict):
        return []
    known = {s.key.casefold() for s in sections}
    return [k for k in doc.meta.fragen if k.casefold() not in known]


class Masking:
    """Views of an index without some example questions, as a build without them would be."""

    def __init__(self, index: LoadedIndex, synonyms: list[list[str]]) -> None:
        self.index = index
        self.synonyms = synonyms

    @contextmanager
    def without(self, removed: dict[str, set[str]]) -> Iterator[LoadedIndex]:
        """The index without the given questions (passage id -> question texts). The index's
        collection must be a private copy: the vectors are out of it until the block ends."""
        from bot.pipeline.lexical import LexicalIndex

        base = self.index
        passages = [
            dataclasses.replace(p, questions=tuple(q for q in p.questions if q not in removed[p.id]))
            if p.id in removed
            else p
            for p in base.passages
        ]
        ids = [
            question_id(p.id, n)
            for p in base.passages
            if p.id in removed
            for n, q in enumerate(p.questions, 1)
            if q in removed[p.id]
        ]
        questions = base.vectors[VectorKind.QUESTION]
        stored = questions.get(ids=ids, include=["embeddings", "metadatas"]) if ids else None
        if stored and stored["ids"]:
            questions.delete(ids=stored["ids"])
        try:
            analyzer = Analyzer(vocabulary(passages, self.synonyms), self.synonyms)
            lexical = LexicalIndex.build(passages, analyzer)
            yield dataclasses.replace(base, passages=passages, lexical=lexical)
        finally:
            if stored and stored["ids"]:
                questions.add(
                    ids=stored["ids"], embeddings=stored["embeddings"], metadatas=stored["metadatas"]
                )


@contextmanager
def private_index(
    settings: Settings, embeddings: Embedder | None = None, today: dt.date | None = None
) -> Iterator[LoadedIndex]:
    """An index of settings.corpus_dir in a temporary folder, up to date, that may be changed:
    the current build of settings.index_dir is copied when there is one (only new or changed
    documents are embedded), the real index is never written."""
    with tempfile.TemporaryDirectory(prefix="bot-selbsttest-") as workdir:
        # Always a local store: masking takes vectors out, which must never touch a shared server.
        private = settings.model_copy(
            update={"index_dir": Path(workdir) / "index", "audit": False, "chroma_url": None}
        )
        manifest = read_manifest(settings.index_dir)
        if manifest is not None:
            source = settings.index_dir / BUILDS / manifest.build
            if source.is_dir():
                shutil.copytree(source, private.index_dir / BUILDS / manifest.build)
                shutil.copy(settings.index_dir / MANIFEST, private.index_dir / MANIFEST)
        build_index(private, embeddings=embeddings, today=today)
        yield open_index(private, embeddings)


@dataclass(frozen=True)
class Asked:
    """One example question asked with its section's questions left out."""

    question: str
    rank: int | None  # where its section's first passage came, within the hits shown
    answered: bool  # the assistant would answer (not decline)
    top: str | None  # the section (`document#heading`) of the first hit


@dataclass
class SectionResult:
    """How a section's own example questions did."""

    section: Section
    asked: list[Asked] = field(default_factory=list)

    @property
    def first(self) -> int:
        """How many found their section first."""
        return sum(a.rank == 1 for a in self.asked)

    @property
    def answered(self) -> int:
        """How many the assistant would answer."""
        return sum(a.answered for a in self.asked)

    @property
    def confused_with(self) -> Counter[str]:
        """The sections that came first instead, with how often."""
        return Counter(a.top for a in self.asked if a.rank != 1 and a.top)


def questions_of(index: LoadedIndex, passage_id: str) -> tuple[str, ...]:
    """The example questions of a passage of the index (none if the index does not hold it)."""
    passage = index.passage(passage_id)
    return passage.questions if passage is not None else ()


def section_of_passage(sections: list[Section]) -> dict[str, str]:
    """Passage id -> the label of the finest section holding it."""
    out: dict[str, str] = {}
    for s in sorted(sections, key=lambda s: len(s.passage_ids), reverse=True):
        for pid in s.passage_ids:
            out[pid] = s.label  # smaller sections (direct text) overwrite their parents
    return out


def ask_masked(
    index: LoadedIndex,
    settings: Settings,
    question: str,
    targets: frozenset[str],
    section_of: dict[str, str],
) -> Asked:
    """Ask one question on an index as staff would (the assistant's one path, without a language
    model and without audit) and say where the target passages came."""
    from bot.pipeline.assistant import Assistant
    from bot.pipeline.decide import AnswerKind

    quiet = settings.model_copy(update={"llm": None, "audit": False})
    turn = Assistant(quiet, index).ask(question, channel="selbsttest")
    hits = turn.retrieval.hits if turn.retrieval is not None else []
    rank = next((n for n, h in enumerate(hits, 1) if h.passage.id in targets), None)
    top = hits[0].passage if hits else None
    label = None if top is None else section_of.get(top.id) or f"{top.doc_id}#{top.section}"
    return Asked(question, rank, turn.answer.kind is AnswerKind.ANSWER, label)


@dataclass(frozen=True)
class SelfCheck:
    """The self-check of a corpus: per section, and the pairs of sections that confuse each other."""

    results: list[SectionResult]
    unknown: dict[str, list[str]]  # document -> fragen headings it does not have
    min_questions: int = MIN_QUESTIONS

    def documents(self) -> dict[str, list[SectionResult]]:
        """Results grouped by document, in corpus order."""
        grouped: dict[str, list[SectionResult]] = {}
        for r in self.results:
            grouped.setdefault(r.section.doc_id, []).append(r)
        return grouped

    def confusions(self) -> list[tuple[str, str, int]]:
        """Pairs of sections whose questions land on each other, most often first."""
        pairs: Counter[tuple[str, str]] = Counter()
        for r in self.results:
            for other, n in r.confused_with.items():
                first, second = sorted((r.section.label, other))
                pairs[first, second] += n
        return [(a, b, n) for (a, b), n in pairs.most_common()]

    def too_few(self) -> list[SectionResult]:
        """Sections with fewer example questions than min_questions."""
        return [r for r in self.results if len(r.section.questions) < self.min_questions]

    def to_json(self) -> dict[str, object]:
        """The check as one JSON object."""

        def figures(rs: list[SectionResult]) -> dict[str, object]:
            n = sum(len(r.asked) for r in rs)
            return {
                "questions": n,
                "first": sum(r.first for r in rs),
                "answered": sum(r.answered for r in rs),
                "hit@1": round(sum(r.first for r in rs) / n, 3) if n else None,
            }

        return {
            "min_questions": self.min_questions,
            "total": figures(self.results),
            "documents": [
                {
                    "document": doc,
                    **figures(rs),
                    "sections": [
                        {
                            "section": r.section.key,
                            **figures([r]),
                            "confused_with": dict(r.confused_with.most_common()),
                            "too_few": len(r.section.questions) < self.min_questions,
                        }
                        for r in rs
                    ],
                    "unknown_headings": self.unknown.get(doc, []),
                }
                for doc, rs in self.documents().items()
            ],
            "confusions": [{"a": a, "b": b, "count": n} for a, b, n in self.confusions()],
            "too_few": [r.section.label for r in self.too_few()],
        }


def run_selfcheck(
    settings: Settings,
    *,
    embeddings: Embedder | None = None,
    documents: list[str] | None = None,
    min_questions: int = MIN_QUESTIONS,
    today: dt.date | None = None,
) -> SelfCheck:
    """Ask every section's example questions with that section's questions left out."""
    loaded = load_corpus(settings.corpus_dir)
    today = today or dt.date.today()
    active = [d for d in loaded.documents if d.is_active(today)]
    if documents:
        active = [d for d in active if d.id in documents]
    with private_index(settings, embeddings, today) as index:
        masking = Masking(index, load_synonyms(settings.corpus_dir))
        every = [s for d in loaded.documents if d.is_active(today) for s in sections_of(d, index.passages)]
        section_of = section_of_passage(every)
        results, unknown = [], {}
        for doc in active:
            sections = sections_of(doc, index.passages)
            if keys := unknown_keys(doc, sections):
                unknown[doc.id] = keys
            for section in sections:
                result = SectionResult(section)
                removed = {
                    pid: set(section.questions) & set(questions_of(index, pid)) for pid in section.passage_ids
                }
                with masking.without({k: v for k, v in removed.items() if v}) as masked:
                    for q in section.questions:
                        result.asked.append(ask_masked(masked, settings, q, section.passage_ids, section_of))
                results.append(result)
    return SelfCheck(results, unknown, min_questions)
