"""A built index opened for questions: its passages, their vectors and the lexical index."""

from __future__ import annotations

import dataclasses
import json
import logging
from dataclasses import dataclass, field

import numpy as np

from bot.config import Settings
from bot.errors import IndexMismatchError, IndexMissingError
from bot.pipeline.chunking import Passage, quote_units
from bot.pipeline.embeddings import Embedder
from bot.pipeline.german import Analyzer
from bot.pipeline.index.build import check_embeddings
from bot.pipeline.index.manifest import (
    BUILDS,
    PASSAGES,
    Manifest,
    build_parameters,
    passage_from,
    read_manifest,
)
from bot.pipeline.index.store import IndexVectors, store_for
from bot.pipeline.index.vectors import VectorKind, passage_of, question_id, sentence_id
from bot.pipeline.lexical import LexicalIndex

log = logging.getLogger(__name__)
NO_INDEX = "Kein Index gefunden. Bitte `python -m bot index` ausführen."


@dataclass
class LoadedIndex:
    """A built index opened for questions: passages, their vectors (one collection per kind) and
    the lexical index."""

    manifest: Manifest
    passages: list[Passage]
    lexical: LexicalIndex
    embeddings: Embedder
    vectors: IndexVectors
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

    def nearest(self, kind: VectorKind, matrix: np.ndarray, k: int) -> list[tuple[np.ndarray, np.ndarray]]:
        """Per question vector: each passage's best similarity among the k nearest vectors of one
        kind (one unfiltered query of its collection), and where one was found. The passage is
        read from the vector's id (its own, or its own with a suffix): metadata would cost a
        look-up per result (about half the query's time)."""
        n = len(self.passages)
        out = [(np.zeros(n), np.zeros(n, dtype=bool)) for _ in range(len(matrix))]
        count = min(k, self.vectors.counts.get(kind, 0))
        if count <= 0 or not len(out):
            return out
        result = self.vectors[kind].query(
            query_embeddings=np.asarray(matrix, dtype=np.float32), n_results=count, include=["distances"]
        )
        for (scores, present), ids, distances in zip(
            out, result["ids"], result["distances"] or [], strict=True
        ):
            for vector_id, distance in zip(ids, distances, strict=True):
                position = self.position.get(passage_of(vector_id))
                similarity = 1.0 - float(distance)
                if position is not None and (not present[position] or similarity > scores[position]):
                    scores[position], present[position] = similarity, True
        return out

    def vector_ids(self, kind: VectorKind, passage: Passage) -> list[str]:
        """The ids of the vectors of one kind a passage has (vectors.vector_records writes them)."""
        if passage.is_outline:
            return []
        if kind is VectorKind.TEXT:
            return [passage.id]
        if kind is VectorKind.QUESTION:
            return [question_id(passage.id, n) for n in range(1, len(passage.questions) + 1)]
        return [sentence_id(passage.id, n) for n in range(len(quote_units(passage)))]

    def similarities(self, kind: VectorKind, vector: np.ndarray, positions: list[int]) -> dict[int, float]:
        """Exactly, from their stored vectors: each of these passages' best similarity among its
        vectors of one kind (one look-up by id, no nearest-neighbour search). Passages without
        a vector of that kind are left out."""
        found = self._stored(kind, [v for i in positions for v in self.vector_ids(kind, self.passages[i])])
        if not found:
            return {}
        stored = np.array(list(found.values()), dtype=np.float32)
        query = np.asarray(vector, dtype=np.float32)
        # Cosine, as the collections measure it (both engines return unit vectors already).
        norms = np.linalg.norm(stored, axis=1) * (float(np.linalg.norm(query)) or 1.0)
        values = (stored @ query) / np.where(norms > 0, norms, 1.0)
        best: dict[int, float] = {}
        for vector_id, value in zip(found, values, strict=True):
            position = self.position[passage_of(vector_id)]
            best[position] = max(best.get(position, -1.0), float(value))
        return best

    def _stored(self, kind: VectorKind, ids: list[str]) -> dict[str, np.ndarray]:
        """The stored vectors of these ids that the collection of one kind holds (one look-up)."""
        if not ids:
            return {}
        got = self.vectors[kind].get(ids=ids, include=["embeddings"])
        vectors = got["embeddings"] if got["embeddings"] is not None else []
        return {i: np.asarray(v, dtype=np.float32) for i, v in zip(got["ids"], vectors, strict=True)}

    def _sentence_matrix(self, units: list[tuple[str, int]]) -> np.ndarray:
        """The stored vectors of sentences (passage id, number), one row each, in that order; zeros
        for a sentence without a stored vector, so a row always stands for its sentence."""
        width = self.embeddings.dimension
        ids = [sentence_id(pid, n) for pid, n in units]
        if not ids:
            return np.zeros((0, width), np.float32)
        stored = self._stored(VectorKind.SENTENCE, ids)
        empty = np.zeros(width, np.float32)
        return np.array([stored.get(i, empty) for i in ids], dtype=np.float32).reshape(len(ids), width)

    def sentence_vectors(self, passage: Passage) -> np.ndarray:
        """The stored vectors of a passage's quotable sentences, in quote_units order."""
        return self._sentence_matrix([(passage.id, n) for n in range(len(quote_units(passage)))])

    def sentence_similarities(self, vector: np.ndarray | None, units: list[tuple[str, int]]) -> np.ndarray:
        """The model's similarity of a question vector to sentences (passage id, number); 0 for
        a sentence without a stored vector or without a question vector."""
        if vector is None or not units:
            return np.zeros(len(units))
        return self._sentence_matrix(units) @ np.asarray(vector, dtype=np.float32)


OLD_LAYOUT = (
    "Der Index hat noch das alte Format (eine Chroma-Sammlung für alle Vektoren). "
    "Bitte `python -m bot index --rebuild` ausführen."
)
OTHER_PARAMETERS = (
    "Der Index wurde mit anderen Einstellungen gebaut (Modell, Abschnitte oder Vektorspeicher). "
    "Bitte `python -m bot index` ausführen (`--rebuild` bettet alles neu ein)."
)


def open_index(settings: Settings, embeddings: Embedder | None = None) -> LoadedIndex:
    """Open the current index; refuses one of the old layout or built with another model or
    passage settings."""
    check_embeddings(settings, embeddings)
    manifest = read_manifest(settings.index_dir)
    if manifest is None:
        raise IndexMissingError(NO_INDEX)
    wanted = build_parameters(settings)
    if manifest.parameters.format != wanted.format:
        raise IndexMismatchError(OLD_LAYOUT)
    # The search graph changes only how surely the nearest vectors are found, never what they
    # are: an index built with another one serves until the next `index` run re-creates it.
    if dataclasses.replace(manifest.parameters, vector_graph=wanted.vector_graph) != wanted:
        raise IndexMismatchError(OTHER_PARAMETERS)
    if manifest.parameters.vector_graph != wanted.vector_graph:
        log.warning("Index mit anderem Suchgraphen (%s); `python -m bot index` baut ihn neu", manifest.parameters.vector_graph)
    build_dir = settings.index_dir / BUILDS / manifest.build
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
    vectors = IndexVectors(store.open(store.client(build_dir), manifest.collections), manifest.vectors)
    lexical = LexicalIndex.build(passages, Analyzer(data["vocabulary"], data["synonyms"]))
    return LoadedIndex(manifest, passages, lexical, embeddings, vectors)
