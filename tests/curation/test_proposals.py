"""The Referat's loop in the view: proposals (drafted by the model or gathered from staff's picks) are
shown, accepted with the CLI's own code and recorded as a version, or set aside; the self-check
runs for one document, a draft as if it were released. Documents are synthetic."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import yaml

from bot.config import Settings
from bot.curation import doc_selfcheck, proposals
from bot.curation.document_view import rows
from bot.curation.versions import CorpusStore, NotFound
from bot.pipeline.corpus import parse_document
from tests.support.fake_llm import FakeLLM
from tests.support.synthetic_docs import FUHRPARK, KANTINE, write_policy

KANTINE_FRAGEN = {"Öffnungszeiten": ["Wann hat die Kantine offen?"], "Speiseplan": ["Was gibt es zu essen?"]}
# A proposal as staff's picks produce it (`fragen --aus-auswahl`): the same form as a drafted one.
PICKED = {
    "dokument": "fuhrpark.md",
    "erstellt": "2026-12-01T10:00:00+00:00",
    "quelle": "Auswahlen der Mitarbeitenden",
    "abschnitte": [
        {
            "abschnitt": "Unfall melden",
            "fragen": [
                {"frage": "Was mache ich nach einem Blechschaden mit dem Dienstauto?"},
                {"frage": "Wo bekomme ich Urlaub?", "findet_eigenen_abschnitt": False, "behalten": False},
            ],
        }
    ],
}


@pytest.fixture
def store(tmp_path: Path) -> CorpusStore:
    write_policy(tmp_path / "corpus", "kantine", KANTINE, titel="Kantine", fragen=KANTINE_FRAGEN)
    write_policy(tmp_path / "corpus", "fuhrpark", FUHRPARK, titel="Fuhrpark", status="entwurf")
    return CorpusStore(tmp_path / "corpus", tmp_path / "data")


def _write_picked(store: CorpusStore) -> Path:
    path = proposals.proposal_file(store, "fuhrpark", "auswahl")
    path.write_text(yaml.safe_dump(PICKED, allow_unicode=True), encoding="utf-8")
    return path


def _row(store: CorpusStore, doc_id: str) -> dict:
    return next(r for r in rows(store, {}, {}, 1000, dt.date(2026, 6, 1)) if r["id"] == doc_id)


def test_a_proposal_is_shown_accepted_as_a_version_and_set_aside(store: CorpusStore) -> None:
    path = _write_picked(store)
    assert path.name == "fuhrpark.fragen-auswahl.yaml"
    assert proposals.pending(store) == {"fuhrpark": ["auswahl"]}
    assert proposals.read_proposal(store, "fuhrpark", "modell") is None
    shown = proposals.read_proposal(store, "fuhrpark", "auswahl")
    assert shown is not None and shown.source == "Auswahlen der Mitarbeitenden"
    assert [(q.question, q.flagged) for q in shown.questions] == [
        ("Was mache ich nach einem Blechschaden mit dem Dienstauto?", False),
        ("Wo bekomme ich Urlaub?", True),
    ]
    assert "KI-Sprachmodell" in shown.to_json()["disclosure"]
    assert _row(store, "fuhrpark")["vorschlag"] is True  # the list shows where proposals wait
    accepted, change = proposals.accept(store, "fuhrpark", "auswahl", "anna")
    assert _row(store, "fuhrpark")["vorschlag"] is False
    assert accepted.added == {"Unfall melden": ["Was mache ich nach einem Blechschaden mit dem Dienstauto?"]}
    assert accepted.left_flagged == 1
    assert change is not None and (change.who, change.action) == ("anna", "fragen übernommen")
    # The version before (written outside the view) and the one after are both kept.
    assert [c.version for c in store.versions("fuhrpark")] == [1, 2]
    assert parse_document(store.path("fuhrpark")).meta.fragen == accepted.added
    assert not path.exists() and list((store.folder / "fuhrpark").glob("vorschlag-auswahl-*-angenommen.yaml"))
    assert store.author("fuhrpark") == "anna"  # who took questions in may not release them alone


def test_a_proposal_set_aside_changes_nothing(store: CorpusStore) -> None:
    _write_picked(store)
    before = store.read("fuhrpark")
    change = proposals.discard(store, "fuhrpark", "auswahl", "bernd")
    assert (change.action, change.version) == ("vorschlag verworfen", None)
    assert store.read("fuhrpark") == before and proposals.pending(store) == {}
    with pytest.raises(NotFound):
        proposals.accept(store, "fuhrpark", "auswahl", "bernd")
    with pytest.raises(NotFound, match="modell oder auswahl"):
        proposals.discard(store, "fuhrpark", "../x", "bernd")


def test_drafting_without_a_model_says_so(store: CorpusStore) -> None:
    with pytest.raises(proposals.drafting.DraftError, match="BOT_LLM"):
        proposals.draft(store, Settings(corpus_dir=store.corpus_dir), "fuhrpark", "anna")


@pytest.mark.slow
def test_draft_then_self_check_a_draft_as_if_released(store: CorpusStore, embeddings) -> None:
    root = store.corpus_dir.parent
    with FakeLLM() as fake:
        settings = Settings(
            corpus_dir=store.corpus_dir,
            index_dir=root / "index",
            data_dir=root / "data",
            llm="openai:fragen-gemischt",
            llm_base_url=fake.url,
            llm_api_key="k",
        )
        change = proposals.draft(store, settings, "fuhrpark", "anna", embeddings=embeddings)
    assert change.action == "fragen vorgeschlagen" and "markiert" in change.summary
    shown = proposals.read_proposal(store, "fuhrpark", "modell")
    assert shown is not None and {q.section for q in shown.questions} == set(FUHRPARK)
    assert any("Elternzeit" in q.question for q in shown.questions)  # the mix's off-topic one, to review
    proposals.accept(store, "fuhrpark", "modell", "anna")
    figure = doc_selfcheck.check_document(store, settings, "fuhrpark", embeddings)
    assert figure["als_entwurf"] is True and figure["questions"] > 0
    assert 0 < figure["first"] <= figure["questions"]
    assert {s["section"] for s in figure["sections"]} == set(FUHRPARK)
    assert doc_selfcheck.cached(store)["fuhrpark"]["sha256"] == parse_document(store.path("fuhrpark")).sha256
    assert parse_document(store.path("fuhrpark")).meta.status == "entwurf"  # checked in a copy only
    assert not (root / "index").exists()  # the real index is never written
