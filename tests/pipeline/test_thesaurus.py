"""The OpenThesaurus table: derived from Debian's mythes-de, shipped with its licence, read on use."""

from __future__ import annotations

import gzip

from bot.pipeline import thesaurus

MYTHES = """UTF-8
maschine|2
-|Automat|Maschine|Roboter|Agent (fachspr.)|Gerät (Oberbegriff)
-|Aggregat|Maschine|Motor|nicht lebendes Objekt (Oberbegriff)
roboter|1
-|Automat|Maschine|Roboter|Agent (fachspr.)|Gerät (Oberbegriff)
schreibkram|1
-|Schreibarbeiten|Papierkram (ugs.)|Schreibkram (ugs.)|E-Mail-Verkehr|mit etwas (sich) befassen
"""


def test_derive_keeps_each_set_of_single_word_synonyms_once() -> None:
    assert list(thesaurus.derive(MYTHES.splitlines(keepends=True))) == [
        "Agent|Automat|Maschine|Roboter",  # the broader "Gerät" left out
        "Aggregat|Maschine|Motor",
        "E-Mail-Verkehr|Papierkram|Schreibarbeiten|Schreibkram",  # annotations dropped, phrases too
    ]


def test_the_shipped_table_names_source_and_licence() -> None:
    with gzip.open(thesaurus.TABLE, "rt", encoding="utf-8") as table:
        header = "".join(next(table) for _ in range(4))
    assert "OpenThesaurus" in header and "mythes-de 20160424" in header and "LGPL, version 2.1" in header
    licence = (thesaurus.TABLE.parent / "THESAURUS-LICENSE.txt").read_text(encoding="utf-8")
    assert "GNU LESSER GENERAL PUBLIC LICENSE" in licence and "Version 2.1" in licence


def test_the_shipped_table_knows_staff_words() -> None:
    assert any("schreibarbeiten" in s for s in thesaurus.synsets("schreibkram"))
    assert any({"fortbildung", "weiterbildung"} <= set(s) for s in thesaurus.synsets("schulung"))
    assert thesaurus.synsets("gibtsnicht") == ()
