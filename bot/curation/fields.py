"""Edit a document's front-matter fields, headings and (to fix an import artefact) wording by lines.

Only the lines of the fields named change; every other field keeps its lines, the text below
the front matter stays byte for byte unless a heading or the wording is changed on purpose. Each
edit is read back and compared before it is returned; one that would change more is refused.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

import frontmatter
import yaml

from bot.curation.frontmatter_edit import TOP_KEY
from bot.errors import CorpusError

HEADING = re.compile(r"^(#{1,6})[ \t]+(.*?)[ \t]*$")


@dataclass(frozen=True)
class Parts:
    """A document's text cut in two: the front matter with its `---` lines, and the body."""

    front: list[str]  # lines with their endings, from the opening to the closing `---`
    body: str
    newline: str

    @property
    def text(self) -> str:
        """The whole text again."""
        return "".join(self.front) + self.body


def split(text: str) -> Parts:
    """Cut a document's text after its front matter; CorpusError when there is none."""
    lines = text.splitlines(keepends=True)
    if not lines or lines[0].strip() != "---":
        raise CorpusError("Die Kopfdaten (--- … ---) am Dateianfang fehlen.")
    end = next((i for i in range(1, len(lines)) if lines[i].strip() == "---"), None)
    if end is None:
        raise CorpusError("Das Ende der Kopfdaten (---) fehlt.")
    newline = "\r\n" if "\r\n" in text else "\n"
    return Parts(lines[: end + 1], "".join(lines[end + 1 :]), newline)


def _field_lines(name: str, value: object, newline: str) -> list[str]:
    dumped = yaml.safe_dump({name: value}, allow_unicode=True, sort_keys=False, width=10**6)
    return [line + newline for line in dumped.splitlines()]


def _block(front: list[str], name: str) -> tuple[int, int] | None:
    """First and last+1 line of a top-level field in the front matter, or None."""
    end = len(front) - 1
    start = next((i for i in range(1, end) if re.match(rf"^{re.escape(name)}\s*:", front[i])), None)
    if start is None:
        return None
    stop = next((i for i in range(start + 1, end) if TOP_KEY.match(front[i])), end)
    return start, stop


def set_fields(text: str, updates: Mapping[str, object]) -> str:
    """The text with these front-matter fields set (None removes one); nothing else changes."""
    parts = split(text)
    before = frontmatter.loads(text).metadata
    front = list(parts.front)
    for name, value in updates.items():
        where = _block(front, name)
        new = [] if value is None else _field_lines(name, value, parts.newline)
        if where is None:
            front[len(front) - 1 : len(front) - 1] = new
        else:
            front[where[0] : where[1]] = new
    result = "".join(front) + parts.body
    expected = {k: v for k, v in {**before, **updates}.items() if v is not None}
    try:
        after = frontmatter.loads(result).metadata
    except (yaml.YAMLError, ValueError) as exc:
        raise CorpusError("Die Kopfdaten ließen sich nicht ändern, ohne sie ungültig zu machen.") from exc
    if after != expected or not result.endswith(parts.body):
        raise CorpusError("Die Kopfdaten ließen sich nicht ändern, ohne mehr als die Felder zu ändern.")
    return result


@dataclass(frozen=True)
class Heading:
    """A heading of the body: its line (counted from 0 within the body), level and text."""

    line: int
    level: int
    text: str


def headings(body: str) -> list[Heading]:
    """The Markdown headings of a body, in order (lines inside code fences are not headings)."""
    found, fenced = [], False
    for number, line in enumerate(body.splitlines()):
        if line.lstrip().startswith("```"):
            fenced = not fenced
        match = None if fenced else HEADING.match(line)
        if match and match.group(2).strip("# "):
            found.append(Heading(number, len(match.group(1)), match.group(2).rstrip("# ").strip()))
    return found


def set_headings(body: str, changed: list[Heading]) -> str:
    """The body with these headings' levels and texts replaced; no other line changes."""
    known = {h.line: h for h in headings(body)}
    lines = body.splitlines(keepends=True)
    for heading in changed:
        if heading.line not in known:
            raise CorpusError(f"In Zeile {heading.line + 1} des Textes steht keine Überschrift.")
        text = " ".join(heading.text.split())
        if not text or not 1 <= heading.level <= 6:
            raise CorpusError("Eine Überschrift braucht Text und eine Ebene von 1 bis 6.")
        ending = lines[heading.line][len(lines[heading.line].rstrip("\r\n")) :]
        lines[heading.line] = f"{'#' * heading.level} {text}{ending}"
    return "".join(lines)
