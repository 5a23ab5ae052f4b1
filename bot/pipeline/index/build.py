"""Bring the index up to date: plan what changes, write the new build beside the old, switch."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import logging
import shutil
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from bot.config import Settings
from bot.errors import IndexMismatchError
from bot.locks import exclusive
from bot.pipeline.chunking import Passage, cut_passages
from bot.pipeline.corpus import load_corpus, load_synonyms, synonyms_sha256
from bot.pipeline.german import words
from bot.pipeline.index.manifest import (
    BUILDS,
    MANIFEST,
    PASSAGES,
    BuildParameters,
    Manifest,
    build_parameters,
    old_passages,
    read_manifest,
    write_json,
)
from bot.pipeline.index.plan import BuildPlan, plan_build
from bot.pipeline.index.store import EmbeddedStore, VectorStore, store_for
from bot.pipeline.index.vectors import Progress, VectorKind, vector_records
from bot.pipeline.index.writer import Written, write_vectors

if TYPE_CHECKING:
    from chromadb.api import ClientAPI

    from bot.pipeline.embeddings import Embedder

log = logging.getLogger(__name__)


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
    embedded: int = 0  # distinct texts embedded in this run
    reused: int = 0  # distinct texts of new or changed documents whose vector the index held
    vectors: int = 0  # vectors stored in all collections
    embedding_s: float = 0.0  # time spent embedding and storing the new vectors

    @property
    def texts_per_s(self) -> float:
        """Embedding throughput of this run (texts embedded per second of embedding)."""
        return self.embedded / self.embedding_s if self.embedding_s else 0.0


def check_embeddings(settings: Settings, embeddings: Embedder | None) -> None:
    """A model handed in (to share one across indexes) must be the one the settings describe."""
    if embeddings is None:
        return
    from bot.pipeline.embeddings import model_identity

    if embeddings.identity != model_identity(settings):
        raise IndexMismatchError(
            "Das übergebene Embedding-Modell passt nicht zu BOT_EMBEDDER, BOT_MODEL_PATH und BOT_QUANTIZE."
        )


def _usable_manifest(index_dir: Path, rebuild: bool) -> Manifest | None:
    """The old manifest to build on; none for a rebuild or when it cannot be read."""
    if rebuild:
        return None
    try:
        return read_manifest(index_dir)
    except IndexMismatchError:
        return None


def vocabulary(passages: list[Passage], synonyms: list[list[str]]) -> list[str]:
    """Every word of the passages, their keywords and questions, and the synonyms: the lexical
    analyzer's vocabulary (typo correction and compounds look words up in it)."""
    texts = [p.context_text() for p in passages]
    texts += [t for p in passages for t in (*p.keywords, *p.questions)]
    texts += [t for group in synonyms for t in group]
    return sorted({w for text in texts for w in words(text)})


@dataclass(frozen=True)
class _Build:
    """One build being written: its id and folder, and the one it replaces."""

    id: str
    folder: Path
    old_id: str | None
    old_folder: Path | None
    old_store: VectorStore | None  # where the old build's vectors are (embedded, when moving to a server)
    parameters: BuildParameters
    synonyms_hash: str


@dataclass(frozen=True)
class _Written:
    """A build written beside the old one, not yet switched to."""

    client: ClientAPI
    counts: dict[VectorKind, int]
    vectors: Written


