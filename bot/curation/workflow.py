"""A document's way through the Referat: upload as a draft, edit, release with four eyes, withdraw,
restore an earlier version. Pure of any server: the chat's Referat view and tests call it alike.

Rules: only a draft or a withdrawn document is edited (the text staff are answered from never
changes without a release); a release needs a Referat member other than the one who wrote the
version released, when four eyes are on; releasing a document that `ersetzt` another withdraws
that one in the same step; a restored version comes back as a draft. Every step is one version in
the history (bot/curation/versions.py) and leaves the files as they were when it fails.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from bot.config import Settings
from bot.curation import fields
from bot.curation.importer import Converted as Imported
from bot.curation.importer import draft_text, free_target, front_matter
from bot.curation.intake import check_upload, clean_name, convert_bounded
from bot.curation.versions import Change, CorpusStore, sha256
from bot.errors import BotError, CorpusError
from bot.pipeline.chunking import slug
from bot.pipeline.corpus import MAX_DOCUMENT_BYTES, Document, check_corpus, parse_document, replaced_ids

EDITABLE = ("titel", "quelle", "verantwortlich", "stand", "gueltig_ab", "gueltig_bis", "ersetzt", "url")
DATES = ("stand", "gueltig_ab", "gueltig_bis")
FOUR_EYES = (
    "Vier-Augen-Prinzip: Diese Fassung haben Sie selbst geschrieben; freigeben muss sie ein anderes "
    "Mitglied des Referats."
)


class Conflict(BotError):
    """The step does not fit the document's state (already released, changed meanwhile, four eyes)."""


def four_eyes_on(mode: str, referat_accounts: int) -> bool:
    """Whether a release needs a second person: "on", "off", or "auto" (two accounts or more)."""
    return mode == "on" or (mode == "auto" and referat_accounts >= 2)


def _validated(doc_id: str, text: str) -> Document:
    """Parse a document's new text before it is written; CorpusError in German if invalid."""
    data = text.encode("utf-8")
    if len(data) > MAX_DOCUMENT_BYTES:
        raise CorpusError(
            f"Der Text ist mit {len(data) / 1e6:.1f} MB zu lang für ein Dokument "
            f"(höchstens {MAX_DOCUMENT_BYTES / 1e6:.0f} MB); bitte in mehrere Dokumente teilen."
        )
    with tempfile.TemporaryDirectory(prefix="bot-pruefung-") as folder:
        path = Path(folder) / f"{doc_id}.md"
        path.write_bytes(data)
        return parse_document(path)


def _upload_text(
    converted: Imported, meta: dict[str, object] | None, name: str, today: dt.date
) -> tuple[str, str]:
    """The draft's title and text: an uploaded corpus document keeps its front matter (as a draft)."""
    if meta is None:
        return draft_text(converted, name, today)
    kept = {k: v for k, v in meta.items() if v not in (None, [], {})}
    kept["status"] = "entwurf"
    for key in DATES:
        if isinstance(kept.get(key), str):
            kept[key] = dt.date.fromisoformat(str(kept[key]))
    return str(kept["titel"]), f"---\n{front_matter(kept)}---\n\n{converted.body}\n"


def upload(
    store: CorpusStore,
    settings: Settings,
    name: str,
    data: bytes,
    who: str,
    *,
    replaces: str | None = None,
    today: dt.date | None = None,
) -> Change:
    """A new draft from an uploaded file; UploadRefused or CorpusError and nothing stored when it
    is refused. `replaces`: the document this one is a new version of (field `ersetzt`)."""
    name = clean_name(name)
    if replaces:
        store.read(replaces)  # NotFound for a document that is not there
    with tempfile.TemporaryDirectory(prefix="bot-hochladen-") as folder:
        path = Path(folder) / f"upload{Path(name).suffix.lower()}"
        path.write_bytes(data)
        suffix = check_upload(name, data, path, settings)
        converted = convert_bounded(path, name, settings)
    title, text = _upload_text(
        Imported(converted.title, converted.body), converted.meta, name, today or dt.date.today()
    )
    if replaces:
        text = fields.set_fields(text, {"ersetzt": replaces})
    with store.locked():
        target = free_target(store.corpus_dir, slug(title))
        _validated(target.stem, text)
        summary = f"aus {name} hochgeladen" + (f", neue Fassung von {replaces}" if replaces else "")
        change = store.write(target.stem, text.encode("utf-8"), who, "hochgeladen", summary, status="entwurf")
        store.keep_original(target.stem, data, suffix)
    return change


