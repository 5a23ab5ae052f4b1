"""Looking into a built index the way the tests need it: every vector id over its collections."""

from __future__ import annotations

from bot.pipeline.index import LoadedIndex, VectorKind
from bot.pipeline.index.vectors import vector_records


def stored_ids(index: LoadedIndex) -> list[str]:
    """Every vector id of an index, over its collections (one per kind of vector)."""
    return [i for kind in VectorKind for i in index.vectors[kind].get(include=[])["ids"]]


def expected_ids(index: LoadedIndex) -> list[str]:
    """The vector ids the index's passages need (text, example questions, sentences), sorted."""
    return sorted(record.id for record in vector_records(index.passages))
