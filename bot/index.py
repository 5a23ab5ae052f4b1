"""Build, and load, the index: passages in Chroma (dense) and their German terms (lexical)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import fcntl
import hashlib
import json
import logging
import os
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import numpy as np

from bot.chunking import CHUNKING_VERSION, Passage, cut_passages, quote_units
from bot.config import Settings
from bot.corpus import load_corpus, load_synonyms, synonyms_sha256
from bot.errors import IndexMismatchError, IndexMissingError
from bot.german import ANALYZER_VERSION, Analyzer, words

MANIFEST = "manifest.json"
PASSAGES = "passages.json"
BUILDS = "builds"
COLLECTION = "passages"
FORMAT = 3  # 2: sentence vectors (kind 'satz'); 3: outlines have none
log = logging.getLogger(__name__)
NO_INDEX = "Kein Index gefunden. Bitte `python -m bot index` ausführen."
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class IndexReport:
    """What one `index` run did, in figures."""

    added: int
    updated: int
    deleted: int
    unchanged: int
    passages: int
    problems: list[str]
    seconds: float
    skipped_build: bool


def _check_embeddings(settings: Settings, embeddings) -> None:
    """A model handed in (to share one across indexes) must be the one the settings describe."""
    if embeddings is None:
        return
    from bot.embeddings import model_identity

    if getattr(embeddings, "identity", None) != model_identity(settings):
        raise IndexMismatchError(
            "Das übergebene Embedding-Modell passt nicht zu BOT_EMBEDDER, BOT_MODEL_PATH und BOT_QUANTIZE."
        )


def build_parameters(settings: Settings) -> dict[str, object]:
    """Everything an index depends on besides the corpus; a mismatch at load is refused."""
    from bot.embeddings import model_identity

    return {
        "format": FORMAT,
        "model": model_identity(settings),
        "max_passage_chars": settings.max_passage_chars,
        "chunking_version": CHUNKING_VERSION,
        "analyzer_version": ANALYZER_VERSION,
        "vector_store": "server" if settings.chroma_url else "local",
    }


def read_manifest(index_dir: Path) -> dict | None:
    """The current manifest, or None when there is no index."""
    path = index_dir / MANIFEST
    if not path.is_file():
        return None
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise IndexMismatchError(
            "Der Index ist beschädigt (manifest.json unlesbar). "
            "Bitte `python -m bot index --rebuild` ausführen."
        ) from exc
    if not isinstance(manifest, dict) or "parameters" not in manifest or "build" not in manifest:
        raise IndexMismatchError(
            "Der Ordner enthält keinen Index dieses Assistenten. "
            "Bitte `python -m bot index --rebuild` ausführen."
        )
    return manifest


@contextmanager
def _locked(index_dir: Path) -> Iterator[None]:
    """Serialise index runs: a second run waits for the first."""
    index_dir.mkdir(parents=True, exist_ok=True)
    with open(index_dir / ".lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _chroma_client(settings: Settings, build_dir: Path):
    """The embedded store of one build, or the shared Chroma server when BOT_CHROMA_URL is set."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    if settings.chroma_url:
        url = urlparse(settings.chroma_url)
        if not url.hostname:
            raise IndexMismatchError(f"BOT_CHROMA_URL ist keine gültige Adresse: {settings.chroma_url}")
        try:
            client = chromadb.HttpClient(
                host=url.hostname, port=url.port or 8000, ssl=url.scheme == "https", settings=chroma_settings
            )
            client.heartbeat()
        except Exception as exc:  # chromadb raises several transport errors; all mean "not reachable"
            raise IndexMissingError(
                f"Der Chroma-Server unter {settings.chroma_url} ist nicht erreichbar. Läuft `chroma run`?"
            ) from exc
        return client
    return chromadb.PersistentClient(path=str(build_dir / "chroma"), settings=chroma_settings)


def _collection_name(settings: Settings, build_id: str) -> str:
    """One collection per build on a shared server (switched by the manifest); one per folder locally."""
    return f"{COLLECTION}-{build_id}" if settings.chroma_url else COLLECTION


def _vector_store(client, embeddings, name: str = COLLECTION):
    from langchain_chroma import Chroma

    return Chroma(
        client=client,
        collection_name=name,
        embedding_function=embeddings,
        collection_metadata={"hnsw:space": "cosine"},
    )


def _copy_vectors(client, source: str, target, skip_docs: set[str], page: int = 1000) -> None:
    """Copy stored vectors between server collections, leaving out documents that change."""
    old = client.get_collection(source)
    offset = 0
    while True:
        got = old.get(include=["embeddings", "documents", "metadatas"], limit=page, offset=offset)
        if not got["ids"]:
            return
        keep = [i for i, m in enumerate(got["metadatas"]) if m.get("doc_id") not in skip_docs]
        if keep:
            target.add(
                ids=[got["ids"][i] for i in keep],
                embeddings=[got["embeddings"][i] for i in keep],
                documents=[got["documents"][i] for i in keep],
                metadatas=[got["metadatas"][i] for i in keep],
            )
        offset += page


