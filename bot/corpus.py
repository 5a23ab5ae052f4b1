"""Read and validate the Markdown policy documents (front matter + body) under corpus/."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import frontmatter
import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

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

    def is_active(self, today: dt.date) -> bool:
        """Released by a human and valid on the given day."""
        m = self.meta
        if m.status != "freigegeben" or m.gueltig_ab > today:
            return False
        return m.gueltig_bis is None or m.gueltig_bis >= today


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
        raise CorpusError(f"{path.name}: Die Datei ist leer.")
    if size > MAX_DOCUMENT_BYTES:
        raise CorpusError(
            f"{path.name}: Die Datei ist mit {size / 1e6:.1f} MB zu groß "
            f"(höchstens {MAX_DOCUMENT_BYTES / 1e6:.0f} MB)."
        )
    return path.read_bytes()


def _format_validation(path: Path, error: ValidationError) -> str:
    parts = []
    for e in error.errors():
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
    return f"{path.name}: Fehler in den Kopfdaten: " + "; ".join(parts) + "."


def parse_document(path: Path) -> Document:
    """Read one document; raises CorpusError with a German message naming the file."""
    raw = _read_text(path)
    if b"\x00" in raw:
        raise CorpusError(f"{path.name}: Das ist keine Textdatei (Binärdaten).")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CorpusError(
            f"{path.name}: Die Datei ist nicht UTF-8-kodiert (Byte {exc.start}). "
            "Bitte als UTF-8 speichern."
        ) from exc
    if not text.lstrip().startswith("---"):
        raise CorpusError(f"{path.name}: Die Kopfdaten (--- … ---) am Dateianfang fehlen.")
    try:
        post = frontmatter.loads(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" (Zeile {mark.line + 1})" if mark is not None else ""
        raise CorpusError(f"{path.name}: Die Kopfdaten sind kein gültiges YAML{line}.") from exc
    try:
        meta = FrontMatter.model_validate(dict(post.metadata))
    except ValidationError as exc:
        raise CorpusError(_format_validation(path, exc)) from exc
    body = post.content
    if not body.strip():
        raise CorpusError(f"{path.name}: Der Dokumenttext unter den Kopfdaten ist leer.")
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


def load_corpus(corpus_dir: Path) -> CorpusLoad:
    """Read every document; a broken one is reported, the rest are kept."""
    documents, problems = [], []
    for path in document_paths(corpus_dir):
        try:
            documents.append(parse_document(path))
        except CorpusError as exc:
            problems.append(str(exc))
        except OSError as exc:
            problems.append(f"{path.name}: Die Datei kann nicht gelesen werden ({exc.strerror}).")
    return CorpusLoad(documents, problems)


def load_synonyms(corpus_dir: Path) -> list[list[str]]:
    """Groups of terms that mean the same (corpus/_synonyme.yml); empty when the file is absent."""
    path = corpus_dir / SYNONYM_FILE
    if not path.is_file():
        return []
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise CorpusError(f"{SYNONYM_FILE}: Die Datei ist kein gültiges YAML in UTF-8.") from exc
    groups = data.get("gruppen", []) if isinstance(data, dict) else None
    if not isinstance(groups, list) or not all(
        isinstance(g, list) and all(isinstance(t, str) for t in g) for g in groups
    ):
        raise CorpusError(
            f"{SYNONYM_FILE}: Erwartet wird „gruppen:“ mit Listen von Begriffen, z. B. "
            "- [KI, künstliche Intelligenz, AI]."
        )
    return [[t.strip() for t in g if t.strip()] for g in groups if len(g) > 1]


def synonyms_sha256(corpus_dir: Path) -> str:
    """Hash of the synonym file, part of what the lexical index depends on."""
    path = corpus_dir / SYNONYM_FILE
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else ""
