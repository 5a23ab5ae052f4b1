"""Turn PDF, DOCX, HTML and TXT files into Markdown drafts (status: entwurf) for the corpus."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from bot.errors import CorpusError
from bot.pipeline.chunking import slug

MAX_IMPORT_BYTES = 20_000_000
SUFFIXES = {".pdf", ".docx", ".html", ".htm", ".txt", ".md"}
BULLETS = re.compile(r"^\s*[•·▪‣◦\-–*]\s+")


@dataclass(frozen=True)
class ImportResult:
    """One imported file: where its draft was written and what it contains."""

    source: Path
    target: Path
    title: str
    headings: int
    characters: int


def _paragraphs_from_lines(text: str) -> str:
    """Plain text to Markdown paragraphs: hyphenation undone, bullets made list items."""
    text = re.sub(r"(\w)-\n(\w)", r"\1\2", text.replace("\r\n", "\n"))
    blocks = [b.strip() for b in re.split(r"\n\s*\n", text) if b.strip()]
    out = []
    for block in blocks:
        lines = [ln.strip() for ln in block.splitlines() if ln.strip()]
        if all(BULLETS.match(ln) for ln in lines):
            out.append("\n".join(BULLETS.sub("- ", ln) for ln in lines))
        else:
            out.append(" ".join(lines))
    return "\n\n".join(out)


def _from_txt(path: Path) -> tuple[str | None, str]:
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("cp1252", errors="replace")
    return None, _paragraphs_from_lines(text)


def _from_pdf(path: Path) -> tuple[str | None, str]:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(path)
        pages = [page.extract_text() or "" for page in reader.pages]
    except (PdfReadError, ValueError, KeyError) as exc:
        raise CorpusError(
            "Das PDF kann nicht gelesen werden (beschädigt oder verschlüsselt).", path.name
        ) from exc
    title = (reader.metadata.title if reader.metadata else None) or None
    return title, _paragraphs_from_lines("\n\n".join(pages))


def _from_docx(path: Path) -> tuple[str | None, str]:
    import docx
    from docx.opc.exceptions import PackageNotFoundError

    try:
        document = docx.Document(str(path))
    except (PackageNotFoundError, KeyError, ValueError) as exc:
        raise CorpusError(
            "Die Word-Datei kann nicht gelesen werden (kein gültiges .docx).", path.name
        ) from exc
    title, parts = document.core_properties.title or None, []
    for para in document.paragraphs:
        text = para.text.strip()
        if not text:
            continue
        style = (para.style.name or "").lower() if para.style is not None else ""
        level = re.search(r"(?:heading|überschrift)\s*(\d)", style)
        if style == "title":
            title = title or text
            continue
        if level:
            parts.append(f"{'#' * min(int(level.group(1)) + 1, 6)} {text}")
        elif "list" in style or "liste" in style or BULLETS.match(text):
            parts.append(f"- {BULLETS.sub('', text)}")
        else:
            parts.append(text)
    body = "\n\n".join(parts)
    return title, re.sub(r"(^- .*)\n\n(?=- )", r"\1\n", body, flags=re.MULTILINE)


def _from_html(path: Path) -> tuple[str | None, str]:
    from bs4 import BeautifulSoup
    from markdownify import markdownify

    soup = BeautifulSoup(path.read_bytes(), "html.parser")
    for tag in soup(["script", "style", "nav", "header", "footer", "aside", "form", "noscript", "iframe"]):
        tag.decompose()
    title = soup.title.get_text(strip=True) if soup.title else None
    main = soup.find("main") or soup.find("article") or soup.body or soup
    markdown = markdownify(str(main), heading_style="ATX", bullets="-", strip=["a", "img"])
    markdown = re.sub(r"\n{3,}", "\n\n", markdown).strip()
    # Page headings become sections below the document title.
    markdown = re.sub(r"^# ", "## ", markdown, flags=re.MULTILINE)
    return title, markdown


READERS = {
    ".pdf": _from_pdf,
    ".docx": _from_docx,
    ".html": _from_html,
    ".htm": _from_html,
    ".txt": _from_txt,
    ".md": _from_txt,
}


def free_target(corpus_dir: Path, stem: str) -> Path:
    """A file name in the corpus that does not exist yet: an import never overwrites."""
    target = corpus_dir / f"{stem}.md"
    n = 2
    while target.exists():
        target = corpus_dir / f"{stem}-{n}.md"
        n += 1
    return target


class _PlainDumper(yaml.SafeDumper):
    """Writes every value out: no `&id001` anchors when two fields share a date."""

    def ignore_aliases(self, data: object) -> bool:
        return True


def front_matter(meta: dict[str, object]) -> str:
    """Front-matter fields as YAML a person reads and edits (`---` lines not included)."""
    return yaml.dump(meta, Dumper=_PlainDumper, allow_unicode=True, sort_keys=False, width=10**6)


@dataclass(frozen=True)
class Converted:
    """A file's text as Markdown, with the title found in it (None when it names none)."""

    title: str | None
    body: str


def convert(path: Path) -> Converted:
    """Read one PDF/DOCX/HTML/TXT file as Markdown; raises CorpusError with a German sentence."""
    if not path.is_file():
        raise CorpusError("Die Datei gibt es nicht.", path.name)
    suffix = path.suffix.lower()
    if suffix not in READERS:
        raise CorpusError(
            f"Dieses Format wird nicht unterstützt ({suffix or 'ohne Endung'}). "
            "Möglich sind PDF, DOCX, HTML und TXT.",
            path.name,
        )
    size = path.stat().st_size
    if size == 0:
        raise CorpusError("Die Datei ist leer.", path.name)
    if size > MAX_IMPORT_BYTES:
        raise CorpusError(f"Die Datei ist mit {size / 1e6:.0f} MB zu groß (höchstens 20 MB).", path.name)
    title, body = READERS[suffix](path)
    body = body.strip()
    if not body:
        raise CorpusError(
            "In der Datei wurde kein Text gefunden (z. B. ein gescanntes PDF ohne Texterkennung).", path.name
        )
    return Converted(title, body)


def draft_text(converted: Converted, source_name: str, today: dt.date) -> tuple[str, str]:
    """The draft's title and file text: front matter prefilled (status: entwurf), then the body."""
    body = converted.body
    first_heading = re.search(r"^#{1,6}\s+(.+)$", body, flags=re.MULTILINE)
    title = (converted.title or (first_heading.group(1) if first_heading else Path(source_name).stem)).strip()
    meta = {
        "titel": title,
        "quelle": f"Import aus {source_name} am {today.isoformat()}",
        "verantwortlich": "Referat Digitalisierung, ASB NRW",
        "stand": today,
        "gueltig_ab": today,
        "status": "entwurf",
    }
    return title, f"---\n{front_matter(meta)}---\n\n{body}\n"


def import_file(path: Path, corpus_dir: Path, today: dt.date | None = None) -> ImportResult:
    """Convert one file into a Markdown draft in the corpus, front matter prefilled."""
    converted = convert(path)
    title, text = draft_text(converted, path.name, today or dt.date.today())
    corpus_dir.mkdir(parents=True, exist_ok=True)
    target = free_target(corpus_dir, slug(title))
    tmp = target.with_suffix(".md.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(target)
    body = converted.body
    return ImportResult(
        path, target, title, len(re.findall(r"^#{1,6} ", body, flags=re.MULTILINE)), len(body)
    )
