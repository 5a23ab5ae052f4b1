"""Detect and redact personal data in German text: questions, logs and corpus documents."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

PRIVACY_WARNING = (
    "Datenschutz-Hinweis: Ihre Frage scheint personenbezogene Daten zu enthalten ({kinds}). "
    "Personenbezogene Daten gehören nicht in KI-Werkzeuge – auch nicht in diesen Assistenten. "
    "Gespeichert wird Ihre Frage nur geschwärzt."
)

# Words that follow "Frau"/"Herr" without being a name ("Frau im Team", "Herr der Lage").
_NOT_NAMES = {
    "im",
    "in",
    "am",
    "an",
    "aus",
    "und",
    "oder",
    "mit",
    "von",
    "vom",
    "der",
    "die",
    "das",
    "den",
    "dem",
    "des",
    "ein",
    "eine",
    "einer",
    "meine",
    "mein",
    "unsere",
    "unser",
    "ihre",
    "ihr",
    "kollegin",
    "kollege",
    "lage",
    "sein",
    "ist",
    "war",
    "hat",
    "bitte",
    "als",
    "auch",
    "noch",
    "so",
    "wie",
}
_DIAGNOSES = (
    r"demenz|alzheimer|parkinson|diabetes|depression(?:en)?|krebs|tumor|hiv|aids|schlaganfall|"
    r"epilepsie|schizophrenie|psychose|sucht|alkoholabhängig\w*|herzinsuffizienz|copd|"
    r"dekubitus|inkontinen\w+|multiple sklerose|ms-erkrank\w+|covid|corona-infektion|hepatitis"
)

PATTERNS: dict[str, re.Pattern[str]] = {
    "E-Mail-Adresse": re.compile(
        r"\b[\w.+-]+\s?(?:@|\(at\)|\[at\]|\s\(at\)\s)\s?[\w-]+(?:\.[\w-]+)+\b", re.IGNORECASE
    ),
    "IBAN": re.compile(r"\b[A-Z]{2}\d{2}(?:\s?[A-Z0-9]{4}){3,7}(?:\s?[A-Z0-9]{1,3})?\b"),
    "Versichertennummer": re.compile(
        r"\b(?:[A-Z]\d{9}|\d{2}\s?\d{6}\s?[A-Z]\s?\d{3})\b"
        r"|(?i:versicherten(?:nummer|nr\.?)|versicherungsnummer|sozialversicherungsnummer)\s*:?\s*[\w-]{6,}"
    ),
    "Telefonnummer": re.compile(r"(?<![\w.])(?:\+\d{2}|00\d{2}|0)[\s/()-]*\d(?:[\s/()-]*\d){5,13}(?![\w.])"),
    "Postanschrift": re.compile(
        r"\b[A-ZÄÖÜ][\wäöüß-]*(?i:straße|strasse|str\.|weg|allee|platz|ring|gasse|damm|ufer)\s+\d+\s?[a-z]?\b"
        r"|\b\d{5}\s+[A-ZÄÖÜ][a-zäöüß]+(?:\s(?:am|an der|im)\s[A-ZÄÖÜ][a-zäöüß]+)?\b"
    ),
    "Geburtsdatum": re.compile(
        r"(?i:geb\.|geboren(?:\s+am)?|geburtsdatum:?|geburtstag:?|born(?:\s+on)?|jahrgang)\s*"
        r"(?:\d{1,2}\.\s?\d{1,2}\.\s?\d{2,4}|\d{4}-\d{2}-\d{2}|\d{4})"
    ),
    "Name": re.compile(
        r"\b(?i:Frau|Herrn?|Fr\.|Hr\.)\s+(?:(?i:Dr\.|Prof\.)\s+)?"
        r"(?!(?i:" + "|".join(sorted(_NOT_NAMES)) + r")\b)"
        r"[A-Za-zÄÖÜäöüß][a-zäöüß-]*\.?(?:\s[A-ZÄÖÜ][a-zäöüß-]+)?"
    ),
}
DIAGNOSIS = re.compile(rf"\b(?:{_DIAGNOSES})\b", re.IGNORECASE)
DATE = re.compile(r"\b(\d{1,2})\.\s?(\d{1,2})\.\s?(\d{4})\b")
# Someone born this many years ago or more is an adult client, not a policy date.
BIRTH_YEARS_BACK = 14


@dataclass(frozen=True)
class Finding:
    """One piece of personal data: its kind and where it stands in the text."""

    kind: str
    start: int
    end: int


_TITLES = {"frau", "herr", "herrn", "fr", "hr", "dr", "prof"}
_WORD = re.compile(r"[^\W_]+")


def _is_public(match: str, public_words: frozenset[str]) -> bool:
    """Published contact data (the Referat's names, office address and numbers) is no private data."""
    tokens = [t for t in _WORD.findall(match.casefold()) if t not in _TITLES]
    return bool(tokens) and all(t in public_words for t in tokens)


def find_personal_data(
    text: str, today: dt.date | None = None, public_words: frozenset[str] = frozenset()
) -> list[Finding]:
    """Personal data in a text, leftmost first, overlaps merged to the longest.

    public_words: folded words of the official contacts (names, address, office numbers).
    """
    today = today or dt.date.today()
    found: list[Finding] = []
    for kind, pattern in PATTERNS.items():
        for m in pattern.finditer(text):
            if not _is_public(m.group(0), public_words):
                found.append(Finding(kind, m.start(), m.end()))
    for m in DATE.finditer(text):
        day, month, year = (int(g) for g in m.groups())
        if 1 <= day <= 31 and 1 <= month <= 12 and year <= today.year - BIRTH_YEARS_BACK:
            found.append(Finding("Geburtsdatum", m.start(), m.end()))
    names = [f for f in found if f.kind == "Name"]
    if names:
        for m in DIAGNOSIS.finditer(text):
            found.append(Finding("Gesundheitsdaten", m.start(), m.end()))
    found.sort(key=lambda f: (f.start, -(f.end - f.start)))
    merged: list[Finding] = []
    for f in found:
        if merged and f.start < merged[-1].end:
            continue
        merged.append(f)
    return merged


def redact(text: str, findings: list[Finding] | None = None) -> str:
    """The text with every piece of personal data replaced by its kind in brackets."""
    findings = find_personal_data(text) if findings is None else findings
    out, last = [], 0
    for f in findings:
        out.append(text[last : f.start])
        out.append(f"[{f.kind}]")
        last = f.end
    out.append(text[last:])
    return "".join(out)


def warning_for(findings: list[Finding]) -> str | None:
    """The German warning shown with an answer to a question that carries personal data."""
    if not findings:
        return None
    kinds = ", ".join(dict.fromkeys(f.kind for f in findings))
    return PRIVACY_WARNING.format(kinds=kinds)
