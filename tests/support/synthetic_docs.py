"""Small synthetic policy documents (no ASB text) for the drafting and self-check tests."""

from __future__ import annotations

from pathlib import Path

import yaml

HEAD = """---
titel: {titel}
quelle: "SYNTHETISCH – Testdokument, keine Richtlinie des ASB NRW"
verantwortlich: Testteam
stand: 2026-01-01
gueltig_ab: 2026-01-01
status: {status}
{fragen}---
"""

FUHRPARK = {
    "Dienstwagen buchen": "Dienstwagen werden über den Buchungskalender im Intranet reserviert, "
    "spätestens zwei Werktage vor der Fahrt. Privatfahrten mit Dienstwagen sind nicht erlaubt.",
    "Tanken und Laden": "Getankt wird ausschließlich mit der Tankkarte des Fahrzeugs. Elektrofahrzeuge "
    "werden an den Ladesäulen der Wache geladen; der Ladestand soll bei Rückgabe über 50 Prozent liegen.",
    "Unfall melden": "Nach einem Unfall mit einem Dienstwagen wird immer die Polizei gerufen. Der Schaden "
    "wird noch am selben Tag mit dem Unfallbogen an die Fuhrparkleitung gemeldet.",
}
KANTINE = {
    "Öffnungszeiten": "Die Kantine ist montags bis freitags von 11:30 bis 14:00 Uhr geöffnet. "
    "An Feiertagen bleibt sie geschlossen.",
    "Speiseplan": "Der Speiseplan erscheint jeden Donnerstag für die folgende Woche. Jeden Tag gibt es "
    "ein vegetarisches Gericht; Allergene sind auf dem Aushang gekennzeichnet.",
}


def write_policy(
    folder: Path,
    name: str,
    sections: dict[str, str],
    *,
    titel: str | None = None,
    fragen: dict[str, list[str]] | None = None,
    status: str = "freigegeben",
) -> Path:
    """A synthetic document with one `##` section per entry, and fragen in block style."""
    folder.mkdir(parents=True, exist_ok=True)
    block = yaml.safe_dump({"fragen": fragen}, allow_unicode=True, sort_keys=False) if fragen else ""
    body = "".join(f"\n## {heading}\n\n{text}\n" for heading, text in sections.items())
    path = folder / f"{name}.md"
    path.write_text(HEAD.format(titel=titel or name, status=status, fragen=block) + body, encoding="utf-8")
    return path
