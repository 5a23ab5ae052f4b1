"""OpenThesaurus synonyms (LGPL, thesaurus.txt.gz beside this module): which German words can
stand for a word of a question, so that "Schreibkram" also finds "Schreibarbeiten"."""

from __future__ import annotations

import gzip
import re
from collections.abc import Iterable, Iterator
from functools import lru_cache
from pathlib import Path

TABLE = Path(__file__).parent / "thesaurus.txt.gz"
# The derived table keeps the thesaurus' sets of synonyms of single words. Broader terms
# ("Oberbegriff") are left out: "Maschine" is no synonym of "Gerät" but one of its kinds.
BROADER = "Oberbegriff"
ANNOTATION = re.compile(r"\s*\([^()]*\)")
SINGLE_WORD = re.compile(r"^[^\W\d_]+(?:-[^\W\d_]+)*$")


def derive(lines: Iterable[str]) -> Iterator[str]:
    """The table's lines from a MyThes data file (Debian's mythes-de, th_de_DE_v2.dat): each set
    of synonyms once, its single words sorted and joined by '|', annotations ("ugs.") dropped."""
    seen: set[tuple[str, ...]] = set()
    for line in lines:
        if not line.startswith("-|"):
            continue  # the encoding, or a headword with its count of meanings
        members = (
            ANNOTATION.sub("", m).strip() for m in line.rstrip("\n").split("|")[1:] if BROADER not in m
        )
        synset = tuple(sorted({m for m in members if SINGLE_WORD.match(m)}))
        if len(synset) >= 2 and synset not in seen:
            seen.add(synset)
            yield "|".join(synset)


MYTHES = Path("/usr/share/mythes/th_de_DE_v2.dat")  # Debian's mythes-de
HEADER = """\
# OpenThesaurus (www.openthesaurus.de),
# Copyright (C) 2003-2016 Daniel Naber and the OpenThesaurus contributors.
# Source: Debian package mythes-de {version} ({source}).
# Licence: GNU LGPL, version 2.1 or later (THESAURUS-LICENSE.txt beside this file).
# Derived by bot.pipeline.thesaurus.derive (make thesaurus): sets of synonyms of single words,
# broader terms and annotations dropped, one set a line, words joined by '|'.
"""


def write_table(version: str, source: Path = MYTHES, table: Path = TABLE) -> int:
    """Write the table from the MyThes data file (reproducible: no time stamp in the gzip);
    returns how many sets of synonyms it holds."""
    with source.open(encoding="utf-8") as data:
        lines = list(derive(data))
    text = HEADER.format(version=version, source=source) + "".join(f"{line}\n" for line in lines)
    with table.open("wb") as raw, gzip.GzipFile(filename="", fileobj=raw, mode="wb", mtime=0) as out:
        out.write(text.encode("utf-8"))
    return len(lines)


@lru_cache(maxsize=1)
def _table() -> dict[str, tuple[tuple[str, ...], ...]]:
    """Each word (case-folded) with the sets of synonyms it belongs to; read on first use."""
    by_word: dict[str, list[tuple[str, ...]]] = {}
    with gzip.open(TABLE, "rt", encoding="utf-8") as table:
        for line in table:
            if line.startswith("#") or not line.strip():
                continue
            synset = tuple(w.casefold() for w in line.rstrip("\n").split("|"))
            for word in synset:
                by_word.setdefault(word, []).append(synset)
    return {word: tuple(synsets) for word, synsets in by_word.items()}


def synsets(word: str) -> tuple[tuple[str, ...], ...]:
    """The sets of synonyms a case-folded word belongs to (the word included), none if unknown."""
    return _table().get(word, ())
