"""The Referat's views: the knowledge-gap report and the corpus status, gathered from disk.

The CLI prints them (`report`, `check`); the chat shows them, as Markdown, to the role referat.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging

from bot import throttle
from bot.audit import AuditLog
from bot.config import Settings
from bot.corpus import check_corpus, load_corpus
from bot.errors import BotError
from bot.feedback import FeedbackLog
from bot.index import read_manifest
from bot.markdown import cell
from bot.report import GapReport, build_report

log = logging.getLogger(__name__)


def gap_report(settings: Settings, since: dt.date | None = None, until: dt.date | None = None) -> GapReport:
    """The report over a time range, from the audit, the feedback, the current index and the
    chat database's sign-in failures. Not for a running event loop (the chat calls it in a thread)."""
    manifest = read_manifest(settings.index_dir) or {"documents": {}}
    try:
        signins = asyncio.run(throttle.summary(settings, since, until))
    except BotError as exc:
        log.warning("Anmeldungen nicht im Bericht: %s", exc)
        signins = None
    return build_report(
        AuditLog(settings.data_dir).read(),
        FeedbackLog(settings.data_dir).read(),
        sorted(manifest["documents"]),
        since,
        until,
        signins,
    )


def corpus_status_markdown(settings: Settings, today: dt.date | None = None) -> str:
    """Every document with its status and dates, whether the index serves it, and check's findings."""
    today = today or dt.date.today()
    load = load_corpus(settings.corpus_dir)
    manifest = read_manifest(settings.index_dir) or {"documents": {}, "built_at": None}
    indexed: dict[str, str] = manifest["documents"]
    rows = [
        "### Korpus-Status",
        f"Index gebaut: {manifest.get('built_at') or 'noch nie'} · {len(indexed)} Dokumente im Index",
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
    errors, warnings, _ = check_corpus(settings.corpus_dir)
    rows += ["", "**Prüfung (`python -m bot check`)**"]
    rows += [f"- Fehler: {cell(e)}" for e in errors] + [f"- Hinweis: {cell(w)}" for w in warnings] or [
        "- keine Befunde"
    ]
    return "\n".join(rows)
