"""Shared fixtures: the real corpus, indexed once per test session with the real packaged model."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bot.config import Settings

REPO = Path(__file__).resolve().parent.parent
os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="session")
def embeddings():
    """The real packaged model (all-MiniLM-L6-v2), loaded once for the whole session."""
    from bot.embeddings import LocalEmbeddings

    return LocalEmbeddings(Settings().resolved_model_path())


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
