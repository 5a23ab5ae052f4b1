"""What gets a vector: each passage in context, each of its example questions, each sentence it
can quote (after its heading, which says what the sentence is about). Outlines get none.

Each kind of vector has a collection of its own; each vector carries the hash of the text it
embeds, so a text the index already holds is never embedded again."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING

from bot.pipeline.chunking import Passage, quote_units

if TYPE_CHECKING:
    from chromadb.api.types import Metadata

Progress = Callable[[int, int], None]


class VectorKind(StrEnum):
    """What a stored vector stands for; the value names its collection."""

    TEXT = "text"  # the passage in context (its headings, then its text)
    QUESTION = "frage"  # one of its example questions
    SENTENCE = "satz"  # one sentence it can quote, after its heading


def sentence_id(passage_id: str, n: int) -> str:
    """The vector id of a passage's n-th quotable sentence (0-based, in quote_units order)."""
    return f"{passage_id}::satz-{n}"


def question_id(passage_id: str, n: int) -> str:
    """The vector id of a passage's n-th example question (1-based, in `fragen` order)."""
    return f"{passage_id}::frage-{n}"


def passage_of(vector_id: str) -> str:
    """The passage a vector id belongs to: a text vector's id is the passage's own."""
    passage, _, suffix = vector_id.rpartition("::")
    return passage if suffix.startswith(("frage-", "satz-")) else vector_id


def text_hash(text: str) -> str:
    """The content hash a vector is known by: the same text has the same vector (one model)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


@dataclass(frozen=True)
class VectorRecord:
    """One vector to store: what it stands for, the text it embeds and that text's hash."""

    kind: VectorKind
    id: str
    passage_id: str
    doc_id: str
    text: str
    hash: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "hash", text_hash(self.text))

    def metadata(self) -> Metadata:
        """What the collection keeps beside the vector."""
        return {"passage_id": self.passage_id, "doc_id": self.doc_id, "hash": self.hash}


def vector_records(passages: list[Passage]) -> list[VectorRecord]:
    """Every vector the passages need, in passage order. A passage with one sentence has a
    sentence vector too: it ranks (the sentence after its heading, without the title and the
    other headings), not only quotes; its text vector in its place cost dev hit@1 0.872 -> 0.853."""
    records: list[VectorRecord] = []
    for p in passages:
        if p.is_outline:
            continue  # chosen through the passages it lists (retrieve._prefer_outline)
        records.append(VectorRecord(VectorKind.TEXT, p.id, p.id, p.doc_id, p.context_text()))
        for n, question in enumerate(p.questions, 1):
            records.append(VectorRecord(VectorKind.QUESTION, question_id(p.id, n), p.id, p.doc_id, question))
        where = p.headings[-1] if p.headings else p.title
        for n, sentence in enumerate(quote_units(p)):
            text = f"{where}: {sentence}"  # the heading says what the sentence is about
            records.append(VectorRecord(VectorKind.SENTENCE, sentence_id(p.id, n), p.id, p.doc_id, text))
    return records
