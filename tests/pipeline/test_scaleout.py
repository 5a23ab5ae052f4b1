"""Scale-out on a real engine: the index in a Chroma server (`chroma run` on 127.0.0.1)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from bot.config import Settings
from bot.pipeline.index import build_index, open_index
from bot.pipeline.index.store import store_for
from tests.support import REPO, free_port, write_doc
from tests.support.chroma import chroma_server
from tests.support.index import expected_ids, stored_ids

QUESTION = "Darf ich Klientendaten in ChatGPT kopieren?"


@pytest.fixture(scope="module")
def chroma_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with chroma_server(tmp_path_factory.mktemp("chroma-server")) as url:
        yield url


def test_real_corpus_answers_from_the_chroma_server(chroma_url: str, embeddings, tmp_path: Path) -> None:
    from bot.pipeline.assistant import Assistant

    settings = Settings(corpus_dir=REPO / "corpus", index_dir=tmp_path / "index", chroma_url=chroma_url)
    build_index(settings, embeddings=embeddings)
    assistant = Assistant(settings, open_index(settings, embeddings))
    retrieval = assistant.retriever.search(QUESTION)
    assert retrieval.hits[0].passage.id == "grundsaetze-ki#datenschutz-und-sicherheit-1"
    assert retrieval.hits[0].dense > 0


def test_incremental_update_on_the_server_copies_unchanged_vectors(
    chroma_url: str, embeddings, tmp_path
) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(REPO / "corpus", corpus)
    settings = Settings(corpus_dir=corpus, index_dir=tmp_path / "index", chroma_url=chroma_url)
    first = build_index(settings, embeddings=embeddings)
    write_doc(corpus, "synthetisch", titel="Synthetische Zusatzregel", body="Synthetischer Testabsatz.")
    report = build_index(settings, embeddings=embeddings)
    assert (report.added, report.unchanged, report.passages) == (1, 5, first.passages + 1)
    index = open_index(settings, embeddings)
    ids = stored_ids(index)
    assert sorted(ids) == expected_ids(index) and len(ids) == index.manifest.total_vectors
    assert {p.id for p in index.passages if not p.is_outline} <= set(ids)  # outlines have no vectors


def test_the_index_answers_again_after_the_server_restarts(embeddings, tmp_path: Path) -> None:
    from bot.pipeline.assistant import Assistant

    data, port = tmp_path / "chroma", free_port()
    with chroma_server(data, port) as url:
        settings = Settings(
            corpus_dir=REPO / "corpus", index_dir=tmp_path / "index", chroma_url=url, audit=False
        )
        build_index(settings, embeddings=embeddings)
        assistant = Assistant(settings, open_index(settings, embeddings))
        before = assistant.ask(QUESTION).answer
    with chroma_server(data, port):
        after = assistant.ask(QUESTION).answer  # the running chat, its client reconnecting
        reopened = Assistant(settings, open_index(settings, embeddings)).ask(QUESTION).answer
    assert not before.abstained
    assert after.text == reopened.text == before.text


def test_indexes_sharing_a_server_keep_each_others_vectors(
    chroma_url: str, embeddings, tmp_path: Path
) -> None:
    first, second = (
        Settings(
            corpus_dir=tmp_path / name / "corpus", index_dir=tmp_path / name / "index", chroma_url=chroma_url
        )
        for name in ("erster", "zweiter")
    )
    write_doc(
        first.corpus_dir, "drohnen", titel="Synthetische Drohnenregel", body="Drohnen fliegen nur angemeldet."
    )
    build_index(first, embeddings=embeddings)
    builds = []
    for body in ("Erste Fassung.", "Zweite Fassung.", "Dritte Fassung."):  # builds come and go
        write_doc(second.corpus_dir, "fahrzeuge", titel="Synthetische Fahrzeugregel", body=body)
        build_index(second, embeddings=embeddings)
        builds.append(open_index(second, embeddings).manifest.build)
    for settings in (first, second):
        index = open_index(settings, embeddings)
        ids = stored_ids(index)
        assert sorted(ids) == expected_ids(index) and len(ids) == index.manifest.total_vectors > 0
    store = store_for(second)
    on_server = {c.name for c in store.client(second.index_dir).list_collections()}
    assert set(store.names(builds[0]).values()).isdisjoint(on_server)  # the second's oldest build went
    assert set(store.names(builds[1]).values()) <= on_server  # the previous one stays for readers


def test_an_embedded_index_moves_to_the_server_without_embedding_again(
    chroma_url: str, embeddings, tmp_path: Path
) -> None:
    from bot.pipeline.index import VectorKind

    local = Settings(corpus_dir=tmp_path / "corpus", index_dir=tmp_path / "index")
    write_doc(
        local.corpus_dir,
        "umzug",
        titel="Synthetische Umzugsregel",
        body="Kisten werden beschriftet. Sie sind blau.",
    )
    first = build_index(local, embeddings=embeddings)
    before = open_index(local, embeddings)
    served = local.model_copy(update={"chroma_url": chroma_url})
    report = build_index(served, embeddings=embeddings)
    assert (report.embedded, report.reused, report.vectors) == (0, first.embedded, first.vectors)
    after = open_index(served, embeddings)
    assert after.manifest.parameters.vector_store == "server"
    for kind in VectorKind:
        old, new = (i.vectors[kind].get(include=["embeddings"]) for i in (before, after))
        assert sorted(old["ids"]) == sorted(new["ids"])
        vectors = dict(zip(old["ids"], old["embeddings"], strict=True))
        for vector_id, vector in zip(new["ids"], new["embeddings"], strict=True):
            assert np.allclose(vector, vectors[vector_id], atol=1e-6)  # as stored, over HTTP
