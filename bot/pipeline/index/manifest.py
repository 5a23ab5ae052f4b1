"""The index on disk: manifest.json names the current build; each build folder holds its passages.

Files are replaced atomically (written beside, fsynced, renamed), so a reader sees the old state
or the new one, never half of either."""

from __future__ import annotations

import json
import os
from pathlib import Path

from bot.config import Settings
from bot.errors import IndexMismatchError
from bot.pipeline.chunking import CHUNKING_VERSION, Passage
from bot.pipeline.german import ANALYZER_VERSION

MANIFEST = "manifest.json"
PASSAGES = "passages.json"
BUILDS = "builds"
FORMAT = 3  # 2: sentence vectors (kind 'satz'); 3: outlines have none


def build_parameters(settings: Settings) -> dict[str, object]:
    """Everything an index depends on besides the corpus; a mismatch at load is refused."""
    from bot.pipeline.embeddings import model_identity

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


def write_json(path: Path, data: object) -> None:
    """Replace a file atomically with this JSON."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        json.dump(data, handle, ensure_ascii=False)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def passage_from(record: dict) -> Passage:
    """A passage as a build's passages.json stores it."""
    for key in ("headings", "questions", "keywords", "parts"):
        record[key] = tuple(record.get(key, ()))
    return Passage(**record)


def old_passages(build_dir: Path | None, doc_ids: set[str]) -> list[Passage]:
    """The passages of some documents as a previous build stored them."""
    if build_dir is None or not (build_dir / PASSAGES).is_file():
        return []
    data = json.loads((build_dir / PASSAGES).read_text(encoding="utf-8"))
    return [passage_from(r) for r in data["passages"] if r["doc_id"] in doc_ids]
