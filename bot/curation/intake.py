"""What an upload must pass before it becomes a draft: size, content that matches the name,
Word files that unpack to a sane size, and a conversion bounded in time and memory.

The conversion (bot/curation/importer.py) runs in a process of its own with limits on its
address space and CPU time and a wall-clock timeout: a PDF that makes the parser loop or a
decompression bomb stops that process, never the chat. The process prints one JSON object.
Run as `python -m bot.curation.intake FILE NAME` it is that process.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from bot.config import Settings
from bot.errors import BotError

Refusal = Literal["too_large", "wrong_type", "unreadable"]
SUFFIXES = (".pdf", ".docx", ".html", ".htm", ".md", ".txt")
FORMATS = "PDF, Word (.docx), HTML, Markdown oder Text"
MAX_NAME_CHARS = 120
MAX_ZIP_ENTRIES = 2000
REPO = Path(__file__).resolve().parents[2]
# Magic numbers of files that are never text, and what to call them.
BINARY = {
    b"%PDF-": "ein PDF",
    b"PK\x03\x04": "ein ZIP-Archiv (z. B. eine Word-Datei)",
    b"\xd0\xcf\x11\xe0": "eine alte Office-Datei (.doc/.xls)",
    b"\x89PNG": "ein Bild",
    b"\xff\xd8\xff": "ein Bild",
    b"GIF8": "ein Bild",
    b"\x7fELF": "ein Programm",
    b"MZ": "ein Programm",
}
HTML_TAG = re.compile(
    rb"<\s*(?:!doctype\s+html|html|head|body|main|article|p|div|h[1-6]|ul|ol|table)\b", re.I
)


class UploadRefused(BotError):
    """An upload that is not taken; the message is one German sentence, nothing was stored."""

    def __init__(self, message: str, kind: Refusal) -> None:
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True)
class Converted:
    """What the conversion process found: a title (or None), the Markdown body, and the front
    matter of an uploaded corpus document (Markdown with `---`), if it had one."""

    title: str | None
    body: str
    meta: dict[str, object] | None = None


def clean_name(name: str) -> str:
    """The uploaded file's name as it may be shown and recorded: no folders, no control characters."""
    base = re.split(r"[\\/]", name or "")[-1]
    base = "".join(ch for ch in base if ch.isprintable()).strip()
    return base[-MAX_NAME_CHARS:] or "datei"


def _suffix(name: str) -> str:
    suffix = Path(name).suffix.lower()
    if suffix not in SUFFIXES:
        raise UploadRefused(
            f"Das Format „{suffix or 'ohne Endung'}“ wird nicht angenommen; möglich sind {FORMATS}.",
            "wrong_type",
        )
    return suffix


def _looks_binary(head: bytes) -> str | None:
    return next((what for magic, what in BINARY.items() if head.startswith(magic)), None)


def _check_docx(data: bytes, settings: Settings, path: Path) -> None:
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise UploadRefused(
            "Das ist eine alte Word-Datei (.doc); bitte in Word als .docx speichern und erneut hochladen.",
            "wrong_type",
        )
    not_word = UploadRefused("Die Datei heißt .docx, ist aber keine Word-Datei.", "wrong_type")
    if not data.startswith(b"PK\x03\x04"):
        raise not_word
    try:
        with zipfile.ZipFile(path) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise not_word from exc
    names = {e.filename for e in entries}
    if "word/document.xml" not in names or "[Content_Types].xml" not in names:
        raise not_word
    unpacked = sum(e.file_size for e in entries)
    limit = settings.upload_unpacked_mb * 1_000_000
    if len(entries) > MAX_ZIP_ENTRIES or unpacked > limit:
        raise UploadRefused(
            f"Die Word-Datei würde ausgepackt {unpacked / 1e6:.0f} MB belegen (höchstens "
            f"{settings.upload_unpacked_mb} MB) und wird darum nicht geöffnet.",
            "too_large",
        )


def check_upload(name: str, data: bytes, path: Path, settings: Settings) -> str:
    """Refuse what must not reach the converter; returns the file's suffix. `path` holds `data`."""
    suffix = _suffix(name)
    limit = settings.upload_max_mb * 1_000_000
    if len(data) > limit:
        raise UploadRefused(
            f"Die Datei ist mit {len(data) / 1e6:.1f} MB zu groß (höchstens {settings.upload_max_mb} MB).",
            "too_large",
        )
    if not data.strip():
        raise UploadRefused("Die Datei ist leer.", "unreadable")
    head = data[:1024]
    if suffix == ".pdf":
        if b"%PDF-" not in head:
            raise UploadRefused("Die Datei heißt .pdf, ist aber kein PDF.", "wrong_type")
    elif suffix == ".docx":
        _check_docx(data, settings, path)
    else:
        what = _looks_binary(head)
        if what or b"\x00" in data:
            raise UploadRefused(
                f"Die Datei heißt {suffix}, ist aber {what or 'keine Textdatei'}.", "wrong_type"
            )
        if suffix in (".html", ".htm") and not HTML_TAG.search(data[:65536]):
            raise UploadRefused(f"Die Datei heißt {suffix}, enthält aber kein HTML.", "wrong_type")
    return suffix


