"""What the Referat's view shows of the corpus: each document's row, and one document in full –
as it will be quoted (its passages under their headings), the check's findings beside the passage
they concern, its history, and its wording's difference to the document it replaces.

Plain data (dicts of strings and numbers) for the JSON API; the page shows every value as text.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from collections.abc import Mapping
from dataclasses import asdict
from typing import Any

from bot.curation import fields
from bot.curation.drafting import draft_sections
from bot.curation.proposals import pending
from bot.curation.versions import Change, CorpusStore
from bot.pipeline.chunking import cut_passages
from bot.pipeline.corpus import Document, check_corpus, load_corpus, replaced_ids

MAX_DIFF_TOKENS = 20_000
TOKEN = re.compile(r"\w+|[^\w\s]+|\s+")  # words, punctuation and spaces apart: "Genehmigung" ≠ "Genehmigung."
FINDING = re.compile(r"^(?P<file>[^:]+\.md):(?P<line>\d+): (?P<text>.*)$", re.S)

IndexState = str  # "im Index", "wird aktualisiert", "wird entfernt", "nicht im Index"


def index_state(doc: Document, indexed: Mapping[str, str], today: dt.date) -> IndexState:
    """Whether staff are answered from this version, soon will be, or are not."""
    active = doc.is_active(today)
    if active and indexed.get(doc.id) == doc.sha256:
        return "im Index"
    if active:
        return "wird aktualisiert"
    return "wird entfernt" if doc.id in indexed else "nicht im Index"


def _fragen_count(doc: Document) -> int:
    fragen = doc.meta.fragen
    return len(fragen) if isinstance(fragen, list) else sum(len(v) for v in fragen.values())


def _last(changes: list[Change]) -> dict[str, Any] | None:
    return (
        {"who": changes[-1].who, "time": changes[-1].time, "summary": changes[-1].summary}
        if changes
        else None
    )


def rows(
    store: CorpusStore,
    indexed: Mapping[str, str],
    selfchecks: Mapping[str, dict[str, Any]],
    max_chars: int,
    today: dt.date,
) -> list[dict[str, Any]]:
    """Every document as a row of the list: status, dates, version, sections, questions, the
    self-check figure, whether the index serves it, and its last change."""
    loaded = load_corpus(store.corpus_dir)
    waiting = pending(store)
    history: dict[str, list[Change]] = {}
    for change in store.changes():
        history.setdefault(change.document, []).append(change)
    out = []
    for doc in sorted(loaded.documents, key=lambda d: d.id):
        m = doc.meta
        versions = [c for c in history.get(doc.id, []) if c.version is not None]
        check = selfchecks.get(doc.id)
        out.append(
            {
                "id": doc.id,
                "titel": m.titel,
                "status": m.status,
                "stand": m.stand.isoformat(),
                "gueltig_ab": m.gueltig_ab.isoformat(),
                "gueltig_bis": m.gueltig_bis.isoformat() if m.gueltig_bis else None,
                "ersetzt": m.ersetzt,
                "version": versions[-1].version if versions and versions[-1].sha256 == doc.sha256 else None,
                "sha256": doc.sha256,
                "abschnitte": len(draft_sections(doc, max_chars)),
                "fragen": _fragen_count(doc),
                "selbsttest": {**check, "aktuell": check.get("sha256") == doc.sha256} if check else None,
                "index": index_state(doc, indexed, today),
                "vorschlag": doc.id in waiting,
                "geaendert": _last(history.get(doc.id, [])),
            }
        )
    for doc_id in loaded.broken:
        out.append({"id": doc_id, "titel": doc_id, "status": "fehlerhaft", "index": "nicht im Index"})
    return out


def findings(corpus_problems: tuple[list[str], list[str]], doc_id: str) -> list[dict[str, Any]]:
    """The check's errors and warnings about one document, with their line."""
    errors, warnings = corpus_problems
    out = []
    for kind, messages in (("fehler", errors), ("hinweis", warnings)):
        for message in messages:
            match = FINDING.match(message)
            if match and match.group("file") == f"{doc_id}.md":
                out.append({"art": kind, "zeile": int(match.group("line")), "text": match.group("text")})
    return out


