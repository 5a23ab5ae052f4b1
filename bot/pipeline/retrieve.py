"""Hybrid retrieval: German BM25 fused with dense vectors, and the decision to abstain."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from bot.config import Settings
from bot.pipeline.calibration import Calibration
from bot.pipeline.chunking import Passage
from bot.pipeline.german import POLICY_MODAL, WordTerms, asks_for_fact, asks_for_list, english_share
from bot.pipeline.index import LoadedIndex, VectorKind

# A follow-up leans on the previous turn: short, or opening with a referring word.
FOLLOW_UP_START = re.compile(
    r"^\s*(und|aber|auch|oder|also|was heißt das|was bedeutet das|wie ist das|gilt das|"
    r"and|what about|how about|also|und wie|und was|und wer|und wo|und bei|dazu|darf ich das)\b",
    re.IGNORECASE,
)
FOLLOW_UP_MAX_TERMS = 2
# A message of at least this many words and two sentences is also read sentence by sentence.
LONG_MESSAGE_WORDS = 12
# An outline goes first when this many of its items rank within OUTLINE_GAP of the best hit.
OUTLINE_ITEMS = 3
OUTLINE_GAP = 1.0
MESSAGE_SENTENCE = re.compile(r"(?<=[.!?…])\s+|\n+")
# A question may be asked back with the best passages of up to this many different sections.
CHOICES = 3


@dataclass(frozen=True)
class Hit:
    """One retrieved passage with the scores that ranked it."""

    passage: Passage
    score: float
    lexical: float
    dense: float
    coverage: float


def top_positions(scores: np.ndarray, k: int) -> list[int]:
    """Positions of the k highest scores, ties in passage order, without sorting them all."""
    if k <= 0:
        return []
    scores = np.nan_to_num(scores, nan=-np.inf)  # a NaN must not push real hits out
    if len(scores) <= k:
        return [int(i) for i in np.argsort(-scores, kind="stable")]
    # The k-th best, selected from the front: selecting it from the back costs 5 ms instead of
    # 0.4 ms on 40,000 scores when most of them tie (all passages no search reached score alike).
    threshold = -np.partition(-scores, k - 1)[k - 1]
    candidates = np.flatnonzero(scores >= threshold)  # every tie at the boundary, in order
    return [int(i) for i in candidates[np.argsort(-scores[candidates], kind="stable")][:k]]


@dataclass(frozen=True)
class Signals:
    """What the abstention model weighs. Each means the same on any document: similarities are
    the model's to text and sentences (which every passage has); example questions count only
    by how much they add over those."""

    text: float  # the top passage's similarity to the question
    sentence: float  # ... its best sentence's
    questions: float  # how much its best example question exceeds both (0 without any)
    lift: float  # the top passage's best similarity above the mean of the candidates'
    top: float  # the top passage's fused score
    margin: float  # ... above the second's
    coverage: float  # rarity-weighted share of question words the top passage contains
    best_coverage: float  # the highest coverage among the hits
    unknown: float  # rarity-weighted share of question words no passage knows
    english: float  # share of English function words (an English question meets German texts)
    fact: bool  # asks for a date, a duration or an amount
    policy: bool  # asks what is allowed with AI
    section_margin: float = 0.0  # the top passage's fused score above the best of another section
    outline: bool = False  # an overview of a section's parts goes first (a question about the whole)

    def values(self) -> dict[str, float]:
        """The signals by name, as the fitted models weigh them."""
        return {name: float(value) for name, value in vars(self).items()}


def normalised(scores: np.ndarray, present: np.ndarray, k: int) -> np.ndarray:
    """Scores as z-values against the question's own k best: the same scale for any corpus size
    and any model. Passages without a score (not among the dense candidates) get the k-th best."""
    values = np.sort(scores[present])[::-1][:k]
    if len(values) < 2:
        return np.zeros(len(scores))
    floor = float(values[-1])
    spread = float(values.std()) or 1.0
    return (np.where(present, np.maximum(scores, floor), floor) - float(values.mean())) / spread


def message_sentences(text: str) -> list[str]:
    """The sentences of a chat message, whatever their capitalisation."""
    return [s.strip() for s in MESSAGE_SENTENCE.split(text) if s and s.strip()]


def question_windows(sentences: list[str]) -> list[str]:
    """Where a long message asks: each sentence ending in '?' with the one before it (which
    usually says what "das" is); without a question mark, each pair of neighbouring sentences."""
    asked = [i for i, s in enumerate(sentences) if s.endswith("?")]
    if asked:
        return [" ".join(sentences[max(0, i - 1) : i + 1]) for i in asked]
    return [" ".join(sentences[i : i + 2]) for i in range(len(sentences) - 1)]


@dataclass(frozen=True)
class Retrieval:
    """The ranked hits for a question, its terms and whether it is answerable."""

    question: str
    search_text: str
    terms: list[str]
    hits: list[Hit]
    signals: Signals | None  # None when nothing was found
    confidence: float  # probability that the texts answer the question (calibration.in_scope)
    # The best passage of each of the first CHOICES different sections, best first: what the
    # assistant offers when it asks back which rule is meant.
    choices: tuple[Hit, ...] = ()
    # The signals of every reading (whole message first, then the others), for `tune`.
    readings: tuple[Signals, ...] = ()
    # The deciding reading's question vector (quotes are chosen by their similarity to it).
    vector: np.ndarray | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class _Probe:
    """One reading of the question: the whole message, a follow-up alone, or a window of it."""

    text: str
    words: list[WordTerms]
    terms: list[str]

    @classmethod
    def of(cls, text: str, words: list[WordTerms]) -> _Probe:
        """A reading whose terms are all its words' terms, once each."""
        return cls(text, words, [t for w in words for t in w.all()])


