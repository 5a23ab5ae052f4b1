"""The assistant as one object: load the index once, then turn questions into answers."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from bot.answer import Answer, compose
from bot.config import Settings
from bot.errors import QuestionError
from bot.index import LoadedIndex, open_index
from bot.retrieve import PolicyRetriever

EMPTY_QUESTION = (
    "Bitte stellen Sie eine Frage, zum Beispiel: „Muss ich Inhalte kennzeichnen, die mit KI "
    "erstellt wurden?“"
)
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
CONTACT_PASSAGES = 2


@dataclass(frozen=True)
class CleanQuestion:
    """A question made safe to process, and the note for the user if it had to be cut."""

    text: str
    notes: list[str]


def clean_question(raw: object, max_chars: int) -> CleanQuestion:
    """Normalise a question; refuse an empty one, cut an over-long one with a note."""
    if not isinstance(raw, str):
        raise QuestionError(EMPTY_QUESTION)
    text = CONTROL.sub(" ", unicodedata.normalize("NFC", raw))
    text = " ".join(text.split())
    if not any(ch.isalnum() for ch in text):
        raise QuestionError(EMPTY_QUESTION)
    notes = []
    if len(text) > max_chars:
        text = text[:max_chars].rsplit(" ", 1)[0] or text[:max_chars]
        notes.append(
            f"Ihre Frage war sehr lang; berücksichtigt wurden nur die ersten {max_chars} Zeichen."
        )
    return CleanQuestion(text, notes)


class Assistant:
    """Answers questions from one loaded index."""

    def __init__(self, settings: Settings, index: LoadedIndex) -> None:
        self.settings = settings
        self.index = index
        self.retriever = PolicyRetriever(index=index, settings=settings)
        self._contact = index.passages_of(settings.contact_document)[:CONTACT_PASSAGES]

    @classmethod
    def load(cls, settings: Settings) -> Assistant:
        """Open the index (and the embedding model) once."""
        return cls(settings, open_index(settings))

    def ask(self, question: object, history: Sequence[str] = ()) -> Answer:
        """Answer one question, in the context of earlier questions of the same conversation."""
        clean = clean_question(question, self.settings.max_question_chars)
        earlier = [q.text for q in (_try_clean(h, self.settings) for h in history) if q]
        retrieval = self.retriever.search(clean.text, earlier)
        answer = compose(
            retrieval,
            self.settings,
            self.index.lexical.analyzer,
            self.index.lexical.idf,
            self._contact,
        )
        if clean.notes:
            answer = Answer(**{**answer.__dict__, "notes": clean.notes})
        return answer


def _try_clean(raw: object, settings: Settings) -> CleanQuestion | None:
    try:
        return clean_question(raw, settings.max_question_chars)
    except QuestionError:
        return None


def error_answer(question: object, message: str, settings: Settings) -> Answer:
    """An error still discloses the AI; it rests on no passage, so it lists none."""
    return Answer(
        question=question if isinstance(question, str) else "",
        text=message,
        abstained=True,
        disclosure=settings.disclosure,
        sources=[],
        error=message,
    )
