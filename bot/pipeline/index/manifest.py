"""The index on disk: manifest.json names the current build and its collections; each build
folder holds its passages.

Files are replaced atomically (written beside, fsynced, renamed), so a reader sees the old state
or the new one, never half of either."""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from bot.config import Settings
from bot.errors import IndexMismatchError
from bot.pipeline.chunking import CHUNKING_VERSION, Passage
from bot.pipeline.german import ANALYZER_VERSION
from bot.pipeline.index.vectors import VectorKind

MANIFEST = "manifest.json"
PASSAGES = "passages.json"
BUILDS = "builds"
# 2: sentence vectors (kind 'satz'); 3: outlines have none; 4: one collection per kind of vector,
# each vector with the hash of the text it embeds.
FORMAT = 4

REBUILD = "Bitte `python -m bot index --rebuild` ausführen."
UNREADABLE = f"Der Index ist beschädigt (manifest.json unlesbar). {REBUILD}"
FOREIGN = f"Der Ordner enthält keinen Index dieses Assistenten. {REBUILD}"
T = TypeVar("T")


@dataclass(frozen=True)
class BuildParameters:
    """Everything an index depends on besides the corpus; a mismatch at load is refused."""

    format: int
    model: str
    max_passage_chars: int
    chunking_version: int
    analyzer_version: int
    vector_store: str  # "local" (embedded Chroma) or "server"
    vector_graph: str  # the HNSW parameters of its collections (Chroma's defaults before they were set)

    @classmethod
    def from_json(cls, data: object) -> BuildParameters:
        """The parameters as manifest.json stores them; older formats read the same keys."""
        if not isinstance(data, dict):
            raise IndexMismatchError(FOREIGN)
        values = {**ADDED, **data}
        names = [f.name for f in dataclasses.fields(cls)]
        if any(name not in values for name in names):
            raise IndexMismatchError(FOREIGN)
        return cls(**{name: values[name] for name in names})


def vector_graph(neighbors: int, construction_ef: int, search_ef: int) -> str:
    """The HNSW parameters as the manifest records them."""
    return f"hnsw neighbors={neighbors} ef_construction={construction_ef} ef_search={search_ef}"


# Parameters recorded since a later version: what indexes written before meant by them.
ADDED = {"vector_graph": vector_graph(16, 100, 100)}


def build_parameters(settings: Settings) -> BuildParameters:
    """The parameters the settings ask for, to compare with an index's."""
    from bot.pipeline.embeddings import model_identity

    return BuildParameters(
        format=FORMAT,
        model=model_identity(settings),
        max_passage_chars=settings.max_passage_chars,
        chunking_version=CHUNKING_VERSION,
        analyzer_version=ANALYZER_VERSION,
        vector_store="server" if settings.chroma_url else "local",
        vector_graph=vector_graph(settings.hnsw_neighbors, settings.hnsw_construction_ef, settings.hnsw_search_ef),
    )


@dataclass(frozen=True)
class Manifest:
    """What manifest.json says: the current build, what it was built from and with, and where its
    vectors are (one collection per kind of vector)."""

    build: str
    parameters: BuildParameters
    documents: dict[str, str]  # document id -> content hash
    synonyms: str  # hash of the synonyms file
    corpus_hash: str
    passages: int
    collections: dict[VectorKind, str] = field(default_factory=dict)  # empty: an index of format < 4
    vectors: dict[VectorKind, int] = field(default_factory=dict)  # stored vectors per collection
    built_at: str = ""

    @property
    def total_vectors(self) -> int:
        """Vectors in all collections together."""
        return sum(self.vectors.values())

    def to_json(self) -> dict[str, Any]:
        """The manifest as manifest.json stores it."""
        return {
            "build": self.build,
            "parameters": dataclasses.asdict(self.parameters),
            "documents": self.documents,
            "synonyms": self.synonyms,
            "corpus_hash": self.corpus_hash,
            "passages": self.passages,
            "collections": {k.value: name for k, name in self.collections.items()},
            "vectors": {k.value: n for k, n in self.vectors.items()},
            "built_at": self.built_at,
        }

    @classmethod
    def from_json(cls, data: object) -> Manifest:
        """A manifest as read from disk. One of an older format reads too (its documents and
        build), and is refused by open_index for its parameters."""
        if not isinstance(data, dict) or "parameters" not in data or "build" not in data:
            raise IndexMismatchError(FOREIGN)
        try:
            return cls(
                build=str(data["build"]),
                parameters=BuildParameters.from_json(data["parameters"]),
                documents={str(k): str(v) for k, v in dict(data.get("documents", {})).items()},
                synonyms=str(data.get("synonyms", "")),
                corpus_hash=str(data.get("corpus_hash", "")),
                passages=int(data.get("passages", 0)),
                collections=_per_kind(data.get("collections"), str),
                vectors=_per_kind(data.get("vectors"), int),
                built_at=str(data.get("built_at") or ""),
            )
        except (TypeError, ValueError) as exc:
            raise IndexMismatchError(FOREIGN) from exc


def _per_kind(value: object, convert: Callable[[Any], T]) -> dict[VectorKind, T]:
    """A mapping kind -> value as stored; anything else (format < 4 kept one count) is empty."""
    if not isinstance(value, dict):
        return {}
    return {VectorKind(k): convert(v) for k, v in value.items()}


def read_manifest(index_dir: Path) -> Manifest | None:
    """The current manifest, or None when there is no index."""
    path = index_dir / MANIFEST
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise IndexMismatchError(UNREADABLE) from exc
    return Manifest.from_json(data)


def write_json(path: Path, data: object) -> None:
    """Replace a file atomically with this JSON."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        json.dump(data, handle, ensure_ascii=False)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def passage_from(record: dict[str, Any]) -> Passage:
    """A passage as a build's passages.json stores it."""
    for key in ("headings", "questions", "keywords", "parts"):
        record[key] = tuple(record.get(key, ()))
    return Passage(**record)


def old_passages(build_dir: Path | None, doc_ids: set[str]) -> list[Passage]:
    """The passages of some documents as a previous build stored them."""
    if build_dir is None or not (build_dir / PASSAGES).is_file():
        return []
    data = json.loads((build_dir / PASSAGES).read_text(encoding="utf-8"))
    return [passage_from(r) for r in data["passages"] if r["doc_id"] in doc_ids]