def passages_with_findings(doc: Document, found: list[dict[str, Any]], max_chars: int) -> dict[str, Any]:
    """The document's passages as they will be quoted, each with the findings on its lines; the
    findings above the text (front matter) apart."""
    passages = [p for p in cut_passages(doc, max_chars) if not p.is_outline]
    starts = [p.line for p in passages]
    placed: list[list[dict[str, Any]]] = [[] for _ in passages]
    head: list[dict[str, Any]] = []
    for finding in found:
        if finding["zeile"] < doc.body_start_line or not passages:
            head.append(finding)
            continue
        index = max((i for i, start in enumerate(starts) if start <= finding["zeile"]), default=0)
        placed[index].append(finding)
    return {
        "kopfdaten": head,
        "abschnitte": [
            {"id": p.id, "ueberschriften": list(p.headings), "text": p.text, "zeile": p.line, "befunde": f}
            for p, f in zip(passages, placed, strict=True)
        ],
    }


def word_diff(before: str, after: str) -> list[list[str]]:
    """The wording's difference as [op, text] pieces: op "=" kept, "-" gone, "+" new (by words)."""
    old, new = TOKEN.findall(before), TOKEN.findall(after)
    if len(old) + len(new) > MAX_DIFF_TOKENS:
        return [["-", before], ["+", after]]
    out: list[list[str]] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, old, new, autojunk=False).get_opcodes():
        if op == "equal":
            out.append(["=", "".join(old[i1:i2])])
        else:
            if i2 > i1:
                out.append(["-", "".join(old[i1:i2])])
            if j2 > j1:
                out.append(["+", "".join(new[j1:j2])])
    return out


def replaced_diffs(doc: Document, documents: Mapping[str, Document]) -> list[dict[str, Any]]:
    """For each document this one replaces (`ersetzt`): the difference of the wording."""
    out = []
    for old_id in replaced_ids(doc):
        old = documents.get(old_id)
        if old is None:
            out.append({"id": old_id, "fehlt": True, "diff": []})
        else:
            out.append(
                {"id": old_id, "titel": old.meta.titel, "diff": word_diff(old.body.strip(), doc.body.strip())}
            )
    return out


def detail(
    store: CorpusStore, doc_id: str, indexed: Mapping[str, str], max_chars: int, today: dt.date
) -> dict[str, Any]:
    """One document in full for the view; raises NotFound, or CorpusError for a broken file."""
    raw = store.read(doc_id).decode("utf-8-sig", errors="replace")
    loaded = load_corpus(store.corpus_dir)
    documents = {d.id: d for d in loaded.documents}
    errors, warnings, _ = check_corpus(store.corpus_dir)
    found = findings((errors, warnings), doc_id)
    changes = store.changes(doc_id)
    base = {"id": doc_id, "text": raw, "historie": [asdict(c) for c in reversed(changes)], "befunde": found}
    doc = documents.get(doc_id)
    if doc is None:
        return {**base, "status": "fehlerhaft"}
    versions = [c for c in changes if c.version is not None]
    meta = doc.meta.model_dump(mode="json")
    return {
        **base,
        "status": doc.meta.status,
        "sha256": doc.sha256,
        "kopfdaten": meta,
        "version": versions[-1].version if versions and versions[-1].sha256 == doc.sha256 else None,
        "verfasst_von": store.author(doc_id),
        "index": index_state(doc, indexed, today),
        "ueberschriften": [asdict(h) for h in fields.headings(fields.split(raw).body)],
        "vorschau": passages_with_findings(doc, found, max_chars),
        "ersetzt_vergleich": replaced_diffs(doc, documents),
        "ersetzt_von": sorted(d.id for d in loaded.documents if doc_id in replaced_ids(d)),
    }
