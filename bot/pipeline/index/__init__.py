"""The index: planned (plan), stored (store: embedded or Chroma server, one collection per kind of
vector), written (writer), built (build), opened (loaded).

The names callers use are here; the modules beside this one say how."""

from bot.pipeline.index.build import IndexReport, build_index, vocabulary
from bot.pipeline.index.loaded import NO_INDEX, LoadedIndex, open_index
from bot.pipeline.index.manifest import (
    BUILDS,
    MANIFEST,
    BuildParameters,
    Manifest,
    build_parameters,
    read_manifest,
)
from bot.pipeline.index.vectors import VectorKind, question_id, sentence_id

__all__ = [
    "BUILDS",
    "MANIFEST",
    "NO_INDEX",
    "BuildParameters",
    "IndexReport",
    "LoadedIndex",
    "Manifest",
    "VectorKind",
    "build_index",
    "build_parameters",
    "open_index",
    "question_id",
    "read_manifest",
    "sentence_id",
    "vocabulary",
]
