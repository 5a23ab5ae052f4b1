"""Front-matter fields and headings change by their own lines only; the rest stays byte for byte."""

from __future__ import annotations

import datetime as dt

import frontmatter
import pytest

from bot.curation.fields import Heading, headings, set_fields, set_headings, split
from bot.errors import CorpusError

TEXT = """---
titel: Synthetisches Merkblatt
quelle: "Testquelle: synthetisch"
verantwortlich: Testteam
stand: 2026-01-01
gueltig_ab: 2026-01-01
status: entwurf
fragen:
  Regel:
    - Was gilt hier?   # ein Kommentar, der bleibt
---

## Regel

Ein synthetischer Satz.

```
# kein Titel, sondern Code
```
"""


def test_a_field_is_changed_in_its_own_lines_and_nothing_else_moves() -> None:
    changed = set_fields(TEXT, {"stand": dt.date(2026, 2, 1), "titel": "Neuer Titel: mit Doppelpunkt"})
    before, after = TEXT.splitlines(), changed.splitlines()
    assert [i for i, (a, b) in enumerate(zip(before, after, strict=True)) if a != b] == [1, 4]
    meta = frontmatter.loads(changed).metadata
    assert meta["titel"] == "Neuer Titel: mit Doppelpunkt" and meta["stand"] == dt.date(2026, 2, 1)
    assert "# ein Kommentar, der bleibt" in changed
    assert split(changed).body == split(TEXT).body


def test_fields_are_added_before_the_closing_line_and_removed_whole() -> None:
    added = set_fields(TEXT, {"gueltig_bis": dt.date(2027, 1, 1), "ersetzt": ["alt-a", "alt-b"]})
    meta = frontmatter.loads(added).metadata
    assert meta["gueltig_bis"] == dt.date(2027, 1, 1) and meta["ersetzt"] == ["alt-a", "alt-b"]
    removed = set_fields(added, {"ersetzt": None, "gueltig_bis": None})
    assert removed == TEXT


def test_windows_line_endings_stay() -> None:
    crlf = TEXT.replace("\n", "\r\n")
    changed = set_fields(crlf, {"status": "freigegeben"})
    assert "\r\nstatus: freigegeben\r\n" in changed and "\n" not in changed.replace("\r\n", "")


def test_a_document_without_front_matter_is_refused() -> None:
    with pytest.raises(CorpusError, match="Kopfdaten"):
        set_fields("## Nur Text\n", {"status": "entwurf"})


def test_headings_are_found_outside_code_and_changed_by_line() -> None:
    body = split(TEXT).body
    found = headings(body)
    assert [(h.level, h.text) for h in found] == [(2, "Regel")]
    changed = set_headings(body, [Heading(found[0].line, 3, "  Die   Regel ")])
    assert changed.splitlines()[found[0].line] == "### Die Regel"
    assert changed.replace("### Die Regel", "## Regel") == body
    with pytest.raises(CorpusError, match="keine Überschrift"):
        set_headings(body, [Heading(found[0].line + 2, 2, "Kein Titel")])
    with pytest.raises(CorpusError, match="Ebene"):
        set_headings(body, [Heading(found[0].line, 7, "Zu tief")])