@dataclass(frozen=True)
class Edit:
    """What the form sends: fields (None = leave, "" = remove), headings, and new wording if any."""

    base: str  # the sha256 of the version the person edited: a change meanwhile is a conflict
    values: Mapping[str, str | list[str] | None]
    headings: tuple[fields.Heading, ...] = ()
    body: str | None = None


def _typed(name: str, value: str | list[str]) -> object:
    """A form value as the front matter holds it: dates as dates, ersetzt as one id or a list."""
    if isinstance(value, list):
        ids = [v.strip() for v in value if v.strip()]
        return (ids[0] if len(ids) == 1 else ids) or None
    value = value.strip()
    if not value:
        return None
    if name in DATES:
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            raise CorpusError(f"„{name}“ ist kein gültiges Datum (JJJJ-MM-TT).") from None
    if name == "ersetzt" and "," in value:
        return [v.strip() for v in value.split(",") if v.strip()]
    return value


def _describe(
    updates: Mapping[str, object], old: Mapping[str, object], headings: int, body: bool
) -> tuple[str, dict[str, object]]:
    details: dict[str, object] = {}
    parts = []
    if updates:
        details["felder"] = {
            k: {"vorher": _plain(old.get(k)), "nachher": _plain(v)} for k, v in updates.items()
        }
        parts.append("Kopfdaten: " + ", ".join(updates))
    if headings:
        parts.append(f"{headings} Überschrift(en)")
    if body:
        parts.append("Wortlaut korrigiert")
    return "; ".join(parts), details


def _plain(value: object) -> object:
    return value.isoformat() if isinstance(value, dt.date) else value


def edit(store: CorpusStore, doc_id: str, who: str, change: Edit) -> Change | None:
    """Apply the form to a draft or withdrawn document; None when nothing changed."""
    with store.locked():
        data = store.read(doc_id)
        if sha256(data) != change.base:
            raise Conflict(
                "Das Dokument wurde inzwischen geändert; bitte neu laden und die Änderung wiederholen."
            )
        current = parse_document(store.path(doc_id))
        if current.meta.status == "freigegeben":
            raise Conflict(
                "Eine freigegebene Fassung wird nicht bearbeitet: bitte erst zurückziehen oder eine neue "
                "Fassung hochladen."
            )
        text = data.decode("utf-8-sig")
        old = current.meta.model_dump()
        wanted = {k: _typed(k, v) for k, v in change.values.items() if k in EDITABLE and v is not None}
        updates = {k: v for k, v in wanted.items() if v != old.get(k)}
        text = fields.set_fields(text, updates) if updates else text
        parts = fields.split(text)
        body = fields.set_headings(parts.body, list(change.headings))
        changed_headings = sum(1 for h in change.headings if h not in fields.headings(parts.body))
        new_body = change.body is not None and change.body.strip() != body.strip()
        if new_body and change.body is not None:
            body = (
                parts.newline
                + change.body.strip().replace("\r\n", "\n").replace("\n", parts.newline)
                + parts.newline
            )
        new_text = "".join(parts.front) + body
        if new_text == data.decode("utf-8-sig"):
            return None
        _validated(doc_id, new_text)
        summary, details = _describe(updates, old, changed_headings, new_body)
        if new_body:
            details["wortlaut"] = _line_diff(parts.body, body)
        return store.write(
            doc_id,
            new_text.encode("utf-8"),
            who,
            "bearbeitet",
            summary,
            status=current.meta.status,
            details=details,
        )


def _line_diff(before: str, after: str) -> str:
    import difflib

    lines = difflib.unified_diff(
        before.splitlines(), after.splitlines(), "vorher", "nachher", lineterm="", n=1
    )
    return "\n".join(list(lines)[:200])


