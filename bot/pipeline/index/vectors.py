"""What gets a vector: each passage in context, each of its example questions, each sentence it
can quote (after its heading, which says what the sentence is about). Outlines get none."""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum

from bot.pipeline.chunking import Passage, quote_units

Progress = Callable[[int, int], None]


class VectorKind(StrEnum):
    """What a stored vector stands for; the value is what the index stores in its metadata."""

    TEXT = "text"  # the passage in context (its headings, then its text)
    QUESTION = "frage"  # one of its example questions
    SENTENCE = "satz"  # one sentence it can quote, after its heading


def sentence_id(passage_id: str, n: int) -> str:
    """The vector id of a passage's n-th quotable sentence (0-based, in quote_units order)."""
    return f"{passage_id}::satz-{n}"


def question_id(passage_id: str, n: int) -> str:
    """The vector id of a passage's n-th example question (1-based, in `fragen` order)."""
    return f"{passage_id}::frage-{n}"


def vector_records(passages: list[Passage]) -> tuple[list[str], list[dict], list[str]]:
    """Texts, metadata and ids to embed."""
    texts, metadatas, ids = [], [], []
    for p in passages:
        if p.is_outline:
            continue  # chosen through the passages it lists (retrieve._prefer_outline)
        texts.append(p.context_text())
        metadatas.append({"passage_id": p.id, "doc_id": p.doc_id, "kind": VectorKind.TEXT.value})
        ids.append(p.id)
        for n, question in enumerate(p.questions, 1):
            texts.append(question)
            metadatas.append({"passage_id": p.id, "doc_id": p.doc_id, "kind": VectorKind.QUESTION.value})
            ids.append(question_id(p.id, n))
        where = p.headings[-1] if p.headings else p.title
        for n, sentence in enumerate(quote_units(p)):
            texts.append(f"{where}: {sentence}")
            metadatas.append({"passage_id": p.id, "doc_id": p.doc_id, "kind": VectorKind.SENTENCE.value, "n": n})
            ids.append(sentence_id(p.id, n))
    return texts, metadatas, ids


def embed_into(store, passages: list[Passage], batch: int, progress: Progress | None) -> None:
    """Embed the passages' records into a LangChain vector store, batch by batch."""
    texts, metadatas, ids = vector_records(passages)
    for start in range(0, len(texts), batch):
        store.add_texts(
            texts[start : start + batch],
            metadatas=metadatas[start : start + batch],
            ids=ids[start : start + batch],
        )
        if progress:
            progress(min(start + batch, len(texts)), len(texts))
