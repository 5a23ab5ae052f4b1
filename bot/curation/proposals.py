"""Proposals of example questions in the Referat's view: show, accept, discard, draft anew.

A proposal lies beside its document: `DOK.fragen-vorschlag.yaml`, drafted by a language model
(`python -m bot fragen DOK`), or `DOK.fragen-auswahl.yaml`, gathered from staff's picks
(`python -m bot fragen --aus-auswahl`, bot/curation/picks.py). Both have the same form and are
accepted with the CLI's own code (bot/curation/review.py). Accepting changes only the document's `fragen`
and is recorded as a version; the proposal file then moves into the document's history.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from bot.config import Settings
from bot.curation import drafting, picks, review
from bot.curation.versions import Change, CorpusStore, NotFound
from bot.errors import CorpusError
from bot.jsonl import now

MAX_PROPOSAL_BYTES = 2_000_000
# The two kinds of proposal, by the file beside the document, and how the view names them.
KINDS = {"modell": drafting.PROPOSAL_SUFFIX, "auswahl": picks.PICKS_SUFFIX}
ORIGIN = {"modell": "vom Sprachmodell entworfen", "auswahl": "aus Auswahlen der Mitarbeitenden"}
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
    """A proposal file: its document, its kind, when and by what it was made, its questions."""

    document: str
    kind: str
    file: str
    created: str | None
    source: str | None
    questions: list[ProposedQuestion]

    def to_json(self) -> dict[str, Any]:
        """The proposal as the API returns it."""
        return {
            "document": self.document,
            "kind": self.kind,
            "file": self.file,
            "created": self.created,
            "source": self.source,
            "questions": [q.__dict__ for q in self.questions],
            "would_accept": sum(not q.flagged for q in self.questions),
            "disclosure": DRAFT_DISCLOSURE,
        }


def proposal_file(store: CorpusStore, doc_id: str, kind: str) -> Path:
    """Where a document's proposal of this kind lies (whether it exists or not)."""
    if kind not in KINDS:
        raise NotFound(f"Eine Vorschlagsart „{kind[:40]}“ gibt es nicht (modell oder auswahl).")
    path = store.path(doc_id)
    return path.with_name(path.stem + KINDS[kind])


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


def read_proposal(store: CorpusStore, doc_id: str, kind: str) -> ProposalView | None:
    """A document's proposal of one kind, or None; a damaged file is a CorpusError in German."""
    path = proposal_file(store, doc_id, kind)
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
    source = data.get("modell") or data.get("quelle")
    return ProposalView(
        doc_id,
        kind,
        path.name,
        str(created) if created else None,
        str(source) if source else None,
        _entries(data),
    )


def pending(store: CorpusStore) -> dict[str, list[str]]:
    """Document id -> the kinds of proposal waiting beside it in the corpus folder."""
    waiting: dict[str, list[str]] = {}
    for kind, suffix in KINDS.items():
        for path in sorted(store.corpus_dir.glob(f"*{suffix}")):
            waiting.setdefault(path.name.removesuffix(suffix), []).append(kind)
    return waiting


def _stamp() -> str:
    return now().replace(":", "").replace("-", "")


def accept(store: CorpusStore, doc_id: str, kind: str, who: str) -> tuple[review.Accepted, Change | None]:
    """Take a reviewed proposal's questions into the document (the CLI's `--annehmen`), record the
    new version, and move the proposal into the history."""
    path = proposal_file(store, doc_id, kind)
    with store.locked():
        if not path.is_file():
            raise NotFound("Für dieses Dokument liegt kein Vorschlag vor.")
        store.notice_outside(doc_id)
        accepted = review.accept(path)
        count = sum(len(v) for v in accepted.added.values())
        change = None
        if count:
            summary = f"{count} Beispielfragen aus dem Vorschlag ({ORIGIN[kind]}) übernommen"
            change = store.record_current(doc_id, who, "fragen übernommen", summary)
        store.keep_aside(doc_id, path, f"vorschlag-{kind}-{_stamp()}-angenommen.yaml")
    return accepted, change


def discard(store: CorpusStore, doc_id: str, kind: str, who: str) -> Change:
    """Set a proposal aside without taking anything from it."""
    path = proposal_file(store, doc_id, kind)
    with store.locked():
        if not path.is_file():
            raise NotFound("Für dieses Dokument liegt kein Vorschlag vor.")
        store.keep_aside(doc_id, path, f"vorschlag-{kind}-{_stamp()}-verworfen.yaml")
        summary = f"Vorschlag für Beispielfragen ({ORIGIN[kind]}) verworfen"
        return store.event(doc_id, who, "vorschlag verworfen", summary)


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
