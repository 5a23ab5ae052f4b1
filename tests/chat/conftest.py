"""Fixtures of the chat's tests: the chat database, on SQLite and on a real PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import Settings
from tests.support.database import run, sql


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.slow)])
def db_settings(request, tmp_path: Path) -> Settings:
    """Settings whose chat history lives in SQLite under data_dir, or in a real PostgreSQL."""
    if request.param == "sqlite":
        return Settings(data_dir=tmp_path / "data")
    url = request.getfixturevalue("postgres_url")
    settings = Settings(data_dir=tmp_path / "data", database_url=url)
    tables = ("feedbacks", "elements", "steps", "threads", "users", "signin_counts", "signin_failures")
    run(sql(settings, *(f"DELETE FROM {t}" for t in tables)))
    return settings