def release(
    store: CorpusStore,
    settings: Settings,
    doc_id: str,
    who: str,
    *,
    four_eyes: bool,
    base: str | None = None,
    today: dt.date | None = None,
) -> list[Change]:
    """Release a draft or withdrawn document (status: freigegeben) and withdraw the documents it
    replaces; Conflict when four eyes are missing, the check finds errors, or it is out of date."""
    today = today or dt.date.today()
    with store.locked():
        data = store.read(doc_id)
        if base is not None and sha256(data) != base:
            raise Conflict("Das Dokument wurde inzwischen geändert; bitte die neue Fassung prüfen.")
        doc = parse_document(store.path(doc_id))
        if doc.meta.status == "freigegeben":
            raise Conflict("Dieses Dokument ist schon freigegeben.")
        author = store.author(doc_id)
        if four_eyes and author == who:
            raise Conflict(FOUR_EYES)
        if doc.meta.gueltig_bis is not None and doc.meta.gueltig_bis < today:
            raise Conflict(
                f"Das Dokument galt nur bis {doc.meta.gueltig_bis:%d.%m.%Y}; bitte „gültig bis“ prüfen."
            )
        errors, _, _ = check_corpus(store.corpus_dir)
        mine = [e for e in errors if e.startswith(f"{doc_id}.md:")]
        if mine:
            raise Conflict(f"Die Prüfung meldet noch einen Fehler: {mine[0]}")
        version = store.current_version(doc_id)
        text = fields.set_fields(data.decode("utf-8-sig"), {"status": "freigegeben"})
        what = f"Text der Fassung {version} geprüft und freigegeben" if version else "geprüft und freigegeben"
        details = {"fassung": version, "verfasst_von": author, "vier_augen": four_eyes}
        done = [
            store.write(
                doc_id, text.encode("utf-8"), who, "freigegeben", what, status="freigegeben", details=details
            )
        ]
        for old_id in replaced_ids(doc):
            done += _withdraw_replaced(store, old_id, doc_id, who)
        return done


def _withdraw_replaced(store: CorpusStore, old_id: str, new_id: str, who: str) -> list[Change]:
    path = store.path(old_id)
    if not path.is_file() or parse_document(path).meta.status != "freigegeben":
        return []
    text = fields.set_fields(path.read_bytes().decode("utf-8-sig"), {"status": "archiviert"})
    return [
        store.write(
            old_id, text.encode("utf-8"), who, "ersetzt", f"durch {new_id} ersetzt", status="archiviert"
        )
    ]


def withdraw(store: CorpusStore, doc_id: str, who: str) -> Change:
    """Withdraw a released document or a draft (status: archiviert); it is no longer answered from."""
    with store.locked():
        data = store.read(doc_id)
        doc = parse_document(store.path(doc_id))
        if doc.meta.status == "archiviert":
            raise Conflict("Dieses Dokument ist schon zurückgezogen.")
        text = fields.set_fields(data.decode("utf-8-sig"), {"status": "archiviert"})
        was = "Freigabe" if doc.meta.status == "freigegeben" else "Entwurf"
        return store.write(
            doc_id, text.encode("utf-8"), who, "zurückgezogen", f"{was} zurückgezogen", status="archiviert"
        )


def restore(store: CorpusStore, doc_id: str, who: str, version: int) -> Change:
    """Bring back an earlier version, as a draft; a released document must be withdrawn first."""
    with store.locked():
        doc = parse_document(store.path(doc_id))
        if doc.meta.status == "freigegeben":
            raise Conflict(
                "Eine freigegebene Fassung wird nicht überschrieben: bitte erst zurückziehen, dann "
                "wiederherstellen und erneut freigeben lassen."
            )
        old = store.version_text(doc_id, version).decode("utf-8-sig")
        text = fields.set_fields(old, {"status": "entwurf"})
        _validated(doc_id, text)
        summary = f"Fassung {version} als Entwurf wiederhergestellt"
        return store.write(doc_id, text.encode("utf-8"), who, "wiederhergestellt", summary, status="entwurf")