def _served_build(index_dir: Path) -> str | None:
    """The build the manifest names even when it is not built on (`--rebuild`, an unreadable or
    older manifest): a chat may still read it, so it stays until the next run."""
    try:
        data = json.loads((index_dir / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    build = data.get("build") if isinstance(data, dict) else None
    return build if isinstance(build, str) and (index_dir / BUILDS / build).is_dir() else None


def _store_of(old: Manifest | None, store: VectorStore, settings: Settings) -> VectorStore | None:
    """The store that holds the old build's vectors: this one, or the embedded folders an index
    moving to a Chroma server leaves behind (a server's, without its address, is out of reach)."""
    if old is None:
        return None
    if old.parameters.vector_store == store.kind:
        return store
    return EmbeddedStore(settings) if old.parameters.vector_store == EmbeddedStore.kind else None


def _known_elsewhere(
    store: VectorStore, folder: Path, build_id: str, hashes: set[str]
) -> dict[str, np.ndarray]:
    """The same model's vectors of an old build with other parameters, by text hash; none when
    they cannot be read (then everything is embedded, as on a first run)."""
    try:
        return store.known(store.client(folder), build_id, hashes)
    except Exception:  # Chroma's and SQLite's errors vary; reading old vectors is only a saving
        log.warning("Vektoren des alten Builds %s nicht lesbar; alles wird neu eingebettet", build_id, exc_info=True)
        return {}


def _write_build(
    settings: Settings,
    store: VectorStore,
    build: _Build,
    plan: BuildPlan,
    passages: list[Passage],
    synonyms: list[list[str]],
    embeddings: Embedder | None,
    progress: Progress | None,
) -> _Written:
    """Vectors and passages of the new build. Whatever fails, the half-written build is removed
    and the old one keeps serving."""
    try:
        build.folder.mkdir(parents=True)
        old_id = build.old_id if plan.reusable else None  # the build whose vectors carry over
        store.prepare(build.folder, build.old_folder if old_id else None)
        client = store.client(build.folder)
        collections = store.create(client, build.id)
        records = vector_records([p for p in passages if plan.embeds(p.doc_id)])
        known: dict[str, np.ndarray] = {}
        if old_id is not None:
            known = store.known(client, old_id, {r.hash for r in records})
            store.carry_over(client, old_id, build.id, plan.stale)
        elif plan.same_model and build.old_id and build.old_folder and build.old_store:
            known = _known_elsewhere(
                build.old_store, build.old_folder, build.old_id, {r.hash for r in records}
            )

        def model() -> Embedder:
            from bot.pipeline.embeddings import load_embeddings

            return embeddings or load_embeddings(settings)

        written = write_vectors(
            collections, records, known, model, max(1, settings.embed_batch_size), progress
        )
        counts = {kind: collection.count() for kind, collection in collections.items()}
        write_json(
            build.folder / PASSAGES,
            {
                "passages": [dataclasses.asdict(p) for p in passages],
                "vocabulary": vocabulary(passages, synonyms),
                "synonyms": synonyms,
            },
        )
        return _Written(client, counts, written)
    except BaseException:
        store.discard(build.id, build.folder)
        raise


def build_index(
    settings: Settings,
    *,
    rebuild: bool = False,
    today: dt.date | None = None,
    progress: Progress | None = None,
    embeddings: Embedder | None = None,
) -> IndexReport:
    """Bring the index up to date with the released, valid documents.

    Unchanged documents keep their vectors; changed, new, withdrawn and expired ones are
    re-embedded or removed with all their passages (a text the index already holds is not
    embedded again). The new state is built beside the old one and switched in by replacing
    manifest.json, so a run that dies leaves the old index serving. An unchanged corpus is
    skipped without loading the model.
    """
    started = time.perf_counter()
    check_embeddings(settings, embeddings)
    today = today or dt.date.today()
    index_dir = settings.index_dir
    store = store_for(settings)
    with exclusive(index_dir / ".lock"):  # a second index run waits for the first
        loaded = load_corpus(settings.corpus_dir)
        active = [d for d in loaded.documents if d.is_active(today)]
        synonyms = load_synonyms(settings.corpus_dir)
        synonyms_hash = synonyms_sha256(settings.corpus_dir)
        old = _usable_manifest(index_dir, rebuild)
        served = old.build if old else _served_build(index_dir)  # stays for the chat reading it
        old_folder = index_dir / BUILDS / served if served else None
        old_store = _store_of(old, store, settings)
        parameters = build_parameters(settings)
        plan = plan_build(
            old,
            {d.id: d.sha256 for d in active},
            loaded.broken,
            parameters,
            synonyms_hash,
            old_vectors=old_store is not None and old_store.has_vectors(old_folder),
        )
        if plan.skip and old is not None:
            seconds = time.perf_counter() - started
            return IndexReport(
                0,
                0,
                0,
                plan.unchanged,
                old.passages,
                loaded.problems,
                seconds,
                True,
                vectors=old.total_vectors,
            )
        passages = [p for d in active for p in cut_passages(d, settings.max_passage_chars)]
        passages += old_passages(old_folder, set(plan.kept)) if plan.kept else []
        build_id = f"{dt.datetime.now():%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:6]}"
        build = _Build(
            build_id, index_dir / BUILDS / build_id, served, old_folder, old_store, parameters, synonyms_hash
        )
        written = _write_build(settings, store, build, plan, passages, synonyms, embeddings, progress)
        _switch(index_dir, store, written, build, plan, len(passages))
        return IndexReport(
            added=len(plan.new),
            updated=len(plan.changed),
            deleted=len(plan.removed),
            unchanged=plan.unchanged,
            passages=len(passages),
            problems=loaded.problems,
            seconds=time.perf_counter() - started,
            skipped_build=False,
            embedded=written.vectors.embedded,
            reused=written.vectors.reused,
            vectors=sum(written.counts.values()),
            embedding_s=written.vectors.embedding_s,
        )


def _switch(
    index_dir: Path, store: VectorStore, written: _Written, build: _Build, plan: BuildPlan, passages: int
) -> None:
    """Point the manifest at the new build and all its collections; the previous build stays for
    a chat process that still reads it, older ones go."""
    manifest = Manifest(
        build=build.id,
        parameters=build.parameters,
        documents=plan.documents,
        synonyms=build.synonyms_hash,
        corpus_hash=hashlib.sha256(json.dumps(plan.documents, sort_keys=True).encode()).hexdigest(),
        passages=passages,
        collections=store.names(build.id),
        vectors=written.counts,
        built_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    )
    write_json(index_dir / MANIFEST, manifest.to_json())
    keep = {build.id, build.old_id}
    dropped = [folder for folder in (index_dir / BUILDS).iterdir() if folder.name not in keep]
    try:  # the new build serves already: tidying up must not fail the run
        store.prune(written.client, [folder.name for folder in dropped])
    except Exception:  # the server's errors vary; the folders stay, so the next run tries again
        log.warning(
            "Alte Builds %s nicht entfernt; der nächste Lauf versucht es erneut", [f.name for f in dropped]
        )
        return
    for folder in dropped:
        shutil.rmtree(folder, ignore_errors=True)
