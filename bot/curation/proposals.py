"""Proposals of example questions in the Referat's view: show, accept, discard, draft anew.

A proposal is a `DOK.fragen-vorschlag.yaml` beside its document, drafted by a language model
(`python -m bot fragen`) or gathered from staff's picks; both have the same form and are accepted
with the CLI's own code (bot/curation/review.py). Accepting changes only the document's `fragen`
and is recorded as a version; the proposal file then moves into the document's history.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from bot.config import Settings
from bot.curation import drafting, review
from bot.curation.versions import Change, CorpusStore, NotFound
from bot.errors import CorpusError
from bot.jsonl import now

MAX_PROPOSAL_BYTES = 2_000_000
# Drafts come from a language model: the view says so wherever it shows them.
DRAFT_DISCLOSURE = (
    "Hinweis: Diese Vorschläge hat ein KI-Sprachmodell entworfen oder der Assistent aus Auswahlen "
    "von Mitarbeitenden gesammelt; sie gelten erst, wenn eine Person sie geprüft und übernommen hat."
)


@dataclass(frozen=True)
class ProposedQuestion:
    """One question of a proposal as the view lists it."""

    section: str
    question: str
    flagged: bool  # not taken over without a person's `behalten: true`
    reason: str | None


@dataclass(frozen=True)
class ProposalView:
    """A proposal file: its document, when and by what it was made, its questions."""

    document: str
    file: str
    created: str | None
    source: str | None
    questions: list[ProposedQuestion]

    def to_json(self) -> dict[str, Any]:
        """The proposal as the API returns it."""
        return {
            "document": self.document,
            "file": self.file,
            "created": self.created,
            "source": self.source,
            "questions": [q.__dict__ for q in self.questions],
            "would_accept": sum(not q.flagged for q in self.questions),
            "disclosure": DRAFT_DISCLOSURE,
        }


def proposal_file(store: CorpusStore, doc_id: str) -> Path:
    """Where a document's proposal lies (whether it exists or not)."""
    return drafting.proposal_path(store.path(doc_id))


def _entries(data: dict[str, Any]) -> list[ProposedQuestion]:
    out = []
    for section in data.get("abschnitte") or []:
        if not isinstance(section, dict):
            continue
        key = str(section.get("abschnitt", ""))
        for entry in section.get("fragen") or []:
            if isinstance(entry, dict) and str(entry.get("frage", "")).strip():
                flagged = ("behalten" in entry or entry.get(drafting.FLAG_OWN) is False) and entry.get(
                    "behalten"
                ) is not True
                reason = entry.get("grund") or entry.get("hinweis")
                out.append(
                    ProposedQuestion(key, str(entry["frage"]), flagged, str(reason) if reason else None)
                )
    return out


def read_proposal(store: CorpusStore, doc_id: str) -> ProposalView | None:
    """A document's proposal, or None; a damaged file is a CorpusError in German."""
    path = proposal_file(store, doc_id)
    if not path.is_file():
        return None
    if path.stat().st_size > MAX_PROPOSAL_BYTES:
        raise CorpusError("Die Vorschlagsdatei ist zu groß, um sie anzuzeigen.", path.name)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise CorpusError("Die Vorschlagsdatei ist kein gültiges YAML.", path.name) from exc
    if not isinstance(data, dict):
        raise CorpusError("Das ist keine Vorschlagsdatei.", path.name)
    created = data.get("erstellt")
    return ProposalView(
        doc_id,
        path.name,
        str(created) if created else None,
        data.get("modell") or data.get("quelle"),
        _entries(data),
    )


def pending(store: CorpusStore) -> dict[str, str]:
    """Document id -> proposal file name, for every proposal waiting in the corpus folder."""
    suffix = drafting.PROPOSAL_SUFFIX
    return {p.name.removesuffix(suffix): p.name for p in sorted(store.corpus_dir.glob(f"*{suffix}"))}


def _stamp() -> str:
    return now().replace(":", "").replace("-", "")


def accept(store: CorpusStore, doc_id: str, who: str) -> tuple[review.Accepted, Change | None]:
    """Take a reviewed proposal's questions into the document (the CLI's `--annehmen`), record the
    new version, and move the proposal into the history."""
    path = proposal_file(store, doc_id)
    with store.locked():
        if not path.is_file():
            raise NotFound("Für dieses Dokument liegt kein Vorschlag vor.")
        store.notice_outside(doc_id)
        accepted = review.accept(path)
        count = sum(len(v) for v in accepted.added.values())
        change = None
        if count:
            summary = f"{count} Beispielfragen aus dem Vorschlag übernommen"
            change = store.record_current(doc_id, who, "fragen übernommen", summary)
        store.keep_aside(doc_id, path, f"vorschlag-{_stamp()}-angenommen.yaml")
    return accepted, change


def discard(store: CorpusStore, doc_id: str, who: str) -> Change:
    """Set a proposal aside without taking anything from it."""
    path = proposal_file(store, doc_id)
    with store.locked():
        if not path.is_file():
            raise NotFound("Für dieses Dokument liegt kein Vorschlag vor.")
        store.keep_aside(doc_id, path, f"vorschlag-{_stamp()}-verworfen.yaml")
        return store.event(doc_id, who, "vorschlag verworfen", "Vorschlag für Beispielfragen verworfen")


def draft(store: CorpusStore, settings: Settings, doc_id: str, who: str, embeddings: Any = None) -> Change:
    """Let the language model (BOT_LLM) draft example questions for a document, as the CLI's
    `fragen DOK` does; DraftError in German without a model or a usable reply."""
    path = store.path(doc_id)
    store.read(doc_id)
    proposal = drafting.draft(settings, path, drafting.model_asker(settings), embeddings=embeddings)
    drafting.write_proposal(proposal, doc_id)
    total, flagged = proposal.counts()
    return store.event(
        doc_id, who, "fragen vorgeschlagen", f"{total} Fragen vorgeschlagen, {flagged} markiert"
    )
