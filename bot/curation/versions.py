"""The corpus as files, with every change written atomically and kept: who, when, what, which version.

The documents stay Markdown files under corpus/ (the CLI, `check` and reviews by diff keep
working). Each change made through the Referat's view is written as a whole new file beside the
old one and switched in with a rename, and a copy of that version goes to
BOT_DATA_DIR/korpus-historie/DOK/N.md, with one line in aenderungen.jsonl saying who changed what
and when. All of it happens under one lock file, so several chat workers on one machine take
turns. A change made outside the view (an editor, `python -m bot fragen --annehmen`) is noticed by
its hash and recorded as its own version before the next one.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from bot.errors import BotError
from bot.jsonl import JsonLines, now
from bot.locks import exclusive

HISTORY_DIR = "korpus-historie"
LOG_FILE = "aenderungen.jsonl"
OUTSIDE = "außerhalb der Ansicht"
DOC_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,119}$")
Action = Literal[
    "hochgeladen",
    "bearbeitet",
    "freigegeben",
    "zurückgezogen",
    "ersetzt",
    "wiederhergestellt",
    "fragen übernommen",
    "fragen vorgeschlagen",
    "vorschlag verworfen",
    "außerhalb geändert",
]
# Changes of the wording, the metadata or the questions: their author may not release them alone.
AUTHORED: frozenset[str] = frozenset(
    {"hochgeladen", "bearbeitet", "wiederhergestellt", "fragen übernommen", "außerhalb geändert"}
)


class NotFound(BotError):
    """No document (or version) of that name."""


@dataclass(frozen=True)
class Change:
    """One line of the history: a new version of a document, or an event around it (version None)."""

    time: str
    document: str
    who: str
    action: Action
    summary: str
    version: int | None = None
    sha256: str | None = None
    status: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Change | None:
        """A change from its log line; None for a line that is not one."""
        try:
            return cls(**{k: record[k] for k in cls.__dataclass_fields__ if k in record})
        except TypeError:
            return None


def sha256(data: bytes) -> str:
    """The hash the index's manifest also records for a document."""
    return hashlib.sha256(data).hexdigest()


def write_atomically(path: Path, data: bytes) -> None:
    """Write a whole file or nothing: a temporary file beside it (never matched by *.md), synced,
    then renamed over it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class CorpusStore:
    """The corpus folder and its history; every write holds the lock."""

    def __init__(self, corpus_dir: Path, data_dir: Path) -> None:
        self.corpus_dir = corpus_dir
        self.folder = data_dir / HISTORY_DIR
        self.log = JsonLines(self.folder / LOG_FILE)

    @contextmanager
    def locked(self) -> Iterator[None]:
        """One writer at a time, across the chat's worker processes."""
        with exclusive(self.folder / ".lock"):
            yield

    def path(self, doc_id: str) -> Path:
        """Where a document lives; a name that could leave the folder is no document."""
        if not DOC_ID.match(doc_id):
            raise NotFound(f"Ein Dokument „{doc_id[:80]}“ gibt es nicht.")
        return self.corpus_dir / f"{doc_id}.md"

    def read(self, doc_id: str) -> bytes:
        """A document's current bytes."""
        path = self.path(doc_id)
        if not path.is_file():
            raise NotFound(f"Ein Dokument „{doc_id}“ gibt es nicht.")
        return path.read_bytes()

    def changes(self, doc_id: str | None = None) -> list[Change]:
        """The history, oldest first; of one document, or of all."""
        found = (Change.from_record(r) for r in self.log.read())
        return [c for c in found if c is not None and (doc_id is None or c.document == doc_id)]

    def versions(self, doc_id: str) -> list[Change]:
        """The recorded versions of a document, oldest first."""
        return [c for c in self.changes(doc_id) if c.version is not None]

    def version_text(self, doc_id: str, version: int) -> bytes:
        """The bytes of one recorded version."""
        path = self.folder / self.path(doc_id).stem / f"{int(version)}.md"
        if not path.is_file():
            raise NotFound(f"Die Fassung {version} von „{doc_id}“ gibt es nicht.")
        return path.read_bytes()

    def author(self, doc_id: str) -> str | None:
        """Who wrote the current version: the last change of its wording, metadata or questions
        (None when it changed outside the view since: nobody we know wrote it)."""
        versions = self.versions(doc_id)
        if not versions or versions[-1].sha256 != sha256(self.read(doc_id)):
            return None
        authored = [c for c in versions if c.action in AUTHORED]
        return authored[-1].who if authored else None

    def current_version(self, doc_id: str) -> int | None:
        """The number of the version on disk; None when it was changed outside the view since."""
        versions = self.versions(doc_id)
        if versions and versions[-1].sha256 == sha256(self.read(doc_id)):
            return versions[-1].version
        return None

    def write(
        self,
        doc_id: str,
        data: bytes,
        who: str,
        action: Action,
        summary: str,
        *,
        status: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> Change:
        """Replace (or create) a document and record the new version; the caller holds the lock."""
        path = self.path(doc_id)
        self.notice_outside(doc_id)
        version = self._snapshot(doc_id, data)
        write_atomically(path, data)
        return self._record(doc_id, who, action, summary, version, sha256(data), status, details)

    def record_current(self, doc_id: str, who: str, action: Action, summary: str) -> Change:
        """Record a version that other code has just written (say, accepted example questions);
        notice_outside must have run before that code wrote."""
        data = self.read(doc_id)
        version = self._snapshot(doc_id, data)
        return self._record(doc_id, who, action, summary, version, sha256(data), None, None)

    def event(self, doc_id: str, who: str, action: Action, summary: str) -> Change:
        """Record something done around a document that is no new version of it."""
        return self._record(doc_id, who, action, summary, None, None, None, None)

    def keep_aside(self, doc_id: str, source: Path, name: str) -> Path:
        """Move a side file (an accepted or discarded proposal) into the document's history."""
        target = self.folder / self.path(doc_id).stem / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(source), target)
        return target

    def keep_original(self, doc_id: str, data: bytes, suffix: str) -> None:
        """Keep the uploaded file as it came, for comparing with the draft later."""
        write_atomically(self.folder / self.path(doc_id).stem / f"original{suffix}", data)

    def notice_outside(self, doc_id: str) -> None:
        """Record the file on disk as a version of its own if it changed outside the view."""
        path = self.path(doc_id)
        if not path.is_file():
            return
        data = path.read_bytes()
        versions = self.versions(doc_id)
        if not versions or versions[-1].sha256 != sha256(data):
            summary = (
                "Fassung vor der ersten Änderung in der Ansicht" if not versions else "Datei direkt geändert"
            )
            version = self._snapshot(doc_id, data)
            self._record(doc_id, OUTSIDE, "außerhalb geändert", summary, version, sha256(data), None, None)

    def _snapshot(self, doc_id: str, data: bytes) -> int:
        versions = self.versions(doc_id)
        version = (versions[-1].version or 0) + 1 if versions else 1
        write_atomically(self.folder / self.path(doc_id).stem / f"{version}.md", data)
        return version

    def _record(
        self,
        doc_id: str,
        who: str,
        action: Action,
        summary: str,
        version: int | None,
        digest: str | None,
        status: str | None,
        details: dict[str, Any] | None,
    ) -> Change:
        change = Change(now(), doc_id, who, action, summary, version, digest, status, details or {})
        self.log.append(asdict(change))
        return change
