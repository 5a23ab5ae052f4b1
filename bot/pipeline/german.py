"""German text analysis for the lexical side: folding, lemmas and stems, compounds, typos, synonyms."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import simplemma
import Stemmer
from bm25s.stopwords import STOPWORDS_EN, STOPWORDS_EN_PLUS, STOPWORDS_GERMAN
from rapidfuzz import fuzz, process
from rapidfuzz.distance import Levenshtein

from bot.pipeline import thesaurus

ANALYZER_VERSION = 7
TOKEN = re.compile(r"[^\W_]+")
INVISIBLE = re.compile(r"[\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff\u00ad]")
# English function words ("who", "do", "about"): in a question they say nothing about the topic,
# so one the corpus does not contain is dropped instead of counting as unknown. Those the
# Referat's English keywords contain stay searchable.
ENGLISH_FUNCTION_WORDS = frozenset(STOPWORDS_EN_PLUS)
ENGLISH_INFLECTIONS = ("ing", "ed", "s")


DATA = Path(__file__).parent


def _data_lines(name: str) -> list[list[str]]:
    """The words of a data file beside this module, a list per line, comments ('#') left out."""
    lines = (DATA / name).read_text(encoding="utf-8").splitlines()
    return [ws for line in lines if (ws := line.split("#", 1)[0].split())]


@lru_cache(maxsize=1)
def filler_words() -> frozenset[str]:
    """Filler words of chat questions and gender suffixes the tokenizer splits off (filler_words.txt)."""
    return frozenset(w for line in _data_lines("filler_words.txt") for w in line)


@lru_cache(maxsize=1)
def stopwords() -> frozenset[str]:
    """Words a lexical search leaves out: bm25s' German and English lists and the filler words,
    also as staff without umlauts on the keyboard write them ("fuer", "koennen", "muessen")."""
    base = set(STOPWORDS_GERMAN) | set(STOPWORDS_EN) | filler_words()
    return frozenset(
        base | {w.replace("ä", "ae").replace("ö", "oe").replace("ü", "ue").replace("ß", "ss") for w in base}
    )


@lru_cache(maxsize=1)
def english_only() -> frozenset[str]:
    """English function words that are no German words ("the", "do", "my"): how English a question is."""
    return frozenset(ENGLISH_FUNCTION_WORDS - set(STOPWORDS_GERMAN) - filler_words())


@lru_cache(maxsize=1)
def modal_forms() -> dict[str, str]:
    """Modal verb forms the stemmer cannot join, to their infinitive (modal_forms.txt)."""
    return {form: infinitive for form, infinitive in _data_lines("modal_forms.txt")}


@lru_cache(maxsize=1)
def modal_verbs() -> frozenset[str]:
    """Modal verbs, their forms and infinitives: they say what is allowed, not what about."""
    return frozenset(modal_forms()) | frozenset(modal_forms().values())


# Thesaurus expansion (thesaurus.py) of question words of at least MIN_RELATED_LENGTH letters,
# to and from words of at most MAX_SENSES meanings: more is mostly polysemy ("tun" -> "Arbeit",
# "Referat" -> "Vortrag"), also on the synonym's side ("Software" -> "Programm", 8 meanings):
# page hit@3 -0.009 to -0.012 on the tuning sets with more. Shorter words ("per" -> "mithilfe")
# only add noise.
MAX_SENSES = 3
MIN_RELATED_LENGTH = 5


def _few_meanings(word: str) -> bool:
    """Whether a word is long enough and of few enough meanings to be widened or to widen."""
    return len(word) >= MIN_RELATED_LENGTH and len(thesaurus.synsets(word)) <= MAX_SENSES


@lru_cache(maxsize=50_000)
def stand_ins(word: str) -> tuple[str, ...]:
    """The thesaurus' synonyms of a word or its lemma that may stand in for it in a search: only
    between words of few meanings (more are mostly polysemy) and never for modal verbs
    ("dürfen" is no "müssen", whatever the thesaurus says)."""
    forms = {word, _lemma(word)} if word.isalpha() else set()
    if forms & modal_verbs() or not any(_few_meanings(form) for form in forms):
        return ()
    meanings = {synset for form in forms for synset in thesaurus.synsets(form)}
    if len(meanings) > MAX_SENSES:
        return ()
    others = {w for synset in meanings for w in synset if w.isalpha() and w not in stopwords()}
    return tuple(sorted(w for w in others - forms if _few_meanings(w)))


MIN_FUZZY_LENGTH = 5
# A misspelt function word ("sint", "fragn") is one edit from a stop word and in no dictionary.
MIN_TYPO_LENGTH = 4
FUZZY_CUTOFF = 85.0
MIN_COMPOUND_LENGTH = 8
MIN_HEAD = 4
MIN_PREFIX = 5
# A question term that stands for a synonym of a question word, not for the word itself.
RELATED = "~"


# Questions after a date, a duration or an amount: policy texts state rules, rarely such facts.
FACT_QUESTION = re.compile(
    r"\b((?<!seit )wann|wie ?viele?|wie hoch|wie lange|wie teuer|was kostet|was kosten|öffnungszeiten|"
    r"sprechzeiten|how many|how much|how long|when)\b",
    re.IGNORECASE,
)


# A question that asks for a list ("Welche Grundsätze gibt es?", "Wer gehört alles dazu?").
LIST_QUESTION = re.compile(
    r"\b(welche[nmrs]?\b.*\b(gibt es|gibt's|gelten|gilt|hat|haben|sind|existieren)|"
    r"(wer|was)\b.*\balles\b|alle\b|überblick|übersicht|ueberblick|uebersicht|aufz(ä|ae)hl\w*|liste\b|"
    r"nenn\w* mir|which\b.*\b(are|exist|apply)|what are the|list (of|all)|all the|overview)",
    re.IGNORECASE,
)


def asks_for_list(text: str) -> bool:
    """Whether a question asks for several things at once (an overview, all members)."""
    return bool(LIST_QUESTION.search(text))


# Permission and obligation words: with an AI term, the question asks what the policy allows.
POLICY_MODAL = re.compile(
    r"\b(darf|dürfen|darfst|duerfen|muss|müssen|musst|muessen|soll|sollen|kann|können|koennen|"
    r"erlaubt|verboten|zulässig|okay|ok|geht das|may|must|allowed|can|should|have to|need to)\b",
    re.IGNORECASE,
)


def english_share(text: str) -> float:
    """Share of a text's words that are English function words and no German ones."""
    tokens = [t.casefold() for t in TOKEN.findall(text)]
    return sum(t in english_only() for t in tokens) / len(tokens) if tokens else 0.0


