"""BM25 over German terms: a question word's thesaurus synonyms find passages, counting less."""

from __future__ import annotations

import pytest

from bot.pipeline.chunking import Passage
from bot.pipeline.german import Analyzer, words
from bot.pipeline.lexical import RELATED_WEIGHT, LexicalIndex

TEXTS = {
    "schreib": "Schreibarbeiten wie Protokolle übernimmt das Sekretariat.",
    "kram": "Den Schreibkram der Leitung erledigt die Assistenz.",
    "urlaub": "Urlaub wird im Dienstplan eingetragen und von der Leitung genehmigt.",
    "fortbildung": "Jede Fortbildung wird vorab bei der Leitung beantragt.",
}


def passage(key: str, text: str) -> Passage:
    return Passage(f"d#{key}", "d", "Richtlinie", ("Regel",), text, 1, "2026-01-01", "SYNTHETISCH", None)


def index(keys: list[str]) -> LexicalIndex:
    passages = [passage(k, TEXTS[k]) for k in keys]
    vocabulary = words(" ".join(p.context_text() for p in passages))
    return LexicalIndex.build(passages, Analyzer(vocabulary, []))


def ranked(lexical: LexicalIndex, question: str) -> list[str]:
    scores = lexical.scores(lexical.analyzer.terms(question, query=True))
    return [lexical.passage_ids[i] for i in scores.argsort()[::-1] if scores[i] > 0]


def test_a_synonym_from_the_thesaurus_finds_the_passage() -> None:
    lexical = index(["schreib", "urlaub", "fortbildung"])
    assert ranked(lexical, "Wer macht den Schreibkram?") == ["d#schreib"]
    assert ranked(lexical, "Wie melde ich mich für eine Schulung an?") == ["d#fortbildung"]


def test_the_word_itself_counts_more_than_its_synonym() -> None:
    lexical = index(["schreib", "kram", "urlaub"])
    assert ranked(lexical, "Wer macht den Schreibkram?")[:2] == ["d#kram", "d#schreib"]
    alone = index(["schreib", "urlaub"])
    word = lexical.analyzer.terms("Schreibarbeiten")
    bridged = alone.scores(alone.analyzer.terms("Schreibkram", query=True))
    assert bridged.max() == pytest.approx(RELATED_WEIGHT * alone.scores(word).max())
