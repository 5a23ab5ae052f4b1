"""Read and validate the Markdown policy documents (front matter + body) under corpus/."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import frontmatter
import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator, model_validator

from bot.errors import CorpusError

MAX_DOCUMENT_BYTES = 2_000_000
SYNONYM_FILE = "_synonyme.yml"

Status = Literal["freigegeben", "entwurf", "archiviert"]
# Example questions and keywords: a list for the whole document, or a mapping
# from a section heading to the list for the passages under that heading.
Vocabulary = list[str] | dict[str, list[str]]


class FrontMatter(BaseModel):
    """The front matter every corpus document carries; unknown fields are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    titel: str
    quelle: str
    verantwortlich: str
    stand: dt.date
    gueltig_ab: dt.date
    gueltig_bis: dt.date | None = None
    status: Status
    url: str | None = None
    fragen: Vocabulary = []
    stichworte: Vocabulary = []
    ersetzt: str | list[str] | None = None
    offizielle_kontakte: bool = False

    @model_validator(mode="after")
    def _dates_in_order(self) -> FrontMatter:
        if self.gueltig_bis is not None and self.gueltig_bis < self.gueltig_ab:
            raise ValueError("gueltig_bis liegt vor gueltig_ab")
        return self

    @field_validator("titel", "quelle", "verantwortlich")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("darf nicht leer sein")
        return value.strip()


@dataclass(frozen=True)
class Document:
    """One corpus document: its id (file name without .md), metadata and Markdown body."""

    id: str
    path: Path
    meta: FrontMatter
    body: str
    body_start_line: int
    sha256: str = field(repr=False)

    def in_force(self, day: dt.date) -> bool:
        """Valid on the given day (gueltig_ab to gueltig_bis), whatever its status."""
        m = self.meta
        return m.gueltig_ab <= day and (m.gueltig_bis is None or m.gueltig_bis >= day)

    def is_active(self, today: dt.date) -> bool:
        """Released by a human and valid on the given day."""
        return self.meta.status == "freigegeben" and self.in_force(today)


def document_paths(corpus_dir: Path) -> list[Path]:
    """The Markdown documents of the corpus, sorted; README and files starting with _ are not documents."""
    if not corpus_dir.is_dir():
        raise CorpusError(f"Der Korpus-Ordner {corpus_dir} fehlt. Bitte BOT_CORPUS_DIR prüfen.")
    return sorted(
        p
        for p in corpus_dir.glob("*.md")
        if p.is_file() and not p.name.startswith("_") and p.name.lower() != "readme.md"
    )


def _read_text(path: Path) -> bytes:
    size = path.stat().st_size
    if size == 0:
        raise CorpusError("Die Datei ist leer.", path.name, 1)
    if size > MAX_DOCUMENT_BYTES:
        raise CorpusError(
            f"Die Datei ist mit {size / 1e6:.1f} MB zu groß (höchstens {MAX_DOCUMENT_BYTES / 1e6:.0f} MB).",
            path.name,
            1,
        )
    return path.read_bytes()


def _field_line(text: str, field: str) -> int:
    """Line of a front-matter field, for messages (2 when it is missing)."""
    match = re.search(rf"^{re.escape(field)}\s*:", text, flags=re.MULTILINE)
    return text[: match.start()].count("\n") + 1 if match else 2


def _bad_date_line(text: str) -> int:
    """Line of the first impossible YYYY-MM-DD date in the text."""
    for number, line in enumerate(text.splitlines(), 1):
        for y, m, d in re.findall(r"(\d{4})-(\d{2})-(\d{2})", line):
            try:
                dt.date(int(y), int(m), int(d))
            except ValueError:
                return number
    return 2