def _drop_old_collections(settings: Settings, client, keep: set[str]) -> None:
    if not settings.chroma_url:
        return
    wanted = {_collection_name(settings, b) for b in keep if b}
    for collection in client.list_collections():
        name = getattr(collection, "name", collection)
        if name.startswith(f"{COLLECTION}-") and name not in wanted:
            client.delete_collection(name)


def _vocabulary(passages: list[Passage], synonyms: list[list[str]]) -> list[str]:
    texts = [p.context_text() for p in passages]
    texts += [t for p in passages for t in (*p.keywords, *p.questions)]
    texts += [t for group in synonyms for t in group]
    return sorted({w for text in texts for w in words(text)})


def _write_json(path: Path, data: object) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        json.dump(data, handle, ensure_ascii=False)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def _remove_old_builds(index_dir: Path, keep: set[str]) -> None:
    for build in (index_dir / BUILDS).iterdir():
        if build.name not in keep:
            shutil.rmtree(build, ignore_errors=True)


def sentence_id(passage_id: str, n: int) -> str:
    """The vector id of a passage's n-th quotable sentence (0-based, in quote_units order)."""
    return f"{passage_id}::satz-{n}"


def _vector_records(passages: list[Passage]) -> tuple[list[str], list[dict], list[str]]:
    """Texts, metadata and ids to embed: each passage in context, each of its example questions,
    and each sentence it can quote (after its heading, which says what the sentence is about)."""
    texts, metadatas, ids = [], [], []
    for p in passages:
        if p.is_outline:
            continue  # chosen through the passages it lists (retrieve._prefer_outline)
        texts.append(p.context_text())
        metadatas.append({"passage_id": p.id, "doc_id": p.doc_id, "kind": "text"})
        ids.append(p.id)
        for n, question in enumerate(p.questions, 1):
            texts.append(question)
            metadatas.append({"passage_id": p.id, "doc_id": p.doc_id, "kind": "frage"})
            ids.append(f"{p.id}::frage-{n}")
        where = p.headings[-1] if p.headings else p.title
        for n, sentence in enumerate(quote_units(p)):
            texts.append(f"{where}: {sentence}")
            metadatas.append({"passage_id": p.id, "doc_id": p.doc_id, "kind": "satz", "n": n})
            ids.append(sentence_id(p.id, n))
    return texts, metadatas, ids


def _embed_into(store, passages: list[Passage], batch: int, progress: Progress | None) -> None:
    texts, metadatas, ids = _vector_records(passages)
    for start in range(0, len(texts), batch):
        store.add_texts(
            texts[start : start + batch],
            metadatas=metadatas[start : start + batch],
            ids=ids[start : start + batch],
        )
        if progress:
            progress(min(start + batch, len(texts)), len(texts))


