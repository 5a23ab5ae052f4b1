"""Where the vectors live: one small interface over the embedded store and the Chroma server.

Each build has one collection per kind of vector (passage text, example question, sentence), so
every search is one unfiltered nearest-neighbour query. Embedded (the default): a
PersistentClient per build folder; a new build starts as a copy of the old folder. Server
(BOT_CHROMA_URL): three collections per build on the shared `chroma run`; a new build starts as
a copy of the old collections' vectors. Either way the new build is written beside the old one,
and the manifest switches to all its collections at once."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Literal
from urllib.parse import urlparse

import numpy as np

from bot.config import Settings
from bot.errors import IndexMismatchError, IndexMissingError
from bot.pipeline.index.manifest import REBUILD
from bot.pipeline.index.vectors import VectorKind

if TYPE_CHECKING:
    from chromadb.api import ClientAPI
    from chromadb.api.collection_configuration import CreateHNSWConfiguration
    from chromadb.api.models.Collection import Collection
    from chromadb.api.types import Where
    from chromadb.config import Settings as ChromaSettings

PREFIX = "passages"
PAGE = 1000  # records per request when vectors are copied or looked up
log = logging.getLogger(__name__)

Collections = dict[VectorKind, "Collection"]


class IndexVectors:
    """The collections of one build, one per kind of vector, and how many vectors each holds."""

    def __init__(self, collections: Collections, counts: dict[VectorKind, int]) -> None:
        self._collections = collections
        self.counts = counts

    def __getitem__(self, kind: VectorKind) -> Collection:
        return self._collections[kind]


def _chroma_settings() -> ChromaSettings:
    from chromadb.config import Settings as ChromaSettings

    return ChromaSettings(anonymized_telemetry=False, allow_reset=False)


class VectorStore:
    """The vectors of the index's builds; subclasses say where they are kept. New collections
    get the nearest-neighbour graph the settings ask for (cosine distance)."""

    kind = ""

    def __init__(self, settings: Settings) -> None:
        self.graph: CreateHNSWConfiguration = {
            "space": "cosine",
            "max_neighbors": settings.hnsw_neighbors,
            "ef_construction": settings.hnsw_construction_ef,
            "ef_search": settings.hnsw_search_ef,
        }

    def client(self, build_dir: Path) -> ClientAPI:
        """The Chroma client that holds this build's vectors."""
        raise NotImplementedError

    def collection_name(self, build_id: str, kind: VectorKind) -> str:
        """The name of this build's collection of one kind of vector."""
        raise NotImplementedError

    def has_vectors(self, build_dir: Path | None) -> bool:
        """Whether an earlier build's vectors are still stored (and so can be carried over)."""
        raise NotImplementedError

    def names(self, build_id: str) -> dict[VectorKind, str]:
        """The names of a build's collections, one per kind of vector."""
        return {kind: self.collection_name(build_id, kind) for kind in VectorKind}

    def create(self, client: ClientAPI, build_id: str) -> Collections:
        """The build's collections (cosine distance), created if they are not there yet."""
        return {
            kind: client.get_or_create_collection(
                self.collection_name(build_id, kind),
                configuration={"hnsw": self.graph},
                embedding_function=None,
            )
            for kind in VectorKind
        }

    def open(self, client: ClientAPI, names: dict[VectorKind, str]) -> Collections:
        """The collections a manifest names; a missing one is an incomplete index."""
        try:
            return {kind: client.get_collection(names[kind], embedding_function=None) for kind in VectorKind}
        except Exception as exc:  # NotFoundError / ValueError / KeyError, depending on client and manifest
            raise IndexMismatchError(f"Der Index ist unvollständig (Vektoren fehlen). {REBUILD}") from exc

    def known(self, client: ClientAPI, build_id: str, hashes: set[str]) -> dict[str, np.ndarray]:
        """Vectors a build already holds for these text hashes (from any of its collections)."""
        found: dict[str, np.ndarray] = {}
        for collection in self.open(client, self.names(build_id)).values():
            wanted = sorted(hashes - found.keys())
            for start in range(0, len(wanted), PAGE):
                got = collection.get(
                    where=_any_of("hash", wanted[start : start + PAGE]), include=["embeddings", "metadatas"]
                )
                vectors = got["embeddings"] if got["embeddings"] is not None else []
                for metadata, vector in zip(got["metadatas"] or [], vectors, strict=True):
                    found[str(metadata["hash"])] = np.asarray(vector, dtype=np.float32)
        return found

    def carry_over(self, client: ClientAPI, old_build: str, new_build: str, stale: set[str]) -> None:
        """Start the new build with the old build's vectors, without those of stale documents."""
        raise NotImplementedError

    def prepare(self, build_dir: Path, old_dir: Path | None) -> None:
        """Set up the new build's storage before its client opens (nothing by default)."""

    def discard(self, build_id: str, build_dir: Path) -> None:
        """Remove what a failed build left behind."""
        shutil.rmtree(build_dir, ignore_errors=True)

    def prune(self, client: ClientAPI, dropped: list[str]) -> None:
        """Drop the vectors of builds whose folders went (embedded: they were in the folders)."""


