"""The self-check of one document for the Referat's view, and its last figure kept beside the history.

The same check as `python -m bot check --quality` (bot/curation/selfcheck.py), limited to one
document. A draft or withdrawn document is checked as if it were released, in a copy of the corpus:
the real corpus and index are never touched. The figure is kept with the document's hash, so the
view can say when it no longer describes the text.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

from bot.config import Settings
from bot.curation.selfcheck import run_selfcheck
from bot.curation.versions import CorpusStore, write_atomically
from bot.jsonl import now
from bot.pipeline.corpus import Document, parse_document

CACHE_FILE = "selbsttest.json"


@contextmanager
def _as_released(settings: Settings, doc: Document) -> Iterator[Settings]:
    """Settings over a copy of the corpus in which this document is released."""
    with tempfile.TemporaryDirectory(prefix="bot-selbsttest-entwurf-") as folder:
        corpus = Path(folder) / "corpus"
        corpus.mkdir()
        for path in [*settings.corpus_dir.glob("*.md"), *settings.corpus_dir.glob("_*.yml")]:
            shutil.copy(path, corpus / path.name)
        trial = corpus / doc.path.name
        text = trial.read_text(encoding="utf-8-sig")
        trial.write_text(re.sub(r"(?m)^status:.*$", "status: freigegeben", text, count=1), encoding="utf-8")
        yield settings.model_copy(update={"corpus_dir": corpus})


def cached(store: CorpusStore) -> dict[str, dict[str, Any]]:
    """The last figure of every document checked so far."""
    path = store.folder / CACHE_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def check_document(
    store: CorpusStore, settings: Settings, doc_id: str, embeddings: Any = None, today: dt.date | None = None
) -> dict[str, Any]:
    """Run the self-check for one document and keep its figure; returns it."""
    doc = parse_document(store.path(doc_id))
    day = max(today or dt.date.today(), doc.meta.gueltig_ab)
    if doc.is_active(day):
        result = run_selfcheck(settings, embeddings=embeddings, documents=[doc_id], today=day)
    else:
        with _as_released(settings, doc) as trial:
            result = run_selfcheck(trial, embeddings=embeddings, documents=[doc_id], today=day)
    documents = cast(list[dict[str, Any]], result.to_json()["documents"])
    mine = [d for d in documents if d["document"] == doc_id]
    record = {
        "sha256": doc.sha256,
        "time": now(),
        "als_entwurf": doc.meta.status != "freigegeben",
        **(mine[0] if mine else {"questions": 0, "first": 0, "answered": 0, "hit@1": None, "sections": []}),
    }
    with store.locked():
        every = cached(store)
        every[doc_id] = record
        write_atomically(store.folder / CACHE_FILE, json.dumps(every, ensure_ascii=False).encode("utf-8"))
    return record
