"""The in-memory BM25 index over German terms of passages (bm25s)."""

from __future__ import annotations

from dataclasses import dataclass

import bm25s
import numpy as np

from bot.pipeline.chunking import Passage
from bot.pipeline.german import RELATED, Analyzer, WordTerms

# A thesaurus synonym of a question word counts this much of the word itself.
RELATED_WEIGHT = 0.5


def passage_terms(passage: Passage, analyzer: Analyzer) -> list[str]:
    """What the lexical side indexes: title, heading path, text, keywords and example questions.
    Nothing of an outline: it is chosen by its section's passages, never ranked itself."""
    if passage.is_outline:
        return []
    parts = [passage.context_text(), *passage.keywords, *passage.questions]
    return analyzer.terms("\n".join(parts))


@dataclass
class LexicalIndex:
    """BM25 over passages; scores for all passages at once (the corpus is small enough)."""

    analyzer: Analyzer
    passage_ids: list[str]
    _bm25: bm25s.BM25 | None  # None for an index without passages (bm25s cannot index nothing)
    _terms: list[set[str]]
    idf: dict[str, float]
    max_idf: float

    @classmethod
    def build(cls, passages: list[Passage], analyzer: Analyzer) -> LexicalIndex:
        """Index passages with the analyzer that will also read the questions."""
        corpus_terms = [passage_terms(p, analyzer) or ["∅"] for p in passages]
        bm25 = bm25s.BM25(k1=1.2, b=0.5) if corpus_terms else None
        if bm25 is not None:
            bm25.index(corpus_terms, show_progress=False)
        term_sets = [set(t) for t in corpus_terms]
        n = len(term_sets)
        df: dict[str, int] = {}
        for terms in term_sets:
            for t in terms:
                df[t] = df.get(t, 0) + 1
        idf = {t: float(np.log(1 + (n - d + 0.5) / (d + 0.5))) for t, d in df.items()}
        max_idf = float(np.log(1 + (n + 0.5) / 0.5))
        return cls(analyzer, [p.id for p in passages], bm25, term_sets, idf, max_idf)

    def scores(self, query_terms: list[str]) -> np.ndarray:
        """BM25 score of every passage, in passage order; a question word's synonyms (terms marked
        RELATED) count RELATED_WEIGHT, each once and only if the question does not hold it itself."""
        own = [t for t in query_terms if not t.startswith(RELATED)]
        related = list(dict.fromkeys(t[len(RELATED) :] for t in query_terms if t.startswith(RELATED)))
        related = [t for t in related if t not in own]
        scores = np.zeros(len(self.passage_ids))
        if self._bm25 is None:
            return scores
        if own:
            scores += np.asarray(self._bm25.get_scores(own), dtype=float)
        if related and RELATED_WEIGHT:
            scores += RELATED_WEIGHT * np.asarray(self._bm25.get_scores(related), dtype=float)
        return scores

    def word_weight(self, word: WordTerms) -> float:
        """How much a question word says: the rarity of its stem, synonym group or parts."""
        for term in (word.stem, *word.marks):
            if term in self.idf:
                return self.idf[term]
        known_parts = [self.idf[p] for p in word.parts if p in self.idf]
        return max(known_parts) if known_parts else self.max_idf

    @staticmethod
    def _covers(terms: set[str] | dict[str, float], word: WordTerms) -> bool:
        """A word is covered by its stem, a synonym, or by every one of its compound parts."""
        if word.stem in terms or any(m in terms for m in word.marks):
            return True
        marks = word.part_marks or ("",) * len(word.parts)
        return bool(word.parts) and all(
            p in terms or (m and m in terms) for p, m in zip(word.parts, marks, strict=True)
        )

    def is_known(self, word: WordTerms) -> bool:
        """Whether any passage contains the word, a synonym of it, or all its compound parts."""
        return self._covers(self.idf, word)

    def coverage(self, question: list[WordTerms], position: int) -> float:
        """Share of the question's words that one passage contains, weighted by rarity."""
        terms = self._terms[position]
        total = covered = 0.0
        for word in question:
            weight = self.word_weight(word)
            total += weight
            if self._covers(terms, word):
                covered += weight
        return covered / total if total else 0.0

    def unknown_share(self, question: list[WordTerms]) -> float:
        """Share of the question's weight in words no passage knows (neither word, synonym nor parts)."""
        total = sum(self.word_weight(w) for w in question)
        unknown = sum(self.word_weight(w) for w in question if not self.is_known(w))
        return unknown / total if total else 1.0
