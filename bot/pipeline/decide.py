"""What the assistant does with a question once the passages are ranked: answer from the first
hit when it is sure, ask back which rule is meant when the question is in scope but the rule is
not clear, or refuse and name the Referat when nothing is close. The bands come from the fitted
calibration (bot/pipeline/calibration.py), not from hand-set thresholds."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from bot.pipeline.calibration import Calibration
from bot.pipeline.retrieve import Hit, Retrieval

# Fewer candidates than this is no choice: the question is refused instead.
MIN_CHOICES = 2


class AnswerKind(StrEnum):
    """What a reply is; the CLI's JSON names it in "kind"."""

    ANSWER = "answer"  # quotes that answer the question
    CHOICE = "choice"  # asked back: which of these rules is meant?
    REFUSAL = "refusal"  # the texts do not answer it: the Referat's contact
    SMALLTALK = "smalltalk"  # a fixed reply to a greeting, thanks or "what can you do"
    ERROR = "error"  # the question could not be answered (empty, no index, …)


@dataclass(frozen=True)
class Decision:
    """The decision on one retrieval, and what it rests on."""

    kind: AnswerKind  # ANSWER, CHOICE or REFUSAL
    confidence: float  # probability that the texts answer the question at all
    right: float  # probability that the first hit is the passage asked about
    candidates: tuple[Hit, ...] = ()  # for CHOICE: the passages to pick from, best first

    @classmethod
    def chosen(cls, hit: Hit) -> Decision:
        """The decision when a person picked the passage themselves."""
        return cls(AnswerKind.ANSWER, 1.0, 1.0, (hit,))


def right_values(retrieval: Retrieval) -> dict[str, float]:
    """What the second model weighs: the retrieval's signals and its in-scope probability."""
    values = retrieval.signals.values() if retrieval.signals is not None else {}
    return {**values, "confidence": retrieval.confidence}


def decide(retrieval: Retrieval, calibration: Calibration) -> Decision:
    """Answer when the question is in scope and the first hit surely right; ask back with the best
    passage of each of the first few sections when it is in scope but the rule unsure; else refuse."""
    if retrieval.signals is None:
        return Decision(AnswerKind.REFUSAL, 0.0, 0.0)
    bands = calibration.bands
    confidence = retrieval.confidence
    right = calibration.right.probability(right_values(retrieval))
    if confidence >= bands.answer_in_scope and right >= bands.answer_right:
        return Decision(AnswerKind.ANSWER, confidence, right)
    if confidence >= bands.choice_in_scope and len(retrieval.choices) >= MIN_CHOICES:
        return Decision(AnswerKind.CHOICE, confidence, right, retrieval.choices)
    return Decision(AnswerKind.REFUSAL, confidence, right)