def _limit_self(memory_bytes: int, cpu_s: int) -> None:
    """The conversion process limits itself before it reads the file (no preexec_fn: the chat
    that starts it has threads, and forking them into Python code can deadlock)."""
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_s, cpu_s + 1))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


RESAVE = "bitte als PDF, Word oder Text neu speichern und erneut hochladen."
FAILED = f"Die Datei konnte nicht umgewandelt werden (beschädigt oder ungewöhnlich aufgebaut); {RESAVE}"
TOO_BIG = f"Die Umwandlung brauchte zu viel Speicher und wurde abgebrochen; {RESAVE}"


def convert_bounded(path: Path, name: str, settings: Settings) -> Converted:
    """Convert the file in a process of its own, bounded by settings.convert_timeout_s and
    settings.convert_memory_mb; every failure is an UploadRefused with one German sentence."""
    timeout = settings.convert_timeout_s
    memory = settings.convert_memory_mb * 1024 * 1024
    limits = [str(memory), str(int(timeout) + 1)]
    command = [sys.executable, "-m", "bot.curation.intake", str(path), name, *limits]
    try:
        done = subprocess.run(
            command,
            capture_output=True,
            timeout=timeout,
            env={"PATH": "/usr/bin:/bin", "LC_ALL": "C.UTF-8", "PYTHONPATH": str(REPO)},
            cwd=path.parent,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise UploadRefused(
            f"Die Umwandlung hat länger als {timeout:g} Sekunden gedauert und wurde abgebrochen; "
            "bitte die Datei als PDF, Word oder Text neu speichern.",
            "unreadable",
        ) from exc
    try:
        reply = json.loads(done.stdout.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        reply = None
    if not isinstance(reply, dict):
        raise UploadRefused(FAILED, "unreadable")
    if "error" in reply:
        raise UploadRefused(str(reply["error"]), "unreadable")
    meta = reply.get("meta")
    return Converted(reply.get("title"), str(reply.get("body", "")), meta if isinstance(meta, dict) else None)


def _markdown_document(path: Path) -> dict[str, object] | None:
    """An uploaded corpus document (front matter + body), or None for plain Markdown."""
    import frontmatter
    import yaml

    from bot.pipeline.corpus import FrontMatter

    text = path.read_bytes().decode("utf-8-sig")
    if not text.lstrip().startswith("---"):
        return None
    try:
        post = frontmatter.loads(text)
        meta = FrontMatter.model_validate({**post.metadata, "status": "entwurf"})
    except (yaml.YAMLError, ValueError) as exc:
        first = str(exc).splitlines()[0][:200]
        return {"error": f"Die Kopfdaten der Markdown-Datei sind ungültig ({first}); bitte korrigieren."}
    return {"title": meta.titel, "body": post.content.strip(), "meta": meta.model_dump(mode="json")}


def _convert_here(path: Path, name: str) -> dict[str, object]:
    """The conversion itself (in the bounded process): one JSON-ready object."""
    from bot.curation.importer import convert

    if path.suffix.lower() == ".md":
        try:
            found = _markdown_document(path)
        except UnicodeDecodeError:
            return {"error": "Die Markdown-Datei ist nicht UTF-8-kodiert; bitte als UTF-8 speichern."}
        if found is not None:
            return found
    try:
        converted = convert(path)
    except BotError as exc:
        detail = getattr(exc, "detail", str(exc))
        return {"error": str(detail).replace(path.name, name)}
    except MemoryError:
        return {"error": TOO_BIG}
    except Exception:  # any parser's own failure on a damaged file
        return {"error": FAILED}
    return {"title": converted.title, "body": converted.body}


def main(argv: list[str]) -> int:
    """The conversion process: FILE NAME MEMORY_BYTES CPU_SECONDS in, one JSON object out."""
    path, name, memory, cpu = Path(argv[0]), argv[1], int(argv[2]), int(argv[3])
    _limit_self(memory, cpu)
    try:
        reply = _convert_here(path, name)
    except MemoryError:
        reply = {"error": TOO_BIG}
    sys.stdout.buffer.write(json.dumps(reply, ensure_ascii=False, default=_iso).encode("utf-8"))
    return 0


def _iso(value: object) -> str:
    if isinstance(value, dt.date):
        return value.isoformat()
    raise TypeError(type(value).__name__)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
