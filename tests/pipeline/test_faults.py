"""Faults: a killed index run leaves the previous index serving; concurrent runs are serialised."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bot.config import Settings
from bot.ops.bench import generate_corpus
from bot.pipeline.index import BUILDS, build_index, open_index, read_manifest
from tests.support import REPO, bot_env
from tests.support.index import expected_ids, stored_ids

QUESTION = "Muss ich Inhalte kennzeichnen, die mit KI erstellt wurden?"


def _index_process(settings: Settings) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "bot", "index", "--json"],
        cwd=REPO,
        env=bot_env(settings),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.fixture
def served(tmp_path: Path, embeddings) -> Settings:
    corpus = tmp_path / "corpus"
    shutil.copytree(REPO / "corpus", corpus)
    settings = Settings(corpus_dir=corpus, index_dir=tmp_path / "index")
    build_index(settings, embeddings=embeddings)
    return settings


def test_sigkill_during_index_leaves_the_previous_index_serving(served: Settings, embeddings) -> None:
    from bot.pipeline.assistant import Assistant

    before_manifest = read_manifest(served.index_dir)
    before = Assistant(served, open_index(served, embeddings)).ask(QUESTION).answer
    generate_corpus(served.corpus_dir, 300)  # synthetic documents: minutes of embedding
    process = _index_process(served)
    builds = served.index_dir / BUILDS
    deadline = time.monotonic() + 60
    while len(list(builds.iterdir())) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(3)  # well into embedding
    assert process.poll() is None, "the run ended before it could be killed"
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)

    assert read_manifest(served.index_dir) == before_manifest
    after = Assistant(served, open_index(served, embeddings)).ask(QUESTION).answer
    assert after.text == before.text
    assert [s.passage.id for s in after.sources] == [s.passage.id for s in before.sources]

    report = build_index(served, embeddings=embeddings)
    assert report.added == 300 and report.unchanged == 5
    assert len(list(builds.iterdir())) <= 2, "the killed run's half-written build is cleaned up"


def test_two_index_runs_at_once_are_serialised(served: Settings, embeddings) -> None:
    for path in served.corpus_dir.glob("*.md"):
        if not path.name.startswith("_") and path.name != "README.md":
            path.write_text(path.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    first, second = _index_process(served), _index_process(served)
    outputs = [p.communicate(timeout=300) for p in (first, second)]
    assert [p.returncode for p in (first, second)] == [0, 0], outputs
    summaries = sorted(out for out, _ in outputs)
    assert '"updated": 5' in summaries[0] + summaries[1]
    assert '"unchanged": 5' in summaries[0] + summaries[1], "the second run saw the first run's result"
    index = open_index(served, embeddings)
    ids = stored_ids(index)
    assert sorted(ids) == expected_ids(index) and len(ids) == index.manifest.total_vectors