def asks_for_fact(text: str) -> bool:
    """Whether a question asks when, how long or how much."""
    return bool(FACT_QUESTION.search(text))


def fold(text: str) -> str:
    """Unicode-normalised, case-folded text without invisible characters."""
    return INVISIBLE.sub("", unicodedata.normalize("NFKC", text)).casefold()


def words(text: str) -> list[str]:
    """Folded word tokens (letters and digits; hyphens, slashes and gender marks split)."""
    return TOKEN.findall(fold(text))


# Endings that make no word of their own when a compound is cut before them.
SUFFIXES = ("lich", "keit", "heit", "isch", "ung", "schaft", "sam", "bar", "los")
UMLAUTS = str.maketrans("äöü", "aou")
# Words in ge- that are no participle of the verb simplemma guesses ("gesamt" is not "samen").
NOT_PARTICIPLES = ("gesamt", "gewohnt", "gewiss", "genug", "gerecht", "gering", "gemein")


@lru_cache(maxsize=200_000)
def _lemma(word: str) -> str:
    """simplemma's lemma, kept only when it still starts like the word (its guesses can stray),
    or like the word without the participle's ge- ("geprüft" -> "prüfen")."""
    if word in modal_forms():
        return modal_forms()[word]
    lemma = simplemma.lemmatize(word, lang="de").casefold()
    start, plain = lemma.translate(UMLAUTS)[:2], word.translate(UMLAUTS)
    if start == plain[:2]:
        return lemma
    if plain.startswith("ge") and start == plain[2:4] and not word.startswith(NOT_PARTICIPLES):
        return lemma
    return word


