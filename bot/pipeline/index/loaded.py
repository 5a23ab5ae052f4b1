"""A built index opened for questions: its passages, their vectors and the lexical index."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np

from bot.config import Settings
from bot.errors import IndexMismatchError, IndexMissingError
from bot.pipeline.chunking import Passage, quote_units
from bot.pipeline.german import Analyzer
from bot.pipeline.index.build import check_embeddings
from bot.pipeline.index.manifest import BUILDS, PASSAGES, build_parameters, passage_from, read_manifest
from bot.pipeline.index.store import langchain_store, store_for
from bot.pipeline.index.vectors import sentence_id

NO_INDEX = "Kein Index gefunden. Bitte `python -m bot index` ausführen."


@dataclass
class LoadedIndex:
    """A built index opened for questions: passages, vector store and lexical index."""

    manifest: dict
    passages: list[Passage]
    # Typed loosely on purpose: PolicyRetriever (a pydantic model) inspects these fields at runtime.
    store: object
    lexical: object
    embeddings: object
    collection: object = None  # the raw Chroma collection, for several question vectors at once
    position: dict[str, int] = field(init=False, repr=False)  # passage id -> place in passages
    has_questions: np.ndarray = field(init=False, repr=False)  # per passage: has example questions
    is_outline: np.ndarray = field(init=False, repr=False)  # per passage: lists a section's parts

    def __post_init__(self) -> None:
        self.position = {p.id: i for i, p in enumerate(self.passages)}
        self.has_questions = np.array([bool(p.questions) for p in self.passages], dtype=bool)
        self.is_outline = np.array([p.is_outline for p in self.passages], dtype=bool)
        self._outline_of: dict[str, list[int]] = {}
        for i, p in enumerate(self.passages):
            for part in p.parts:
                self._outline_of.setdefault(part, []).append(i)
        self._outline_at = {(p.doc_id, p.headings): i for i, p in enumerate(self.passages) if p.is_outline}

    def outlines_around(self, passage: Passage) -> list[int]:
        """Positions of the outlines that list this passage, or of its own section's outline
        (the passage is that section's introduction), the innermost first."""
        own = self._outline_at.get((passage.doc_id, passage.headings))
        found = [*self._outline_of.get(passage.id, []), *([own] if own is not None else [])]
        return sorted(set(found), key=lambda i: len(self.passages[i].headings), reverse=True)

    def passages_of(self, doc_id: str) -> list[Passage]:
        """The passages of one document, in document order (its outlines last)."""
        return [p for p in self.passages if p.doc_id == doc_id]

    def passage(self, passage_id: str) -> Passage | None:
        """The passage with this id, if the index holds it."""
        position = self.position.get(passage_id)
        return None if position is None else self.passages[position]

    def _sentence_matrix(self, units: list[tuple[str, int]]) -> np.ndarray:
        """The stored vectors of sentences (passage id, number), one row each, in that order; zeros
        for a sentence without a stored vector, so a row always stands for its sentence."""
        width = int(self.embeddings.dimension)
        ids = [sentence_id(pid, n) for pid, n in units]
        if not ids:
            return np.zeros((0, width), np.float32)
        got = self.collection.get(ids=ids, include=["embeddings"])
        stored = dict(zip(got["ids"], got["embeddings"], strict=True))
        return np.array([stored.get(i, np.zeros(width)) for i in ids], dtype=np.float32).reshape(
            len(ids), width
        )

    def sentence_vectors(self, passage: Passage) -> np.ndarray:
        """The stored vectors of a passage's quotable sentences, in quote_units order."""
        return self._sentence_matrix([(passage.id, n) for n in range(len(quote_units(passage)))])

    def sentence_similarities(self, vector, units: list[tuple[str, int]]) -> np.ndarray:
        """The model's similarity of a question vector to sentences (passage id, number); 0 for
        a sentence without a stored vector or without a question vector."""
        if vector is None or not units:
            return np.zeros(len(units))
        return self._sentence_matrix(units) @ np.asarray(vector, dtype=np.float32)


def open_index(settings: Settings, embeddings=None) -> LoadedIndex:
    """Open the current index; refuses one built with another model or passage settings."""
    from bot.pipeline.lexical import LexicalIndex

    check_embeddings(settings, embeddings)
    manifest = read_manifest(settings.index_dir)
    if manifest is None:
        raise IndexMissingError(NO_INDEX)
    if manifest["parameters"] != build_parameters(settings):
        raise IndexMismatchError(
            "Der Index wurde mit einem anderen Modell oder anderen Abschnitts-Einstellungen gebaut. "
            "Bitte `python -m bot index --rebuild` ausführen."
        )
    build_dir = settings.index_dir / BUILDS / manifest["build"]
    try:
        data = json.loads((build_dir / PASSAGES).read_text(encoding="utf-8"))
        passages = [passage_from(r) for r in data["passages"]]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise IndexMismatchError(
            "Der Index ist unvollständig oder beschädigt. Bitte `python -m bot index --rebuild` ausführen."
        ) from exc
    if embeddings is None:
        from bot.pipeline.embeddings import load_embeddings

        embeddings = load_embeddings(settings)
    store = store_for(settings)
    client = store.client(build_dir)
    name = store.collection_name(manifest["build"])
    try:
        collection = client.get_collection(name)
    except Exception as exc:  # missing collection: NotFoundError / ValueError depending on the client
        raise IndexMismatchError(
            "Der Index ist unvollständig (Vektoren fehlen). Bitte `python -m bot index --rebuild` ausführen."
        ) from exc
    vectors = langchain_store(client, embeddings, name)
    analyzer = Analyzer(data["vocabulary"], data["synonyms"])
    lexical = LexicalIndex.build(passages, analyzer)
    return LoadedIndex(manifest, passages, vectors, lexical, embeddings, collection)
