"""What the assistant does with a question, once the passages are ranked: answer from them, or
decline and name the Referat (offering the closest passage as a guess when it came close)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from bot.config import Settings
from bot.pipeline.retrieve import Hit, Retrieval


class AnswerKind(StrEnum):
    """What a reply is; the CLI's JSON names it in "kind"."""

    ANSWER = "answer"  # quotes that answer the question
    REFUSAL = "refusal"  # the texts do not answer it: the Referat's contact
    SMALLTALK = "smalltalk"  # a fixed reply to a greeting, thanks or "what can you do"
    ERROR = "error"  # the question could not be answered (empty, no index, …)


@dataclass(frozen=True)
class Decision:
    """The decision on one retrieval, and what it rests on."""

    kind: AnswerKind  # ANSWER or REFUSAL
    confidence: float  # the probability that the texts answer the question (retrieve.Signals)
    guess: Hit | None = None  # a declined question that came close: the passage to check by hand


def decide(retrieval: Retrieval, settings: Settings) -> Decision:
    """Answer when the texts answer the question surely enough (settings.min_confidence); else
    decline, with the best passage as a guess when the question came close (hint_confidence)
    and shares words with it."""
    confidence = retrieval.confidence
    if retrieval.signals is not None and confidence >= settings.min_confidence:
        return Decision(AnswerKind.ANSWER, confidence)
    return Decision(AnswerKind.REFUSAL, confidence, _closest(retrieval, settings.hint_confidence))


def _closest(retrieval: Retrieval, guess_confidence: float) -> Hit | None:
    """The best passage of a declined question, if it came close enough to offer it."""
    if not retrieval.hits or retrieval.confidence < guess_confidence:
        return None
    best = retrieval.hits[0]
    return best if best.coverage > 0 else None
