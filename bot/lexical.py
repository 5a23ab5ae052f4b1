"""The in-memory BM25 index over German terms of passages (bm25s)."""

from __future__ import annotations

from dataclasses import dataclass

import bm25s
import numpy as np

from bot.chunking import Passage
from bot.german import Analyzer


def passage_terms(passage: Passage, analyzer: Analyzer) -> list[str]:
    """What the lexical side indexes: title, heading path, text, keywords and example questions."""
    parts = [passage.context_text(), *passage.keywords, *passage.questions]
    return analyzer.terms("\n".join(parts))


@dataclass
class LexicalIndex:
    """BM25 over passages; scores for all passages at once (the corpus is small enough)."""

    analyzer: Analyzer
    passage_ids: list[str]
    _bm25: bm25s.BM25
    _terms: list[set[str]]
    idf: dict[str, float]
    max_idf: float

    @classmethod
    def build(cls, passages: list[Passage], analyzer: Analyzer) -> LexicalIndex:
        """Index passages with the analyzer that will also read the questions."""
        corpus_terms = [passage_terms(p, analyzer) or ["∅"] for p in passages]
        bm25 = bm25s.BM25(k1=1.2, b=0.5)
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
        """BM25 score of every passage, in passage order."""
        if not query_terms or not self.passage_ids:
            return np.zeros(len(self.passage_ids))
        return np.asarray(self._bm25.get_scores(query_terms), dtype=float)

    def coverage(self, query_terms: list[str], position: int) -> float:
        """Share of the question's distinct terms found in one passage, weighted by rarity."""
        distinct = set(query_terms)
        total = sum(self.idf.get(t, self.max_idf) for t in distinct)
        found = sum(self.idf.get(t, self.max_idf) for t in distinct if t in self._terms[position])
        return found / total if total else 0.0