@dataclass(frozen=True)
class WordTerms:
    """The lexical terms one word of a text stands for."""

    stem: str
    parts: tuple[str, ...]
    marks: tuple[str, ...]
    part_marks: tuple[str, ...] = ()
    # A question word's synonyms from the thesaurus that the corpus contains (their stems):
    # they count less than the word itself (lexical.RELATED_WEIGHT).
    related: tuple[str, ...] = ()

    def all(self) -> list[str]:
        """Stem, compound parts and synonym markers, as indexed; then the related stems, marked."""
        own = [self.stem, *self.parts, *self.marks, *(m for m in self.part_marks if m)]
        return own + [RELATED + r for r in self.related]


class Analyzer:
    """Turns text into lexical terms; built from the corpus vocabulary so both sides agree."""

    def __init__(self, vocabulary: Iterable[str], synonyms: list[list[str]]) -> None:
        self._stemmer = Stemmer.Stemmer("german")
        self._english = Stemmer.Stemmer("english")
        self._stem_cache: dict[str, str] = {}
        self._related_cache: dict[str, tuple[str, ...]] = {}
        surfaces = {w for w in vocabulary if len(w) >= 3 and w not in stopwords() and not w.isdigit()}
        self.vocabulary = sorted(surfaces)
        self._surfaces = frozenset(surfaces)
        self._known = {self.stem(w) for w in surfaces}
        # Only stop words of 4+ letters: one edit from "mir" or "wen" are names (Miro, Qwen).
        self._stopwords = sorted(w for w in stopwords() if len(w) >= MIN_TYPO_LENGTH)
        self._synonyms: dict[tuple[str, ...], str] = {}
        # Phrases of stop words only ("von sich aus") are matched on the words as written,
        # since the stop words are gone before the other synonyms are looked up.
        self._stop_phrases: dict[tuple[str, ...], str] = {}
        for group_no, group in enumerate(synonyms):
            for term in group:
                term_words = words(term)
                key = tuple(self.stem(w) for w in term_words if w not in stopwords())
                if key:
                    self._synonyms.setdefault(key, f"syn{group_no}")
                elif len(term_words) >= 2:  # a single stop word ("it") would mark every sentence
                    self._stop_phrases.setdefault(tuple(term_words), f"syn{group_no}")
        self._max_ngram = max((len(k) for k in self._synonyms), default=1)

    def stem(self, word: str) -> str:
        """Lemma, then Snowball German stem (which also drops umlauts and handles ae/oe/ue)."""
        cached = self._stem_cache.get(word)
        if cached is None:
            lemma = _lemma(word) if word.isalpha() else word
            cached = self._stemmer.stemWord(lemma)
            self._stem_cache[word] = cached
        return cached

    def _correct(self, word: str) -> str | None:
        """The closest corpus word for an unknown, probably misspelt query word; None for a
        misspelt stop word (it says nothing about the topic, so it must not count as unknown)."""
        if len(word) < MIN_TYPO_LENGTH or not word.isalpha():
            return word
        if len(word) >= MIN_FUZZY_LENGTH:
            match = process.extractOne(word, self.vocabulary, scorer=fuzz.ratio, score_cutoff=FUZZY_CUTOFF)
            if match:
                return match[0]
        if simplemma.is_known(word, lang=("de", "en")):
            return word
        near = process.extractOne(word, self._stopwords, scorer=Levenshtein.distance, score_cutoff=1)
        return None if near else word

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

    @staticmethod
    def _is_english(word: str) -> bool:
        """An inflected English word ("checking", "labelled", "nurses"; not "terminal", "wellness")."""
        inflected = word.endswith(ENGLISH_INFLECTIONS) and not word.endswith("ss")
        return inflected and simplemma.is_known(word, lang="en")

    def _stop_phrase_marks(self, text_words: list[str]) -> list[WordTerms]:
        """One marker word per stop-word phrase of a synonym group found in the text."""
        found = []
        for phrase, mark in self._stop_phrases.items():
            n = len(phrase)
            if any(tuple(text_words[i : i + n]) == phrase for i in range(len(text_words) - n + 1)):
                found.append(WordTerms(mark, (), ()))  # the marker is the word
        return found

    def analyse(self, text: str, *, query: bool = False) -> list[WordTerms]:
        """Per word: its stem, the stems of its compound parts and its synonym-group markers."""
        analysed: list[WordTerms] = []
        text_words = words(text)
        for word in text_words:
            if word in stopwords() or (len(word) < 2 and not word.isdigit()):
                continue
            stem = self.stem(word)
            # A word the corpus lacks: English, or a typo, unless a synonym of it is in the corpus
            # (a word of the thesaurus is no typo: "Schreibkram").
            if query and stem not in self._known and not self._related(word, stem):
                english = self._english.stemWord(word) if self._is_english(word) else ""
                if english in self._known:
                    stem = english  # "checking" meets the keyword "check"
                else:
                    corrected = None if word in ENGLISH_FUNCTION_WORDS else self._correct(word)
                    if corrected is None:
                        continue
                    if corrected != word:
                        word, stem = corrected, self.stem(corrected)
            parts = tuple(dict.fromkeys(p for p in self._compound_parts(word) if len(p) >= 3 and p != stem))
            related = tuple(r for r in self._related(word, stem) if r not in parts) if query else ()
            analysed.append(WordTerms(stem, parts, (), related=related))
        return self._mark_synonyms(analysed) + self._stop_phrase_marks(text_words)

    def _related(self, word: str, stem: str) -> tuple[str, ...]:
        """Stems of the corpus words that can stand in for a word (stand_ins)."""
        cached = self._related_cache.get(word)
        if cached is None:
            found = (self.stem(other) for other in stand_ins(word))
            cached = tuple(dict.fromkeys(s for s in found if s != stem and s in self._known))
            self._related_cache[word] = cached
        return cached

    def terms(self, text: str, *, query: bool = False) -> list[str]:
        """Lexical terms of a text: stems, compound parts and synonym-group markers."""
        return [t for w in self.analyse(text, query=query) for t in w.all()]

    def _mark_synonyms(self, analysed: list[WordTerms]) -> list[WordTerms]:
        """Attach each synonym group found (one word or a phrase) to the word that ends it."""
        marks: list[set[str]] = [set() for _ in analysed]
        stems = [w.stem for w in analysed]
        for n in range(1, self._max_ngram + 1):
            for i in range(len(stems) - n + 1):
                mark = self._synonyms.get(tuple(stems[i : i + n]))
                if mark:
                    marks[i + n - 1].add(mark)
        return [
            WordTerms(
                w.stem,
                w.parts,
                tuple(sorted(m)),
                tuple(self._synonyms.get((part,), "") for part in w.parts),
                w.related,
            )
            for w, m in zip(analysed, marks, strict=True)
        ]

    def mentions(self, words_: list[WordTerms], term: str) -> bool:
        """Whether analysed words contain a term or a synonym of it (e.g. "KI": AI, ChatGPT …)."""
        wanted = {t for w in self.analyse(term) for t in (w.stem, *w.marks)}
        return any(wanted & {w.stem, *w.parts, *w.marks, *w.part_marks} for w in words_)
