"""Scale-out on a real engine: the index in a Chroma server (`chroma run` on 127.0.0.1)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bot.config import Settings
from bot.pipeline.index import build_index, open_index
from tests.support import REPO, free_port, write_doc


@pytest.fixture(scope="module")
def chroma_url(tmp_path_factory: pytest.TempPathFactory):
    chroma = Path(sys.executable).with_name("chroma")
    if not chroma.exists():
        pytest.skip("chroma CLI not installed in this environment")
    port = free_port()
    data = tmp_path_factory.mktemp("chroma-server")
    server = subprocess.Popen(
        [str(chroma), "run", "--path", str(data), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            time.sleep(0.2)
    else:
        server.kill()
        pytest.fail("chroma run did not start within 30 s")
    yield f"http://127.0.0.1:{port}"
    server.terminate()
    server.wait(timeout=10)


def test_real_corpus_answers_from_the_chroma_server(chroma_url: str, embeddings, tmp_path: Path) -> None:
    from bot.pipeline.assistant import Assistant

    settings = Settings(corpus_dir=REPO / "corpus", index_dir=tmp_path / "index", chroma_url=chroma_url)
    build_index(settings, embeddings=embeddings)
    assistant = Assistant(settings, open_index(settings, embeddings))
    retrieval = assistant.retriever.search("Darf ich Klientendaten in ChatGPT kopieren?")
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
    ids = index.store.get()["ids"]
    assert len(ids) == len(set(ids)) == index.manifest["vectors"]
    assert {p.id for p in index.passages if not p.is_outline} <= set(ids)  # outlines have no vectors