def _validation_error(path: Path, text: str, error: ValidationError) -> CorpusError:
    parts = []
    first_line = None
    for e in error.errors():
        if first_line is None and e["loc"]:
            first_line = _field_line(text, str(e["loc"][0]))
        where = ".".join(str(x) for x in e["loc"]) or "Kopfdaten"
        if e["type"] == "extra_forbidden":
            parts.append(f"unbekanntes Feld „{where}“")
        elif e["type"] == "missing":
            parts.append(f"Pflichtfeld „{where}“ fehlt")
        elif e["type"] == "literal_error":
            parts.append(f"„{where}“ muss freigegeben, entwurf oder archiviert sein")
        elif "date" in e["type"]:
            parts.append(f"„{where}“ ist kein gültiges Datum (JJJJ-MM-TT)")
        else:
            parts.append(f"„{where}“: {e['msg']}")
    return CorpusError("Fehler in den Kopfdaten: " + "; ".join(parts) + ".", path.name, first_line or 2)


def parse_document(path: Path) -> Document:
    """Read one document; raises CorpusError with a German message naming the file."""
    raw = _read_text(path)
    if b"\x00" in raw:
        raise CorpusError("Das ist keine Textdatei (Binärdaten).", path.name, 1)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise CorpusError(
            f"Die Datei ist nicht UTF-8-kodiert (Byte {exc.start}). Bitte als UTF-8 speichern.",
            path.name,
            line,
        ) from exc
    if not text.lstrip().startswith("---"):
        raise CorpusError("Die Kopfdaten (--- … ---) am Dateianfang fehlen.", path.name, 1)
    try:
        post = frontmatter.loads(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 2 if mark is not None else 1  # +1 for counting from 1, +1 for the opening ---
        raise CorpusError(
            "Die Kopfdaten sind kein gültiges YAML "
            "(Tipp: Werte mit Doppelpunkt in Anführungszeichen setzen).",
            path.name,
            line,
        ) from exc
    except ValueError as exc:  # PyYAML builds dates itself and fails on 2026-13-45
        raise CorpusError(
            "Fehler in den Kopfdaten: ein Datum ist ungültig (JJJJ-MM-TT).", path.name, _bad_date_line(text)
        ) from exc
    try:
        meta = FrontMatter.model_validate(dict(post.metadata))
    except ValidationError as exc:
        raise _validation_error(path, text, exc) from exc
    body = post.content
    if not body.strip():
        raise CorpusError("Der Dokumenttext unter den Kopfdaten ist leer.", path.name, text.count("\n") + 1)
    head_lines = text[: text.find(body[:40])].count("\n") if body else 0
    return Document(
        id=path.stem,
        path=path,
        meta=meta,
        body=body,
        body_start_line=head_lines + 1,
        sha256=hashlib.sha256(raw).hexdigest(),
    )


@dataclass(frozen=True)
class CorpusLoad:
    """The documents that could be read, and one German message per file that could not."""

    documents: list[Document]
    problems: list[str]
    broken: list[str] = field(default_factory=list)  # ids of the files that could not be read


def load_corpus(corpus_dir: Path) -> CorpusLoad:
    """Read every document; a broken one is reported, the rest are kept."""
    documents, problems, broken = [], [], []
    for path in document_paths(corpus_dir):
        try:
            documents.append(parse_document(path))
            continue
        except CorpusError as exc:
            problems.append(str(exc))
        except OSError as exc:
            problems.append(f"{path.name}:1: Die Datei kann nicht gelesen werden ({exc.strerror}).")
        broken.append(path.stem)
    return CorpusLoad(documents, problems, broken)


def load_synonyms(corpus_dir: Path) -> list[list[str]]:
    """Groups of terms that mean the same (corpus/_synonyme.yml); empty when the file is absent."""
    path = corpus_dir / SYNONYM_FILE
    if not path.is_file():
        return []
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise CorpusError("Die Datei ist kein gültiges YAML in UTF-8.", SYNONYM_FILE, 1) from exc
    groups = data.get("gruppen", []) if isinstance(data, dict) else None
    if not isinstance(groups, list) or not all(
        isinstance(g, list) and all(isinstance(t, str) for t in g) for g in groups
    ):
        raise CorpusError(
            "Erwartet wird „gruppen:“ mit Listen von Begriffen, z. B. - [KI, künstliche Intelligenz, AI].",
            SYNONYM_FILE,
            1,
        )
    return [[t.strip() for t in g if t.strip()] for g in groups if len(g) > 1]


def synonyms_sha256(corpus_dir: Path) -> str:
    """Hash of the synonym file, part of what the lexical index depends on."""
    path = corpus_dir / SYNONYM_FILE
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else ""


HEADING_LINE = re.compile(r"^(#{1,6})\s+\S")


def _empty_sections(doc: Document) -> list[int]:
    """Lines of headings with no text before the next heading of the same or a higher level."""
    lines = doc.body.splitlines()
    empty = []
    for i, line in enumerate(lines):
        match = HEADING_LINE.match(line)
        if not match:
            continue
        level = len(match.group(1))
        for following in lines[i + 1 :]:
            nxt = HEADING_LINE.match(following)
            if nxt and len(nxt.group(1)) <= level:
                empty.append(doc.body_start_line + i)
                break
            if following.strip() and not nxt:
                break
        else:
            empty.append(doc.body_start_line + i)
    return empty


def replaced_ids(doc: Document) -> list[str]:
    """The documents this one replaces (its field `ersetzt`)."""
    target = doc.meta.ersetzt
    return [target] if isinstance(target, str) else list(target or [])


def _one_replaces_other(a: Document, b: Document) -> bool:
    return b.id.casefold() in {t.casefold() for t in replaced_ids(a)} or a.id.casefold() in {
        t.casefold() for t in replaced_ids(b)
    }


def check_corpus(corpus_dir: Path) -> tuple[list[str], list[str], int]:
    """Lint the corpus: (errors, warnings, documents read), each message as `file:line: Meldung`."""
    from bot.pipeline.privacy import find_personal_data

    loaded = load_corpus(corpus_dir)
    errors, warnings = list(loaded.problems), []
    try:
        load_synonyms(corpus_dir)
    except CorpusError as exc:
        errors.append(str(exc))
    titles: dict[str, Document] = {}
    ids = {d.id.casefold(): d for d in loaded.documents}
    for doc in loaded.documents:
        name = doc.path.name
        key = doc.meta.titel.casefold()
        # A new version (`ersetzt`) may keep the title of the document it replaces.
        if key in titles and not _one_replaces_other(doc, titles[key]):
            errors.append(f"{name}:2: Der Titel „{doc.meta.titel}“ steht schon in {titles[key].path.name}.")
        titles.setdefault(key, doc)
        if sum(1 for d in loaded.documents if d.id.casefold() == doc.id.casefold()) > 1:
            errors.append(f"{name}:1: Die Dokument-ID „{doc.id}“ gibt es mehrfach (Groß-/Kleinschreibung).")
        for number in _empty_sections(doc):
            errors.append(f"{name}:{number}: Leerer Abschnitt: Unter dieser Überschrift steht kein Text.")
        for target in replaced_ids(doc):
            if target.casefold() not in ids:
                warnings.append(f"{name}:2: „ersetzt: {target}“ verweist auf kein Dokument im Korpus.")
        if not doc.meta.offizielle_kontakte:
            for offset, line in enumerate(doc.body.splitlines()):
                for finding in find_personal_data(line):
                    errors.append(
                        f"{name}:{doc.body_start_line + offset}: Personenbezogene Daten ({finding.kind}) "
                        "im Text. Entfernen oder – bei dienstlichen Kontaktdaten – "
                        "„offizielle_kontakte: true“ setzen."
                    )
        if doc.meta.status == "entwurf":
            warnings.append(f"{name}:2: Entwurf – wird erst nach Freigabe (status: freigegeben) verwendet.")
    return errors, warnings, len(loaded.documents)
