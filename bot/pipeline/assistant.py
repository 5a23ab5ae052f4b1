"""The assistant as one object: load the index once, then turn questions into answers."""

from __future__ import annotations

import dataclasses
import logging
import re
import threading
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.config import Settings
from bot.errors import BotError, QuestionError
from bot.pipeline import smalltalk
from bot.pipeline.answer import Answer, Question, Source, compose
from bot.pipeline.audit import AuditLog, PickLog
from bot.pipeline.calibration import Calibration, load_calibration
from bot.pipeline.chunking import Passage
from bot.pipeline.decide import AnswerKind, Decision, decide
from bot.pipeline.german import words
from bot.pipeline.index import MANIFEST, LoadedIndex, open_index, read_manifest
from bot.pipeline.llm import verify
from bot.pipeline.privacy import find_personal_data, redact, warning_for
from bot.pipeline.retrieve import Hit, Retrieval, Retriever

if TYPE_CHECKING:
    from bot.pipeline.llm import Generator

EMPTY_QUESTION = (
    "Bitte stellen Sie eine Frage, zum Beispiel: „Muss ich Inhalte kennzeichnen, die mit KI erstellt wurden?“"
)
# Control characters, and invisible or direction-changing ones that can disguise text.
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]")
CONTACT_PASSAGES = 2
# The choice that picks none of the candidates of a question asked back ("Nichts davon").
NOTHING_CHOSEN = "nichts"
UNKNOWN_CHOICE = (
    "Diese Auswahl gibt es in den freigegebenen Texten nicht (mehr). Bitte fragen Sie noch einmal."
)
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CleanQuestion:
    """A question made safe to process, and the note for the user if it had to be cut."""

    text: str
    notes: tuple[str, ...]


@dataclass(frozen=True)
class Turn:
    """One question answered: what was found, what was decided, and what the person is told.
    Chat, CLI, eval, tune, bench and the self-check all read this one record."""

    answer: Answer
    retrieval: Retrieval | None = None  # None: small talk, which is not searched
    decision: Decision | None = None


def clean_question(raw: object, max_chars: int) -> CleanQuestion:
    """Normalise a question; refuse an empty one, cut an over-long one with a note."""
    if not isinstance(raw, str):
        raise QuestionError(EMPTY_QUESTION)
    text = CONTROL.sub(" ", unicodedata.normalize("NFC", raw))
    text = " ".join(text.split())
    if not any(ch.isalnum() for ch in text):
        raise QuestionError(EMPTY_QUESTION)
    notes: tuple[str, ...] = ()
    if len(text) > max_chars:
        text = text[:max_chars].rsplit(" ", 1)[0] or text[:max_chars]
        notes = (f"Ihre Frage war sehr lang; berücksichtigt wurden nur die ersten {max_chars} Zeichen.",)
    return CleanQuestion(text, notes)


@dataclass(frozen=True)
class _Loaded:
    """One consistent snapshot: an index, its retriever and the contact passages for refusals."""

    index: LoadedIndex
    retriever: Retriever
    contact: list[Passage]
    manifest_mtime: int
    public_words: frozenset[str]