def build_index(
    settings: Settings,
    *,
    rebuild: bool = False,
    today: dt.date | None = None,
    progress: Progress | None = None,
    embeddings=None,
) -> IndexReport:
    """Bring the index up to date with the released, valid documents.

    Unchanged documents keep their vectors; changed, new, withdrawn and expired ones are
    re-embedded or removed with all their passages. The new state is built beside the old one
    and switched in by replacing manifest.json, so a run that dies leaves the old index serving.
    An unchanged corpus is skipped without loading the model.
    """
    started = time.perf_counter()
    _check_embeddings(settings, embeddings)
    today = today or dt.date.today()
    index_dir = settings.index_dir
    with _locked(index_dir):
        loaded = load_corpus(settings.corpus_dir)
        active = [d for d in loaded.documents if d.is_active(today)]
        synonyms = load_synonyms(settings.corpus_dir)
        synonyms_hash = synonyms_sha256(settings.corpus_dir)
        documents = {d.id: d.sha256 for d in active}
        parameters = build_parameters(settings)
        try:
            old = None if rebuild else read_manifest(index_dir)
        except IndexMismatchError:
            old = None
        old_build = index_dir / BUILDS / old["build"] if old else None
        # A released document that an edit broke keeps serving its last good version.
        kept = [d for d in loaded.broken if old and d in old["documents"]]
        kept_passages = _old_passages(old_build, set(kept)) if kept else []
        documents.update({d: old["documents"][d] for d in kept})
        reusable = (
            bool(old)
            and old["parameters"] == parameters
            and (settings.chroma_url is not None or (old_build / "chroma").is_dir())
        )
        old_docs: dict[str, str] = old["documents"] if reusable else {}
        new_ids = [d for d in documents if d not in old_docs]
        changed_ids = [d for d, h in documents.items() if d in old_docs and old_docs[d] != h]
        gone_ids = [d for d in old_docs if d not in documents]
        unchanged = len(documents) - len(new_ids) - len(changed_ids)
        if reusable and not (new_ids or changed_ids or gone_ids) and old.get("synonyms") == synonyms_hash:
            return IndexReport(
                0,
                0,
                0,
                unchanged,
                old["passages"],
                loaded.problems,
                time.perf_counter() - started,
                skipped_build=True,
            )

        passages = [p for d in active for p in cut_passages(d, settings.max_passage_chars)] + kept_passages
        build_id = f"{dt.datetime.now():%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:6]}"
        build_dir = index_dir / BUILDS / build_id
        try:
            build_dir.mkdir(parents=True)
            if reusable and not settings.chroma_url:
                shutil.copytree(old_build / "chroma", build_dir / "chroma")
            to_embed = set(new_ids) | set(changed_ids)
            client = _chroma_client(settings, build_dir)
            if (to_embed or not reusable) and embeddings is None:
                from bot.embeddings import load_embeddings

                embeddings = load_embeddings(settings)
            name = _collection_name(settings, build_id)
            store = _vector_store(client, embeddings, name)
            collection = client.get_collection(name)
            stale = {*changed_ids, *gone_ids}
            if reusable and settings.chroma_url:
                _copy_vectors(client, _collection_name(settings, old["build"]), collection, stale)
            else:
                for doc_id in stale:
                    collection.delete(where={"doc_id": doc_id})
            fresh = [p for p in passages if p.doc_id in to_embed or not reusable]
            _embed_into(store, fresh, max(1, settings.embed_batch_size), progress)
            vectors = collection.count()
            _write_json(
                build_dir / PASSAGES,
                {
                    "passages": [dataclasses.asdict(p) for p in passages],
                    "vocabulary": _vocabulary(passages, synonyms),
                    "synonyms": synonyms,
                },
            )
        except BaseException:
            shutil.rmtree(build_dir, ignore_errors=True)
            if settings.chroma_url:
                try:
                    _chroma_client(settings, build_dir).delete_collection(
                        _collection_name(settings, build_id)
                    )
                except Exception:  # the server may be what failed; the collection is then unreferenced
                    log.warning("Unvollständige Sammlung %s nicht entfernt", build_id)
            raise
        _write_json(
            index_dir / MANIFEST,
            {
                "build": build_id,
                "parameters": parameters,
                "documents": documents,
                "synonyms": synonyms_hash,
                "corpus_hash": hashlib.sha256(json.dumps(documents, sort_keys=True).encode()).hexdigest(),
                "passages": len(passages),
                "vectors": vectors,
                "built_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            },
        )
        # The previous build stays for a chat process that still reads it; older ones go.
        keep = {build_id, old["build"] if old else ""}
        _remove_old_builds(index_dir, keep)
        _drop_old_collections(settings, client, keep)
        return IndexReport(
            added=len(new_ids),
            updated=len(changed_ids),
            deleted=len(gone_ids),
            unchanged=unchanged,
            passages=len(passages),
            problems=loaded.problems,
            seconds=time.perf_counter() - started,
            skipped_build=False,
        )


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


def _old_passages(build_dir: Path | None, doc_ids: set[str]) -> list[Passage]:
    """The passages of some documents as a previous build stored them."""
    if build_dir is None or not (build_dir / PASSAGES).is_file():
        return []
    data = json.loads((build_dir / PASSAGES).read_text(encoding="utf-8"))
    return [_passage(r) for r in data["passages"] if r["doc_id"] in doc_ids]


def _passage(record: dict) -> Passage:
    for key in ("headings", "questions", "keywords", "parts"):
        record[key] = tuple(record.get(key, ()))
    return Passage(**record)


def open_index(settings: Settings, embeddings=None) -> LoadedIndex:
    """Open the current index; refuses one built with another model or passage settings."""
    from bot.lexical import LexicalIndex

    _check_embeddings(settings, embeddings)
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
        passages = [_passage(r) for r in data["passages"]]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise IndexMismatchError(
            "Der Index ist unvollständig oder beschädigt. Bitte `python -m bot index --rebuild` ausführen."
        ) from exc
    if embeddings is None:
        from bot.embeddings import load_embeddings

        embeddings = load_embeddings(settings)
    client = _chroma_client(settings, build_dir)
    name = _collection_name(settings, manifest["build"])
    try:
        collection = client.get_collection(name)
    except Exception as exc:  # missing collection: NotFoundError / ValueError depending on the client
        raise IndexMismatchError(
            "Der Index ist unvollständig (Vektoren fehlen). Bitte `python -m bot index --rebuild` ausführen."
        ) from exc
    store = _vector_store(client, embeddings, name)
    analyzer = Analyzer(data["vocabulary"], data["synonyms"])
    lexical = LexicalIndex.build(passages, analyzer)
    return LoadedIndex(manifest, passages, store, lexical, embeddings, collection)
