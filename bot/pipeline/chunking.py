"""Cut documents into heading-aware passages with stable ids and their heading path."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from bot.pipeline.corpus import Document, Vocabulary

HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
LIST_ITEM = re.compile(r"^\s*(?:[-*+•]|\d+[.)])\s+")
# Abbreviations after which a full stop does not end a sentence.
ABBREVIATIONS = (
    "z. B.",
    "z.B.",
    "d. h.",
    "d.h.",
    "u. a.",
    "u.a.",
    "bzw.",
    "ggf.",
    "e.V.",
    "e. V.",
    "Nr.",
    "vgl.",
    "etc.",
    "ca.",
    "Dr.",
    "Abs.",
    "inkl.",
    "evtl.",
    "usw.",
)
SENTENCE_END = re.compile(r"(?<=[.!?…])[\"“”»]?\s+(?=[\"„“«(]?[A-ZÄÖÜ0-9])")
CHUNKING_VERSION = 4
OUTLINE = "uebersicht"


@dataclass(frozen=True)
class Passage:
    """A paragraph or a short list with its heading path: the unit retrieved and cited."""

    id: str
    doc_id: str
    title: str
    headings: tuple[str, ...]
    text: str
    line: int
    stand: str
    quelle: str
    url: str | None
    questions: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    # "abschnitt": a paragraph or list of the text. "uebersicht": the outline of a section with
    # sub-sections: their headings, verbatim, one a line; parts are the ids of their passages.
    kind: str = "abschnitt"
    parts: tuple[str, ...] = ()

    @property
    def is_outline(self) -> bool:
        """Whether this passage lists the sub-sections of a section (and cites them)."""
        return self.kind == OUTLINE

    @property
    def section(self) -> str:
        """The heading path as a reader sees it."""
        inner = [h for h in self.headings if h.casefold() != self.title.casefold()]
        return " › ".join(inner) if inner else self.title

    @property
    def label(self) -> str:
        """Title and section for a source list; the section only where it adds something."""
        return self.title if self.section == self.title else f"{self.title} – {self.section}"

    def context_text(self) -> str:
        """Title, headings and text: what both indexes see, so headings steer retrieval."""
        return "\n".join([self.title, *self.headings, self.text])


def slug(text: str) -> str:
    """ASCII slug for ids: stable, readable, safe in URLs and Chroma ids."""
    folded = text.lower().replace("ß", "ss")
    folded = folded.replace("ä", "ae").replace("ö", "oe").replace("ü", "ue")
    folded = unicodedata.normalize("NFKD", folded).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", folded).strip("-")[:60] or "abschnitt"


def split_sentences(text: str) -> list[str]:
    """Sentences of a paragraph; list items and line-broken blocks split at their lines."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    if len(lines) > 1:
        return [s for ln in lines for s in split_sentences(ln)]
    protected = text.strip()
    for i, abbr in enumerate(ABBREVIATIONS):
        protected = protected.replace(abbr, f"\x00{i}\x00")
    parts = SENTENCE_END.split(protected)
    out = []
    for part in parts:
        for i, abbr in enumerate(ABBREVIATIONS):
            part = part.replace(f"\x00{i}\x00", abbr)
        if part.strip():
            out.append(part.strip())
    return out


def _is_line_block(passage: Passage) -> bool:
    """Address-like blocks (lines without sentence ends) are quoted whole."""
    lines = [ln for ln in passage.text.splitlines() if ln.strip()]
    return len(lines) > 1 and not any(ln.rstrip().endswith((".", "?", "!", ":")) for ln in lines)


def quote_units(passage: Passage) -> list[str]:
    """What an answer can quote of a passage: its sentences (list items without their bullet), or
    an address block whole, named by its heading (the person), as on the page."""
    if passage.is_outline:
        return [ln.strip() for ln in passage.text.splitlines() if ln.strip()]
    if _is_line_block(passage):
        lines = [ln.strip() for ln in passage.text.splitlines() if ln.strip()]
        return [", ".join(passage.headings[-1:] + tuple(lines))]
    return [s.lstrip("-*•+ ").strip() for s in split_sentences(passage.text)]


def _blocks(body: str, first_line: int) -> list[tuple[tuple[str, ...], str, int]]:
    """(heading path, block text, line) for each paragraph or list, in document order."""
    path: list[tuple[int, str]] = []
    blocks: list[tuple[tuple[str, ...], str, int]] = []
    current: list[str] = []
    start = first_line

    def flush() -> None:
        if current:
            blocks.append((tuple(h for _, h in path), "\n".join(current), start))
            current.clear()

    for offset, raw in enumerate(body.splitlines()):
        line = raw.rstrip()
        heading = HEADING.match(line)
        if heading:
            flush()
            level = len(heading.group(1))
            path[:] = [(lv, h) for lv, h in path if lv < level]
            path.append((level, heading.group(2).strip()))
        elif not line.strip():
            flush()
        else:
            if not current:
                start = first_line + offset
            current.append(line.strip() if not LIST_ITEM.match(line) else line.rstrip())
    flush()
    return blocks


