"""An answer as the person reads it: plain text for the command line, Markdown and side panels for
the chat. One place for both, so a source list or a disclosure cannot differ between them."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from bot.pipeline.answer import Answer, Source
from bot.pipeline.markdown import literal


@dataclass(frozen=True)
class Panel:
    """A cited passage shown beside the chat message, linked where its name stands in the text."""

    name: str
    content: str


def plain(answer: Answer) -> str:
    """Warning, answer, notes, numbered sources and the disclosure as plain text."""
    parts = [answer.privacy_warning, ""] if answer.privacy_warning else []
    parts.append(answer.text)
    if answer.notes:
        parts += ["", *answer.notes]
    for heading, sources in answer.source_lists():
        parts += ["", f"{heading}:"]
        parts += [f"[{s.n}] {s.listed}" for s in sources]
    parts += ["", answer.disclosure]
    return "\n".join(parts)


def source_name(source: Source) -> str:
    """The panel's name; Chainlit links it wherever exactly this text stands in the message."""
    return f"Quelle {source.n}"


def marked(text: str, quotes: list[str]) -> str:
    """The passage as literal text with the quoted sentences in bold, so a reader sees at once
    where the quote stands and what surrounds it. A whole quoted address block is bold too."""
    spans = sorted(
        {(i, i + len(q)) for q in quotes if q and (i := text.find(q)) >= 0}
        | ({(0, len(text))} if any(q not in text for q in quotes) and _whole(text, quotes) else set())
    )
    out, at = [], 0
    for start, end in spans:
        if start < at:
            continue
        out.append(literal(text[at:start]))
        out.extend(f"**{literal(line)}**" if line.strip() else line for line in _lines(text[start:end]))
        at = end
    out.append(literal(text[at:]))
    return "".join(out)


def _lines(text: str) -> list[str]:
    """Text split into lines, keeping the line breaks (bold must not span a line break)."""
    return re.split(r"(\n)", text)


def _whole(text: str, quotes: list[str]) -> bool:
    """Whether a quote is the passage's lines joined ("Esther Finis, Leitung …")."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return any(all(ln in q for ln in lines) for q in quotes)


def panel(source: Source, quotes: Sequence[str] = ()) -> Panel:
    """The cited passage: title, section, date of the text, then the text with what the answer
    quotes of it in bold."""
    p = source.passage
    content = (
        f"**{literal(p.title)}**\nAbschnitt: {literal(p.section)} · Stand: {literal(p.stand)}\n\n"
        f"{marked(p.text, list(quotes))}"
    )
    return Panel(source_name(source), content)


def chat(answer: Answer) -> tuple[str, list[Panel]]:
    """Message text (warning, answer, notes, sources, disclosure) and one panel per cited source."""
    parts = []
    if answer.privacy_warning:
        parts.append(f"> ⚠️ {literal(answer.privacy_warning)}")
    parts.append(literal(answer.text))
    parts.extend(f"_{literal(note)}_" for note in answer.notes)
    for heading, sources in answer.source_lists():
        listed = "\n".join(f"{source_name(s)}: {literal(s.listed)}" for s in sources)
        parts.append(f"**{heading}**\n{listed}")
    parts.append(f"_{literal(answer.disclosure)}_")
    panels = [panel(s, [q.text for q in answer.quotes if q.n == s.n]) for s in answer.sources]
    return "\n\n".join(parts), panels
