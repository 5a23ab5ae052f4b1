"""A build's vectors into its collections: each distinct text embedded once, and a text whose
vector the index already holds (an unchanged sentence or question, in any document) never again."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from bot.pipeline.index.vectors import Progress, VectorKind, VectorRecord

if TYPE_CHECKING:
    from chromadb.api.types import Metadata

    from bot.pipeline.embeddings import Embedder
    from bot.pipeline.index.store import Collections

WRITE_BATCH = 2000  # vectors per add to a collection: few round trips, bounded memory


@dataclass(frozen=True)
class Written:
    """What writing a build's new vectors did."""

    vectors: int  # records written
    embedded: int  # distinct texts embedded in this run
    reused: int  # distinct texts whose vector the index already held
    embedding_s: float  # time spent embedding (and writing alongside)


@dataclass
class _Pending:
    """Records of one collection waiting to be added, with their vectors."""

    ids: list[str] = field(default_factory=list)
    vectors: list[np.ndarray] = field(default_factory=list)
    metadatas: list[Metadata] = field(default_factory=list)


class _Batches:
    """Adds records to their kind's collection in large batches."""

    def __init__(self, collections: Collections) -> None:
        self.collections = collections
        self.pending = {kind: _Pending() for kind in VectorKind}
        self.written = 0

    def add(self, records: list[VectorRecord], vector: np.ndarray) -> None:
        for record in records:
            pending = self.pending[record.kind]
            pending.ids.append(record.id)
            pending.vectors.append(vector)
            pending.metadatas.append(record.metadata())
            if len(pending.ids) >= WRITE_BATCH:
                self._flush(record.kind)

    def _flush(self, kind: VectorKind) -> None:
        pending = self.pending[kind]
        if pending.ids:
            self.collections[kind].add(
                ids=pending.ids, embeddings=np.stack(pending.vectors), metadatas=pending.metadatas
            )
            self.written += len(pending.ids)
            self.pending[kind] = _Pending()

    def flush(self) -> None:
        for kind in VectorKind:
            self._flush(kind)


def write_vectors(
    collections: Collections,
    records: list[VectorRecord],
    known: dict[str, np.ndarray],
    model: Callable[[], Embedder],
    batch: int,
    progress: Progress | None = None,
) -> Written:
    """Store the records' vectors: those the index already holds (known, by text hash) as they
    are, every other distinct text embedded once (model() is called only then), batch by batch."""
    started = time.perf_counter()
    by_hash: dict[str, list[VectorRecord]] = {}
    for record in records:
        by_hash.setdefault(record.hash, []).append(record)
    out = _Batches(collections)
    reused = [h for h in by_hash if h in known]
    for h in reused:
        out.add(by_hash[h], known[h])
    missing = [h for h in by_hash if h not in known]
    if missing:
        done = 0
        texts = [by_hash[h][0].text for h in missing]
        for vectors in model().passage_batches(texts, batch):
            for h, vector in zip(missing[done : done + len(vectors)], vectors, strict=True):
                out.add(by_hash[h], vector)
            done += len(vectors)
            if progress:
                progress(done, len(missing))
    out.flush()
    return Written(out.written, len(missing), len(reused), time.perf_counter() - started)