def _merge_lead_ins(blocks: list[tuple[tuple[str, ...], str, int]]) -> list[tuple[tuple[str, ...], str, int]]:
    """A paragraph ending in ':' belongs with the list that follows it."""
    merged: list[tuple[tuple[str, ...], str, int]] = []
    for heads, text, line in blocks:
        if (
            merged
            and merged[-1][0] == heads
            and merged[-1][1].rstrip().endswith(":")
            and LIST_ITEM.match(text)
        ):
            prev = merged.pop()
            merged.append((heads, prev[1] + "\n" + text, prev[2]))
        else:
            merged.append((heads, text, line))
    return merged


def _pieces(text: str, max_chars: int) -> list[str]:
    """Split an over-long block at sentence ends (at word ends for a run-on sentence)."""
    if len(text) <= max_chars:
        return [text]
    pieces: list[str] = []
    current = ""
    for sentence in split_sentences(text):
        while len(sentence) > max_chars:
            cut = sentence.rfind(" ", 0, max_chars)
            cut = cut if cut > max_chars // 2 else max_chars
            if current:
                pieces.append(current)
                current = ""
            pieces.append(sentence[:cut].strip())
            sentence = sentence[cut:].strip()
        candidate = f"{current} {sentence}".strip() if current else sentence
        if len(candidate) > max_chars:
            pieces.append(current)
            current = sentence
        else:
            current = candidate
    if current:
        pieces.append(current)
    return [p for p in pieces if p]


# The `fragen`/`schlagwoerter` key of the text before the first heading (any capitalisation).
INTRO = "Einleitung"


def _vocabulary_for(
    vocab: Vocabulary, headings: tuple[str, ...], with_text: set[tuple[str, ...]]
) -> tuple[str, ...]:
    """A list applies to the whole document. A mapping by heading ("Einleitung": before the first)
    applies to the passages directly under that heading; a heading without text of its own
    (only sub-sections) passes its entries on to the passages below it."""
    if isinstance(vocab, list):
        return tuple(vocab)
    keys = {key.casefold(): terms for key, terms in vocab.items()}
    if not headings:
        return tuple(keys.get(INTRO.casefold(), ()))
    found = list(keys.get(headings[-1].casefold(), ()))
    for depth in range(len(headings) - 1):
        if headings[: depth + 1] not in with_text:
            found += keys.get(headings[depth].casefold(), ())
    return tuple(dict.fromkeys(found))


def _passage(
    doc: Document,
    key: str,
    heads: tuple[str, ...],
    text: str,
    line: int,
    with_text: set[tuple[str, ...]],
    **kind: Any,
) -> Passage:
    """A passage of doc under heads, with the vocabulary its heading gives (none for the whole
    document's outline, which stands under no heading)."""
    vocabulary = heads or not kind
    return Passage(
        id=f"{doc.id}#{key}",
        doc_id=doc.id,
        title=doc.meta.titel,
        headings=heads,
        text=text,
        line=line,
        stand=doc.meta.stand.isoformat(),
        quelle=doc.meta.quelle,
        url=doc.meta.url,
        questions=_vocabulary_for(doc.meta.fragen, heads, with_text) if vocabulary else (),
        keywords=_vocabulary_for(doc.meta.stichworte, heads, with_text) if vocabulary else (),
        **kind,
    )


def cut_passages(doc: Document, max_chars: int) -> list[Passage]:
    """The passages of one document, each at most max_chars characters of text."""
    passages: list[Passage] = []
    seen: dict[str, int] = {}
    blocks = _merge_lead_ins(_blocks(doc.body, doc.body_start_line))
    with_text = {heads for heads, _, _ in blocks}
    for heads, text, line in blocks:
        section_key = slug(heads[-1]) if heads else "start"
        for piece in _pieces(text, max_chars):
            seen[section_key] = seen.get(section_key, 0) + 1
            passages.append(
                _passage(doc, f"{section_key}-{seen[section_key]}", heads, piece, line, with_text)
            )
    return passages + _outlines(doc, passages, with_text)


def _outlines(doc: Document, passages: list[Passage], with_text: set[tuple[str, ...]]) -> list[Passage]:
    """For the document and each section with at least two sub-sections, a passage that lists the
    sub-sections' headings (verbatim, nothing added), so "Welche Grundsätze gibt es?" finds all of
    them; each item cites the first passage under it."""
    first_under: dict[tuple[str, ...], Passage] = {}
    for p in passages:
        for depth in range(1, len(p.headings) + 1):
            first_under.setdefault(p.headings[:depth], p)
    children: dict[tuple[str, ...], list[tuple[str, ...]]] = {}
    for path in first_under:
        children.setdefault(path[:-1], []).append(path)
    return [
        _passage(
            doc,
            f"{slug(parent[-1]) if parent else 'dokument'}-{OUTLINE}",
            parent,
            "\n".join(kid[-1] for kid in kids),
            first_under[kids[0]].line,
            with_text,
            kind=OUTLINE,
            parts=tuple(first_under[kid].id for kid in kids),
        )
        for parent, kids in children.items()
        if len(kids) >= 2
    ]
