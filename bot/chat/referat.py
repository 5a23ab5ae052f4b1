"""The Referat's corpus status: every document, whether the index serves it, and check's findings.

The chat shows it, as Markdown, to the role referat (the gap report is bot/chat/report.py).
"""

from __future__ import annotations

import datetime as dt
import logging

from bot.config import Settings
from bot.pipeline.corpus import check_corpus, load_corpus
from bot.pipeline.index import read_manifest
from bot.pipeline.markdown import cell

log = logging.getLogger(__name__)
REFERAT_PAGE = "/referat"  # the Referat's view in the browser (bot/chat/referat_api.py)


def corpus_status_markdown(settings: Settings, today: dt.date | None = None) -> str:
    """Every document with its status and dates, whether the index serves it, and check's findings."""
    today = today or dt.date.today()
    load = load_corpus(settings.corpus_dir)
    manifest = read_manifest(settings.index_dir)
    indexed = manifest.documents if manifest else {}
    built_at = manifest.built_at if manifest else ""
    rows = [
        "### Korpus-Status",
        f"Index gebaut: {built_at or 'noch nie'} · {len(indexed)} Dokumente im Index",
        "",
        "| Dokument | Status | Stand | gültig | im Index |",
        "|---|---|---|---|---|",
    ]
    for doc in sorted(load.documents, key=lambda d: d.id):
        m = doc.meta
        valid = f"ab {m.gueltig_ab}" + (f" bis {m.gueltig_bis}" if m.gueltig_bis else "")
        if doc.id not in indexed:
            served = "nein" if not doc.is_active(today) else "nein – `python -m bot index` fehlt"
        elif indexed[doc.id] == doc.sha256:
            served = "ja, aktuell"
        else:
            served = "ältere Fassung – `python -m bot index` fehlt"
        rows.append(f"| {cell(m.titel)} (`{doc.id}`) | {m.status} | {m.stand} | {valid} | {served} |")
    rows += ["", f"Dokumente hochladen, prüfen, freigeben und zurückziehen: im Browser unter {REFERAT_PAGE}"]
    errors, warnings, _ = check_corpus(settings.corpus_dir)
    rows += ["", "**Prüfung (`python -m bot check`)**"]
    rows += [f"- Fehler: {cell(e)}" for e in errors] + [f"- Hinweis: {cell(w)}" for w in warnings] or [
        "- keine Befunde"
    ]
    return "\n".join(rows)
