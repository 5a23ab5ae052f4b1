"""Where the vectors live: one small interface over the embedded store and the Chroma server.

Embedded (the default): a PersistentClient per build folder; a new build starts as a copy of the
old folder. Server (BOT_CHROMA_URL): one collection per build on the shared `chroma run`; a new
build starts as a copy of the old collection's vectors. Either way the new build is written
beside the old one, and the manifest switches to it."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from urllib.parse import urlparse

from bot.config import Settings
from bot.errors import IndexMismatchError, IndexMissingError

COLLECTION = "passages"
log = logging.getLogger(__name__)


def _chroma_settings():
    from chromadb.config import Settings as ChromaSettings

    return ChromaSettings(anonymized_telemetry=False, allow_reset=False)


def langchain_store(client, embeddings, name: str):
    """LangChain's Chroma over one collection, for adding texts with their vectors."""
    from langchain_chroma import Chroma

    return Chroma(
        client=client,
        collection_name=name,
        embedding_function=embeddings,
        collection_metadata={"hnsw:space": "cosine"},
    )


class VectorStore:
    """The vectors of the index's builds; subclasses say where they are kept."""

    kind = ""

    def client(self, build_dir: Path):
        """The Chroma client that holds this build's vectors."""
        raise NotImplementedError

    def collection_name(self, build_id: str) -> str:
        """The name of this build's collection."""
        raise NotImplementedError

    def has_vectors(self, build_dir: Path | None) -> bool:
        """Whether an earlier build's vectors are still stored (and so can be carried over)."""
        raise NotImplementedError

    def carry_over(self, client, old_build: str, old_dir: Path, new_build: str, stale: set[str]) -> None:
        """Start the new build with the old build's vectors, without those of stale documents."""
        raise NotImplementedError

    def prepare(self, build_dir: Path, old_dir: Path | None) -> None:
        """Set up the new build's storage before its client opens (nothing by default)."""

    def discard(self, build_id: str, build_dir: Path) -> None:
        """Remove what a failed build left behind."""
        shutil.rmtree(build_dir, ignore_errors=True)

    def prune(self, client, keep: set[str]) -> None:
        """Drop vectors of builds that are no longer kept (folders go with the builds)."""


class EmbeddedStore(VectorStore):
    """Chroma persisted inside each build's folder (no server)."""

    kind = "local"

    def client(self, build_dir: Path):
        import chromadb

        return chromadb.PersistentClient(path=str(build_dir / "chroma"), settings=_chroma_settings())

    def collection_name(self, build_id: str) -> str:
        return COLLECTION

    def has_vectors(self, build_dir: Path | None) -> bool:
        return build_dir is not None and (build_dir / "chroma").is_dir()

    def prepare(self, build_dir: Path, old_dir: Path | None) -> None:
        if old_dir is not None:
            shutil.copytree(old_dir / "chroma", build_dir / "chroma")

    def carry_over(self, client, old_build: str, old_dir: Path, new_build: str, stale: set[str]) -> None:
        collection = client.get_collection(COLLECTION)  # the copied folder holds the old vectors
        for doc_id in stale:
            collection.delete(where={"doc_id": doc_id})


class ServerStore(VectorStore):
    """A shared Chroma server (`chroma run`), reached with HttpClient."""

    kind = "server"

    def __init__(self, url: str) -> None:
        self.url = url

    def client(self, build_dir: Path):
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

    def collection_name(self, build_id: str) -> str:
        return f"{COLLECTION}-{build_id}"

    def has_vectors(self, build_dir: Path | None) -> bool:
        return True  # the server keeps them; a missing collection fails loudly at the copy

    def carry_over(
        self, client, old_build: str, old_dir: Path, new_build: str, stale: set[str], page: int = 1000
    ) -> None:
        old = client.get_collection(self.collection_name(old_build))
        target = client.get_collection(self.collection_name(new_build))
        offset = 0
        while True:
            got = old.get(include=["embeddings", "documents", "metadatas"], limit=page, offset=offset)
            if not got["ids"]:
                return
            keep = [i for i, m in enumerate(got["metadatas"]) if m.get("doc_id") not in stale]
            if keep:
                target.add(
                    ids=[got["ids"][i] for i in keep],
                    embeddings=[got["embeddings"][i] for i in keep],
                    documents=[got["documents"][i] for i in keep],
                    metadatas=[got["metadatas"][i] for i in keep],
                )
            offset += page

    def discard(self, build_id: str, build_dir: Path) -> None:
        super().discard(build_id, build_dir)
        try:
            self.client(build_dir).delete_collection(self.collection_name(build_id))
        except Exception:  # the server may be what failed; the collection is then unreferenced
            log.warning("Unvollständige Sammlung %s nicht entfernt", build_id)

    def prune(self, client, keep: set[str]) -> None:
        wanted = {self.collection_name(b) for b in keep if b}
        for collection in client.list_collections():
            name = getattr(collection, "name", collection)
            if name.startswith(f"{COLLECTION}-") and name not in wanted:
                client.delete_collection(name)


def store_for(settings: Settings) -> VectorStore:
    """The server when BOT_CHROMA_URL is set, else the embedded store."""
    return ServerStore(settings.chroma_url) if settings.chroma_url else EmbeddedStore()