class Retriever:
    """German BM25 and multilingual dense similarity (to the passage, its example questions and
    its sentences), each normalised per question and fused as a weighted sum."""

    def __init__(self, index: LoadedIndex, settings: Settings, calibration: Calibration) -> None:
        self.index = index
        self.settings = settings
        self.calibration = calibration

    def _follow_up_text(self, question: str, words_: list[WordTerms], history: Sequence[str]) -> str | None:
        """The previous question, when this one is short or opens with a referring word."""
        if not history:
            return None
        own = [w for w in words_ if self.index.lexical.is_known(w)]
        if len(own) <= FOLLOW_UP_MAX_TERMS or FOLLOW_UP_START.match(question):
            return history[-1]
        return None

    def _probes(self, question: str, history: Sequence[str]) -> list[_Probe]:
        """The readings of a message: the whole (with the earlier question if it is a follow-up,
        and then also without it), and for a long message where it asks, so that context around
        the question cannot drown it."""
        analyzer = self.index.lexical.analyzer
        words_ = analyzer.analyse(question, query=True)
        context = self._follow_up_text(question, words_, history)
        alone = _Probe.of(question, words_)
        probes = [alone]
        if context:
            # The follow-up's own words count double; the earlier question supplies the topic.
            # "Und beim Datenschutz?" may name its topic itself: it is also read on its own.
            earlier = _Probe.of(context, analyzer.analyse(context, query=True))
            whole = _Probe(f"{context} {question}", words_ + earlier.words, alone.terms * 2 + earlier.terms)
            probes = [whole, alone]
        sentences = message_sentences(question)
        if len(sentences) > 1 and len(words_) >= LONG_MESSAGE_WORDS:
            for window in question_windows(sentences):
                window_words = analyzer.analyse(window, query=True)
                if window_words:
                    probes.append(_Probe.of(window, window_words))
        return probes

    def _dense(self, matrix: np.ndarray) -> list[dict[str, tuple[np.ndarray, np.ndarray]]]:
        """Per question vector and kind of vector (passage text, example question, sentence):
        each passage's best similarity among the dense candidates, and where one was found.

        Each kind has a collection of its own, asked with one unfiltered query: one query for all
        kinds would let the many example questions crowd out the passages' texts (dev hit@1
        0.872 -> 0.835, added documents 0.800 -> 0.682), and a query filtered by kind is brute
        force in Chroma (17-28 ms at 14,000 vectors against 3-6 ms unfiltered)."""
        k = self.settings.candidates * 2
        found = {kind: self.index.nearest(kind, matrix, k) for kind in VectorKind}
        return [{kind: found[kind][row] for kind in VectorKind} for row in range(len(matrix))]

    def _with_lexical_candidates(
        self, bm25: np.ndarray, dense: dict[str, tuple[np.ndarray, np.ndarray]], vector: np.ndarray
    ) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """The dense similarities, completed for the best lexical candidates from their stored
        vectors: the text when the text query did not return it, the best sentence always (the
        search may have reached a passage through a weaker one). A passage's fused score must not
        depend on whether the approximate search reached it: among 10,000 generated documents of
        near-identical sentences HNSW returned none of the right passages' vectors for most of a
        gold set whose passages BM25 ranked first (hit@1 0.294 -> 0.741). Example questions stay
        as searched: a passage of the page has dozens (13 ms to fetch), and they only add to what
        its text says."""
        matched = np.flatnonzero(bm25 > 0)  # not the many ties at 0: they would all be sorted
        wanted = [int(matched[i]) for i in top_positions(bm25[matched], self.settings.candidates)]
        completed = {}
        for kind, (scores, present) in dense.items():
            if kind == VectorKind.TEXT:
                wanted_here = [i for i in wanted if not present[i]]
            else:
                wanted_here = wanted if kind == VectorKind.SENTENCE else []
            found = self.index.similarities(VectorKind(kind), vector, wanted_here)
            if found:
                scores, present = scores.copy(), present.copy()
                for position, similarity in found.items():
                    if not present[position] or similarity > scores[position]:
                        scores[position], present[position] = similarity, True
            completed[kind] = (scores, present)
        return completed

    def _fused(self, bm25: np.ndarray, dense: dict[str, tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
        """The weighted sum of the normalised scores. Example questions are normalised among the
        passages that have some; a passage without (a document added without `fragen`) counts
        its text's normalised similarity instead, so it competes on the same scale."""
        settings, k = self.settings, self.settings.candidates
        text = normalised(*dense[VectorKind.TEXT], k)
        questions = (
            normalised(*dense[VectorKind.QUESTION], k) if dense[VectorKind.QUESTION][1].any() else text
        )
        questions = np.where(self.index.has_questions, questions, text)
        return (
            settings.lexical_weight * normalised(bm25, np.ones(len(bm25), dtype=bool), k)
            + settings.dense_weight * text
            + settings.question_weight * questions
            + settings.sentence_weight * normalised(*dense[VectorKind.SENTENCE], k)
        )

    def _rank(
        self,
        probe: _Probe,
        dense: dict[str, tuple[np.ndarray, np.ndarray]],
        question: str,
        vector: np.ndarray,
    ) -> Retrieval:
        settings, lexical = self.settings, self.index.lexical
        bm25 = lexical.scores(probe.terms)
        dense = self._with_lexical_candidates(bm25, dense, vector)
        fused = np.where(self.index.is_outline, -np.inf, self._fused(bm25, dense))
        similarity = {kind: np.where(present, scores, 0.0) for kind, (scores, present) in dense.items()}
        best = np.maximum.reduce(list(similarity.values()))
        ranked = self._prefer_outline(probe.text, top_positions(fused, settings.top_k), fused)
        passages = self.index.passages

        def hit(i: int) -> Hit:
            return Hit(
                passage=passages[i],
                score=round(float(fused[i]), 4),
                lexical=round(float(bm25[i]), 4),
                dense=round(float(best[i]), 4),
                coverage=round(lexical.coverage(probe.words, i), 4),
            )

        hits = [hit(i) for i in ranked]
        sections = self._first_of_each_section(ranked, fused)
        evidence = [i for i in ranked if not self.index.is_outline[i]]  # an outline has no text of its own
        signals = (
            self._signals(probe, hits, evidence, similarity, best, fused, sections) if evidence else None
        )
        confidence = self.calibration.in_scope.probability(signals.values()) if signals else 0.0
        return Retrieval(
            question=question,
            search_text=probe.text,
            terms=probe.terms,
            hits=hits,
            signals=signals,
            confidence=confidence,
            choices=tuple(hit(i) for i in sections[:CHOICES]),
            vector=vector,
        )

    def _first_of_each_section(self, ranked: list[int], fused: np.ndarray) -> list[int]:
        """The shown hits, then the ranking beyond them: the first passage of each section
        (document and heading path), best first."""
        passages = self.index.passages
        seen: set[tuple[str, tuple[str, ...]]] = set()
        first = []
        for i in [*ranked, *top_positions(fused, self.settings.top_k * CHOICES)]:
            key = (passages[i].doc_id, passages[i].headings)
            if key not in seen and np.isfinite(fused[i]):
                seen.add(key)
                first.append(i)
        return first

    def _prefer_outline(self, question: str, ranked: list[int], fused: np.ndarray) -> list[int]:
        """Outlines are not ranked themselves (they would crowd out the passages they list); the
        outline of the best hit's section goes first when the question is about that section as
        a whole: several of its items rank close together, or it asks for a list and matched the
        section's introduction or two of its items. Not when the best hit is a list passage of
        its own, which answers with its list."""
        passages = self.index.passages
        if not ranked or "\n- " in f"\n{passages[ranked[0]].text}":
            return ranked
        top = passages[ranked[0]]
        for outline_position in self.index.outlines_around(top):
            outline = passages[outline_position]
            close = [
                i
                for i in ranked
                if passages[i].id in outline.parts and fused[ranked[0]] - fused[i] <= OUTLINE_GAP
            ]
            whole = top.headings == outline.headings  # the section's own introduction matched
            if len(close) >= OUTLINE_ITEMS or (asks_for_list(question) and (whole or len(close) >= 2)):
                fused[outline_position] = fused[ranked[0]]
                return [outline_position, *ranked[: len(ranked) - 1]]
        return ranked

    def _signals(
        self,
        probe: _Probe,
        hits: list[Hit],
        ranked: list[int],
        similarity: dict[str, np.ndarray],
        best: np.ndarray,
        fused: np.ndarray,
        sections: list[int],
    ) -> Signals:
        top = ranked[0]
        # Which rule: the lead of the first hit over the best passage of another section. When
        # an overview goes first, its own items are no rivals: the lead is over what it does not list.
        shown = hits[0].passage
        listed = set(shown.parts) if shown.is_outline else set()
        passages = self.index.passages
        others = [
            i for i in sections if not self.index.is_outline[i] and i != top and passages[i].id not in listed
        ]
        if listed:
            own = (shown.doc_id, shown.headings)  # the section's introduction belongs to the overview
            rivals = top_positions(fused, len(listed) + CHOICES * 2)
            others = [
                i
                for i in rivals
                if passages[i].id not in listed
                and not self.index.is_outline[i]
                and (passages[i].doc_id, passages[i].headings) != own
            ]
        other_score = float(fused[others[0]]) if others else float(fused[top])
        first = next(h for h in hits if not h.passage.is_outline)
        text, sentence = float(similarity[VectorKind.TEXT][top]), float(similarity[VectorKind.SENTENCE][top])
        strongest = np.sort(best)[::-1]
        candidates = strongest[: self.settings.candidates]
        second_score = float(fused[ranked[1]]) if len(ranked) > 1 else float(fused[top])
        lexical = self.index.lexical
        return Signals(
            text=round(text, 4),
            sentence=round(sentence, 4),
            questions=round(max(0.0, float(similarity[VectorKind.QUESTION][top]) - max(text, sentence)), 4),
            lift=round(float(best[top]) - float(candidates.mean()), 4),
            top=first.score,
            margin=round(float(fused[top]) - second_score, 4),
            coverage=first.coverage,
            best_coverage=max(h.coverage for h in hits),
            unknown=lexical.unknown_share(probe.words),
            english=round(english_share(probe.text), 4),
            fact=asks_for_fact(probe.text),
            policy=lexical.analyzer.mentions(probe.words, "KI") and bool(POLICY_MODAL.search(probe.text)),
            section_margin=round(float(fused[top]) - other_score, 4),
            outline=hits[0].passage.is_outline,
        )

    def search(self, question: str, history: Sequence[str] = ()) -> Retrieval:
        """Rank passages for a question; of the readings of a long message, the one the texts
        answer most surely decides (read in the light of the previous turn if it is a follow-up)."""
        probes = self._probes(question, history)
        if not self.index.passages:
            return Retrieval(question, question, probes[0].terms, [], None, 0.0)
        vectors = self.index.embeddings.embed_queries([p.text for p in probes])
        dense = self._dense(vectors)
        readings = [self._rank(p, d, question, v) for p, d, v in zip(probes, dense, vectors, strict=True)]
        best = max(readings, key=lambda r: r.confidence)  # the first (whole message) wins ties
        return dataclasses.replace(best, readings=tuple(r.signals for r in readings if r.signals))
