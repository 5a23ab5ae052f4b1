"""The review's two ways into a document's `fragen`: a reviewed proposal, and a gap-report question.

Both only insert lines into the front matter (bot/curation/frontmatter_edit.py); the policy text stays as
it was. A proposal's flagged questions need a person's `behalten: true`; a question from the gap
report is taken as it was stored (redacted) and refused if it carries redacted personal data.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from bot.config import Settings
from bot.curation.drafting import FLAG_OWN, draft_sections
from bot.curation.frontmatter_edit import add_questions
from bot.errors import BotError, CorpusError
from bot.pipeline.corpus import parse_document
from bot.pipeline.privacy import find_personal_data


@dataclass(frozen=True)
class Accepted:
    """What `--annehmen` did."""

    document: Path
    added: dict[str, list[str]]
    left_flagged: int  # flagged questions not kept by a person


def accept(proposal_file: Path) -> Accepted:
    """Copy a reviewed proposal's questions into its document's `fragen`: the unflagged ones and
    the flagged ones marked `behalten: true`. The document's text is not changed."""
    try:
        data = yaml.safe_load(proposal_file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise CorpusError("Die Vorschlagsdatei ist nicht lesbar.", proposal_file.name) from exc
    except yaml.YAMLError as exc:
        raise CorpusError("Die Vorschlagsdatei ist kein gültiges YAML.", proposal_file.name) from exc
    if not isinstance(data, dict) or not isinstance(data.get("abschnitte"), list) or not data.get("dokument"):
        raise CorpusError("Das ist keine Vorschlagsdatei von `python -m bot fragen`.", proposal_file.name)
    name = str(data["dokument"])
    if "/" in name or "\\" in name or not name.endswith(".md"):
        raise CorpusError(
            "„dokument“ muss der Dateiname eines Dokuments neben dem Vorschlag sein.", proposal_file.name
        )
    document = proposal_file.with_name(name)
    if not document.is_file():
        raise CorpusError(
            f"Das Dokument {document.name} liegt nicht neben dem Vorschlag.", proposal_file.name
        )
    additions: dict[str, list[str]] = {}
    left = 0
    for section in data["abschnitte"]:
        if not isinstance(section, dict) or not isinstance(section.get("fragen") or [], list):
            raise CorpusError("Ein Abschnitt des Vorschlags ist unvollständig.", proposal_file.name)
        key = str(section.get("abschnitt", "")).strip()
        for entry in section.get("fragen") or []:
            if not isinstance(entry, dict) or not str(entry.get("frage", "")).strip():
                continue
            flagged = "behalten" in entry or entry.get(FLAG_OWN) is False
            if flagged and entry.get("behalten") is not True:
                left += 1
                continue
            question = " ".join(str(entry["frage"]).split())
            if find_personal_data(question):
                left += 1
                continue
            additions.setdefault(key, []).append(question)
    doc = parse_document(document)
    known = {s.key.casefold() for s in draft_sections(doc, 10**6)}
    unknown = [k for k in additions if k.casefold() not in known]
    if unknown:
        raise CorpusError(f"Die Überschrift „{unknown[0]}“ gibt es im Dokument nicht.", proposal_file.name)
    return Accepted(document, add_questions(document, additions), left)


def add_gap_question(
    settings: Settings, question: str, target: str, asked: list[str]
) -> dict[str, list[str]]:
    """Make a declined or downvoted question (as stored, redacted) an example question of the
    section the Referat picked (`document#heading`). asked: the stored questions it must be one of."""
    doc_id, _, heading = target.partition("#")
    document = settings.corpus_dir / f"{doc_id.strip()}.md"
    if not heading.strip() or not document.is_file():
        raise BotError(
            f"Abschnitt „{target}“ nicht gefunden: bitte als DOKUMENT#Überschrift angeben, "
            "z. B. grundsaetze-ki#Transparenz."
        )
    flat = " ".join(question.split())
    stored = next((q for q in asked if " ".join(q.split()).casefold() == flat.casefold()), None)
    if stored is None:
        raise BotError(
            "Diese Frage steht weder unter den nicht beantworteten Fragen noch unter den negativen "
            "Rückmeldungen; bitte sie so angeben, wie der Wissenslücken-Bericht sie zeigt."
        )
    if find_personal_data(stored) or re.search(r"\[[A-ZÄÖÜ][\w-]+\]", stored):
        raise BotError(
            "Die Frage enthält personenbezogene (geschwärzte) Angaben; "
            "bitte ohne sie von Hand in „fragen“ eintragen."
        )
    doc = parse_document(document)
    key = next(
        (
            s.key
            for s in draft_sections(doc, settings.max_passage_chars)
            if s.key.casefold() == heading.strip().casefold()
        ),
        None,
    )
    if key is None:
        raise BotError(f"Die Überschrift „{heading.strip()}“ gibt es in {document.name} nicht.")
    return add_questions(document, {key: [stored]})