class EmbeddedStore(VectorStore):
    """Chroma persisted inside each build's folder (no server)."""

    kind = "local"

    def client(self, build_dir: Path) -> ClientAPI:
        import chromadb

        return chromadb.PersistentClient(path=str(build_dir / "chroma"), settings=_chroma_settings())

    def collection_name(self, build_id: str, kind: VectorKind) -> str:
        return f"{PREFIX}-{kind.value}"  # the folder is the build's

    def has_vectors(self, build_dir: Path | None) -> bool:
        return build_dir is not None and (build_dir / "chroma").is_dir()

    def prepare(self, build_dir: Path, old_dir: Path | None) -> None:
        if old_dir is not None:
            shutil.copytree(old_dir / "chroma", build_dir / "chroma")

    def carry_over(self, client: ClientAPI, old_build: str, new_build: str, stale: set[str]) -> None:
        if not stale:
            return
        for collection in self.create(client, new_build).values():  # the copied folder: the old vectors
            collection.delete(where=_any_of("doc_id", sorted(stale)))


class ServerStore(VectorStore):
    """A shared Chroma server (`chroma run`), reached with HttpClient."""

    kind = "server"

    def __init__(self, settings: Settings, url: str) -> None:
        super().__init__(settings)
        self.url = url

    def client(self, build_dir: Path) -> ClientAPI:
        import chromadb

        address = urlparse(self.url)
        if not address.hostname:
            raise IndexMismatchError(f"BOT_CHROMA_URL ist keine gültige Adresse: {self.url}")
        try:
            client = chromadb.HttpClient(
                host=address.hostname,
                port=address.port or 8000,
                ssl=address.scheme == "https",
                settings=_chroma_settings(),
            )
            client.heartbeat()
        except Exception as exc:  # chromadb raises several transport errors; all mean "not reachable"
            raise IndexMissingError(
                f"Der Chroma-Server unter {self.url} ist nicht erreichbar. Läuft `chroma run`?"
            ) from exc
        return client

    def collection_name(self, build_id: str, kind: VectorKind) -> str:
        return f"{PREFIX}-{build_id}-{kind.value}"

    def has_vectors(self, build_dir: Path | None) -> bool:
        return True  # the server keeps them; a missing collection fails loudly at the copy

    def carry_over(self, client: ClientAPI, old_build: str, new_build: str, stale: set[str]) -> None:
        targets = self.create(client, new_build)
        for kind, old in self.open(client, self.names(old_build)).items():
            for offset in range(0, old.count(), PAGE):
                got = old.get(include=["embeddings", "metadatas"], limit=PAGE, offset=offset)
                metadatas, vectors = got["metadatas"] or [], got["embeddings"]
                keep = [i for i, m in enumerate(metadatas) if m.get("doc_id") not in stale]
                if keep and vectors is not None:
                    targets[kind].add(
                        ids=[got["ids"][i] for i in keep],
                        embeddings=np.asarray([vectors[i] for i in keep], dtype=np.float32),
                        metadatas=[metadatas[i] for i in keep],
                    )

    def discard(self, build_id: str, build_dir: Path) -> None:
        try:  # the collections first: while the folder is there, a later run still knows the build
            client = self.client(build_dir)
            for name in self.names(build_id).values():
                if name in _names_on(client):
                    client.delete_collection(name)
        except Exception:  # the server may be what failed; the folder stays for the next run's prune
            log.warning("Unvollständige Sammlungen von %s nicht entfernt", build_id)
            return
        super().discard(build_id, build_dir)

    def prune(self, client: ClientAPI, dropped: list[str]) -> None:
        # Only this index's builds: other indexes may share the server. A build of the old
        # layout (format < 4) had one collection, named for the build alone.
        existing = set(_names_on(client))
        for build in dropped:
            for name in [*self.names(build).values(), f"{PREFIX}-{build}"]:
                if name in existing:
                    client.delete_collection(name)


def _names_on(client: ClientAPI) -> list[str]:
    return [collection.name for collection in client.list_collections()]


def _any_of(key: str, values: list[str]) -> Where:
    """A metadata filter: the key has one of these values."""
    choices: dict[Literal["$in", "$nin"], list[str | int | float | bool]] = {"$in": list(values)}
    return {key: choices}


def store_for(settings: Settings) -> VectorStore:
    """The server when BOT_CHROMA_URL is set, else the embedded store."""
    return ServerStore(settings, settings.chroma_url) if settings.chroma_url else EmbeddedStore(settings)