class Assistant:
    """Answers questions from the current index; a newly built index is picked up without restart."""

    def __init__(
        self,
        settings: Settings,
        index: LoadedIndex,
        audit: AuditLog | None = None,
        picks: PickLog | None = None,
    ) -> None:
        self.settings = settings
        self.audit = audit
        self.picks = picks
        self.calibration: Calibration = load_calibration(settings.decision_file)
        self._generator = _generator(settings)
        self._lock = threading.Lock()
        self._state = self._snapshot(index)

    def _snapshot(self, index: LoadedIndex) -> _Loaded:
        contacts = index.passages_of(self.settings.contact_document)
        return _Loaded(
            index=index,
            retriever=Retriever(index, self.settings, self.calibration),
            contact=contacts[:CONTACT_PASSAGES],
            manifest_mtime=_manifest_mtime(self.settings),
            public_words=frozenset(w for p in contacts for w in words(p.context_text())),
        )

    @classmethod
    def load(cls, settings: Settings) -> Assistant:
        """Open the index (and the embedding model) once; answers and picks are recorded under data_dir."""
        if not settings.audit:
            return cls(settings, open_index(settings))
        return cls(settings, open_index(settings), AuditLog(settings.data_dir), PickLog(settings.data_dir))

    @property
    def index(self) -> LoadedIndex:
        """The index questions are answered from right now."""
        return self._current().index

    @property
    def retriever(self) -> Retriever:
        """The retriever over the current index."""
        return self._current().retriever

    def _current(self) -> _Loaded:
        """The snapshot to answer from, switching to a new build when manifest.json changed."""
        state = self._state
        if _manifest_mtime(self.settings) == state.manifest_mtime:
            return state
        with self._lock:
            state = self._state
            mtime = _manifest_mtime(self.settings)
            if mtime == state.manifest_mtime:
                return state
            try:
                manifest = read_manifest(self.settings.index_dir)
                if manifest and manifest.build != state.index.manifest.build:
                    fresh = open_index(self.settings, embeddings=state.index.embeddings)
                    self._state = self._snapshot(fresh)
                    log.info("Neuer Index geladen: %s", manifest.build)
                else:
                    self._state = dataclasses.replace(state, manifest_mtime=mtime)
            except BotError as exc:
                # Keep answering from the index we have; the operator sees why in the log.
                log.warning("Neuer Index nicht geladen, der bisherige antwortet weiter: %s", exc)
                self._state = dataclasses.replace(state, manifest_mtime=mtime)
            return self._state

    def ask(
        self,
        question: object,
        history: Sequence[object] = (),
        channel: str = "cli",
        on_token: Callable[[str], None] | None = None,
        *,
        choice: str | None = None,
        user: str | None = None,
    ) -> Turn:
        """Answer one question, in the context of earlier questions of the same conversation: the
        one path every surface takes (a QuestionError for an empty question or an unknown choice).

        choice answers a question asked back: the id of the passage the person picked (answered
        from that passage alone), or NOTHING_CHOSEN for "Nichts davon" (the refusal). Picks are
        recorded, with the user's account only so that `forget` can delete them.
        on_token receives the language model's draft as it is written (only with BOT_LLM); the
        returned answer is the verified one, or the quotes.
        """
        clean = clean_question(question, self.settings.max_question_chars)
        state = self._current()
        findings = find_personal_data(clean.text, public_words=state.public_words)
        asked = Question(clean.text, clean.notes, warning_for(findings), state.index.manifest.corpus_hash)
        talk = smalltalk.recognise(clean.text) if choice is None else None
        if talk is not None:
            return self._audited(Turn(self._smalltalk(asked, talk)), state, channel)
        earlier = [q.text for q in (_try_clean(h, self.settings) for h in history) if q]
        retrieval = state.retriever.search(smalltalk.without_greeting(clean.text), earlier)
        if choice is None:
            decision = decide(retrieval, self.calibration)
        else:
            retrieval, decision = self._picked(retrieval, choice, state, channel, user)
        answer = compose(
            retrieval, decision, asked, settings=self.settings, index=state.index, contact=state.contact
        )
        if self._generator is not None and decision.kind is AnswerKind.ANSWER:
            redacted = redact(clean.text, findings)
            written = self._written(self._generator, asked, redacted, retrieval, state, on_token)
            answer = written or answer
        return self._audited(Turn(answer, retrieval, decision), state, channel)

    def _picked(
        self, retrieval: Retrieval, choice: str, state: _Loaded, channel: str, user: str | None
    ) -> tuple[Retrieval, Decision]:
        """The person's pick of a question asked back, recorded: the passage answers alone (its
        scores kept if it was ranked), or "Nichts davon" refuses."""
        passage = None if choice == NOTHING_CHOSEN else state.index.passage(choice)
        if choice != NOTHING_CHOSEN and passage is None:
            raise QuestionError(UNKNOWN_CHOICE)
        if self.picks is not None:
            offered = [h.passage.id for h in retrieval.choices]
            build = state.index.manifest.build
            self.picks.record(retrieval.question, passage, offered, channel=channel, user=user, build=build)
        if passage is None:
            return retrieval, Decision(AnswerKind.REFUSAL, retrieval.confidence, 0.0)
        ranked = {h.passage.id: h for h in (*retrieval.hits, *retrieval.choices)}
        hit = ranked.get(passage.id) or Hit(passage, score=0.0, lexical=0.0, dense=0.0, coverage=0.0)
        return dataclasses.replace(retrieval, hits=[hit]), Decision.chosen(hit)

    def _audited(self, turn: Turn, state: _Loaded, channel: str) -> Turn:
        if self.audit is not None:
            self.audit.record(turn.answer, manifest=state.index.manifest, channel=channel)
        return turn

    def _smalltalk(self, asked: Question, talk: smalltalk.SmallTalk) -> Answer:
        """The fixed reply to small talk: it rests on no passage, so it lists none."""
        return Answer(
            asked=asked,
            kind=AnswerKind.SMALLTALK,
            text=talk.reply,
            disclosure=self.settings.notice_disclosure,
            sources=[],
            generator="fixed",
        )

    def _written(
        self,
        generator: Generator,
        asked: Question,
        question: str,
        retrieval: Retrieval,
        state: _Loaded,
        on_token: Callable[[str], None] | None,
    ) -> Answer | None:
        """The language model's verified answer; None keeps the quotes (error, timeout, nothing verified)."""
        hits = retrieval.hits[: self.settings.llm_passages]
        passages = [h.passage for h in hits]
        try:
            raw = generator.generate(question, passages, on_token)
        except Exception as exc:  # HTTP errors, timeouts, provider errors: all mean "quote instead"
            log.warning("Sprachmodell nicht verfügbar, Antwort mit Zitaten: %s", type(exc).__name__)
            return None
        index = state.index
        lexical = index.lexical
        verified = verify(
            raw,
            passages,
            lexical.analyzer,
            index.embeddings.embed_passages,
            index.sentence_vectors,
            lambda term: lexical.idf.get(term, lexical.max_idf),
        )
        if verified is None:
            return None
        score = {h.passage.id: h.score for h in hits}
        return Answer(
            asked=asked,
            kind=AnswerKind.ANSWER,
            text=verified.text,
            disclosure=self.settings.llm_disclosure,
            sources=[Source(n, p, score[p.id]) for n, p in enumerate(verified.passages, 1)],
            generator="llm",
        )


def _generator(settings: Settings) -> Generator | None:
    """The language-model generator when BOT_LLM is set; a wrong setting is a clear German error."""
    if not settings.llm:
        return None
    from bot.pipeline.llm import Generator

    try:
        return Generator(settings)
    except (ValueError, ImportError) as exc:
        raise BotError(
            f"BOT_LLM={settings.llm} kann nicht verwendet werden ({exc}). "
            "Beispiel: BOT_LLM=openai:gpt-4o-mini, oder BOT_LLM leer lassen für Zitat-Antworten."
        ) from exc


def _manifest_mtime(settings: Settings) -> int:
    try:
        return (settings.index_dir / MANIFEST).stat().st_mtime_ns
    except OSError:
        return -1


def _try_clean(raw: object, settings: Settings) -> CleanQuestion | None:
    try:
        return clean_question(raw, settings.max_question_chars)
    except QuestionError:
        return None


def error_answer(question: object, message: str, settings: Settings) -> Answer:
    """An error still discloses the AI; it rests on no passage, so it lists none."""
    return Answer(
        asked=Question(question if isinstance(question, str) else ""),
        kind=AnswerKind.ERROR,
        text=message,
        disclosure=settings.notice_disclosure,
        sources=[],
    )
