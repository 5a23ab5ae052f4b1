"""Docs that cannot drift: the settings, commands and modules listed in README.md and
docs/architecture.md are the ones the code defines."""

from __future__ import annotations

import shutil
from pathlib import Path

from bot.cli.docs import DOCUMENTS, REPO, settings_table, stale_documents
from bot.config import Settings


def test_the_generated_lists_match_the_code() -> None:
    assert stale_documents() == [], "bitte `python -m bot docs` ausführen"


def test_every_setting_is_listed_with_its_variable_default_and_description() -> None:
    table = settings_table()
    for name, field in Settings.model_fields.items():
        row = next(line for line in table.splitlines() if line.startswith(f"| `BOT_{name.upper()}` |"))
        assert field.description and " ".join(field.description.split())[:30] in row, name
    assert "| `BOT_TOP_K` | `5` |" in table and "| `BOT_LLM` | – |" in table


def test_a_changed_default_or_a_lost_block_is_found(tmp_path: Path) -> None:
    for name in DOCUMENTS:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO / name, tmp_path / name)
    assert stale_documents(tmp_path) == []
    readme = tmp_path / "README.md"
    readme.write_text(
        readme.read_text(encoding="utf-8").replace("| `BOT_TOP_K` | `5` |", "| `BOT_TOP_K` | `7` |")
    )
    assert stale_documents(tmp_path) == ["README.md"]
    architecture = tmp_path / "docs" / "architecture.md"
    text = architecture.read_text(encoding="utf-8")
    architecture.write_text(text[: text.index("<!-- generiert: module -->")])
    assert stale_documents(tmp_path) == ["README.md", "docs/architecture.md"]
