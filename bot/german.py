"""German text analysis for the lexical side: folding, lemmas and stems, compounds, typos, synonyms."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache

import simplemma
import Stemmer
from bm25s.stopwords import STOPWORDS_EN, STOPWORDS_GERMAN
from rapidfuzz import fuzz, process

ANALYZER_VERSION = 3
TOKEN = re.compile(r"[^\W_]+")
INVISIBLE = re.compile(r"[\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff\u00ad]")
# Filler words of chat questions and gender suffixes split off by the tokenizer ("Kund:innen").
EXTRA_STOPWORDS = {
    "innen", "in", "nen", "ne", "mal", "denn", "eigentlich", "bitte", "gibt", "gibts", "geht",
    "genau", "halt", "eben", "ja", "hallo", "hi", "danke", "frage", "fragen", "wissen", "sagen",
    "sagt", "steht", "dazu", "darüber", "drin", "drauf", "beim", "bzw", "asb", "nrw", "hey", "okay",
    "ok", "bei", "uns", "wer", "wen", "wem", "wann", "warum", "wieso", "weshalb", "welche",
    "please", "tell", "me", "does", "say", "says", "what", "which",
}
STOPWORDS = frozenset(STOPWORDS_GERMAN) | frozenset(STOPWORDS_EN) | EXTRA_STOPWORDS
MIN_FUZZY_LENGTH = 5
FUZZY_CUTOFF = 85.0
MIN_COMPOUND_LENGTH = 8
MIN_HEAD = 4
MIN_PREFIX = 5


def fold(text: str) -> str:
    """Unicode-normalised, case-folded text without invisible characters."""
    return INVISIBLE.sub("", unicodedata.normalize("NFKC", text)).casefold()


def words(text: str) -> list[str]:
    """Folded word tokens (letters and digits; hyphens, slashes and gender marks split)."""
    return TOKEN.findall(fold(text))


# Modal verbs whose forms the stemmer cannot join ("darf" / "dürfen").
MODALS = {"darf": "dürfen", "darfst": "dürfen", "dürft": "dürfen", "muss": "müssen",
          "musst": "müssen", "müsst": "müssen", "kann": "können", "kannst": "können",
          "soll": "sollen", "sollst": "sollen", "will": "wollen", "willst": "wollen"}
# Endings that make no word of their own when a compound is cut before them.
SUFFIXES = ("lich", "keit", "heit", "isch", "ung", "schaft", "sam", "bar", "los")
UMLAUTS = str.maketrans("äöü", "aou")


@lru_cache(maxsize=200_000)
def _lemma(word: str) -> str:
    """simplemma's lemma, kept only when it still starts like the word (its guesses can stray)."""
    if word in MODALS:
        return MODALS[word]
    lemma = simplemma.lemmatize(word, lang="de").casefold()
    return lemma if lemma.translate(UMLAUTS)[:2] == word.translate(UMLAUTS)[:2] else word


class Analyzer:
    """Turns text into lexical terms; built from the corpus vocabulary so both sides agree."""

    def __init__(self, vocabulary: Iterable[str], synonyms: list[list[str]]) -> None:
        self._stemmer = Stemmer.Stemmer("german")
        self._stem_cache: dict[str, str] = {}
        surfaces = {w for w in vocabulary if len(w) >= 3 and w not in STOPWORDS and not w.isdigit()}
        self.vocabulary = sorted(surfaces)
        self._surfaces = frozenset(surfaces)
        self._known = {self.stem(w) for w in surfaces}
        self._synonyms: dict[tuple[str, ...], str] = {}
        for group_no, group in enumerate(synonyms):
            for term in group:
                key = tuple(self.stem(w) for w in words(term) if w not in STOPWORDS) or tuple(
                    self.stem(w) for w in words(term)
                )
                if key:
                    self._synonyms.setdefault(key, f"syn{group_no}")
        self._max_ngram = max((len(k) for k in self._synonyms), default=1)

    def stem(self, word: str) -> str:
        """Lemma, then Snowball German stem (which also drops umlauts and handles ae/oe/ue)."""
        cached = self._stem_cache.get(word)
        if cached is None:
            lemma = _lemma(word) if word.isalpha() else word
            cached = self._stemmer.stemWord(lemma)
            self._stem_cache[word] = cached
        return cached

    def _correct(self, word: str) -> str:
        """The closest corpus word for an unknown, probably misspelt query word."""
        if len(word) < MIN_FUZZY_LENGTH or not word.isalpha():
            return word
        match = process.extractOne(word, self.vocabulary, scorer=fuzz.ratio, score_cutoff=FUZZY_CUTOFF)
        return match[0] if match else word

    def _compound_parts(self, word: str, depth: int = 0) -> list[str]:
        """Stems of the corpus words a compound is made of ("klientendaten" -> klient, dat)."""
        if len(word) < MIN_COMPOUND_LENGTH or depth > 2 or not word.isalpha():
            return []
        for i in range(MIN_PREFIX - 1, len(word) - MIN_HEAD + 1):
            head = word[i:]
            if head in self._surfaces:
                body = word[:i]
                if body.endswith("s") and len(body) > MIN_PREFIX:
                    body = body[:-1]  # Fugen-s: "Verwaltungsaufgaben"
                return [self.stem(body), self.stem(head), *self._compound_parts(body, depth + 1)]
        for i in range(len(word) - MIN_HEAD, MIN_PREFIX - 1, -1):
            prefix = word[:i]
            rest = word[i:]
            if prefix in self._surfaces and not rest.startswith(SUFFIXES):
                return [self.stem(prefix), self.stem(rest), *self._compound_parts(prefix, depth + 1)]
        return []

    def terms(self, text: str, *, query: bool = False) -> list[str]:
        """Lexical terms of a text: stems, compound parts and synonym-group markers."""
        stems: list[str] = []
        extra: list[str] = []
        for word in words(text):
            if word in STOPWORDS or (len(word) < 2 and not word.isdigit()):
                continue
            stem = self.stem(word)
            if query and stem not in self._known:
                corrected = self._correct(word)
                if corrected != word:
                    word, stem = corrected, self.stem(corrected)
            stems.append(stem)
            extra.extend(p for p in self._compound_parts(word) if len(p) >= 3 and p != stem)
        return stems + extra + self._synonym_marks(stems + extra)

    def _synonym_marks(self, stems: list[str]) -> list[str]:
        marks = []
        for n in range(1, self._max_ngram + 1):
            for i in range(len(stems) - n + 1):
                mark = self._synonyms.get(tuple(stems[i : i + n]))
                if mark:
                    marks.append(mark)
        return marks

    def known_terms(self, terms: Iterable[str]) -> list[str]:
        """The terms the corpus knows: what a question shares with the texts at all."""
        return [t for t in terms if t in self._known or t.startswith("syn")]
