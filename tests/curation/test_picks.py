"""Staff's picks after a question asked back become proposed example questions: checked like
drafted ones, written beside the document, and taken into `fragen` only when a person accepts."""

from __future__ import annotations

import datetime as dt

import yaml

from bot.config import Settings
from bot.curation.picks import PICKS_SUFFIX, propose_from_picks
from bot.curation.review import accept
from bot.pipeline.assistant import NOTHING_CHOSEN, Assistant
from bot.pipeline.audit import PickLog
from bot.pipeline.corpus import parse_document
from bot.pipeline.index import build_index, open_index
from tests.support.synthetic_docs import FUHRPARK, KANTINE, write_policy

KANTINE_FRAGEN = {"Öffnungszeiten": ["Wann hat die Kantine offen?"], "Speiseplan": ["Was gibt es zu essen?"]}


def _corpus(tmp_path) -> Settings:
    write_policy(tmp_path / "corpus", "kantine", KANTINE, titel="Kantine", fragen=KANTINE_FRAGEN)
    write_policy(tmp_path / "corpus", "fuhrpark", FUHRPARK, titel="Fuhrpark")
    return Settings(corpus_dir=tmp_path / "corpus", index_dir=tmp_path / "index", data_dir=tmp_path / "data")


def test_picks_become_a_checked_proposal_and_only_review_takes_them_in(tmp_path, embeddings) -> None:
    settings = _corpus(tmp_path)
    build_index(settings, embeddings=embeddings)
    assistant = Assistant(settings, open_index(settings, embeddings), picks=PickLog(settings.data_dir))
    charging = "fuhrpark#tanken-und-laden-1"
    # Staff's own words, picked after questions asked back (as the chat records them).
    assistant.ask("wie voll muss der e-wagen sein wenn ich ihn zurückbring", choice=charging, user="anna")
    assistant.ask("Wo lade ich das Elektroauto auf?", choice=charging)
    assistant.ask("Wo lade ich das Elektroauto auf?", choice=charging)  # twice: proposed once
    assistant.ask("Darf Frau Müller den Dienstwagen laden?", choice=charging)  # redacted: no example
    assistant.ask("Wann hat die Kantine offen?", choice="kantine#oeffnungszeiten-1")  # released already
    assistant.ask("Gibt es Kuchen?", choice=NOTHING_CHOSEN)  # a gap, no example question
    before = {p.name: p.read_bytes() for p in settings.corpus_dir.glob("*.md")}

    written = propose_from_picks(settings, embeddings=embeddings, today=dt.date(2026, 6, 1))
    assert [p.name for p in written] == [f"fuhrpark{PICKS_SUFFIX}"]  # the Kantine question is released
    assert {
        p.name: p.read_bytes() for p in settings.corpus_dir.glob("*.md")
    } == before  # nothing taken in yet
    proposal = settings.corpus_dir / f"fuhrpark{PICKS_SUFFIX}"
    text = proposal.read_text(encoding="utf-8")
    assert "Auswahl von Mitarbeitenden" in text and "NICHT freigegeben" in text
    assert "Sprachmodell" not in text.split("\n", 1)[0]  # these come from staff, not from a model
    data = yaml.safe_load(text)
    proposed = [q["frage"] for s in data["abschnitte"] for q in s["fragen"]]
    own_words = [
        "Wo lade ich das Elektroauto auf?",
        "wie voll muss der e-wagen sein wenn ich ihn zurückbring",
    ]
    assert sorted(proposed) == own_words
    assert {s["abschnitt"] for s in data["abschnitte"]} == {"Tanken und Laden"}
    assert all(q["art"] == "auswahl" and "rang" in q for s in data["abschnitte"] for q in s["fragen"])
    assert "Müller" not in text and "Gibt es Kuchen" not in text

    accepted = accept(proposal)
    taken = [q for qs in accepted.added.values() for q in qs]
    assert taken and set(taken) <= set(proposed)
    doc = parse_document(settings.corpus_dir / "fuhrpark.md")
    assert set(taken) <= set(doc.meta.fragen["Tanken und Laden"])
    assert doc.body == parse_document_from(before["fuhrpark.md"], tmp_path).body  # the text stays as it was


def parse_document_from(data: bytes, tmp_path):
    copy = tmp_path / "vorher" / "fuhrpark.md"
    copy.parent.mkdir(exist_ok=True)
    copy.write_bytes(data)
    return parse_document(copy)


def test_without_picks_nothing_is_proposed(tmp_path) -> None:
    settings = _corpus(tmp_path)
    assert propose_from_picks(settings) == []
    assert not list(settings.corpus_dir.glob(f"*{PICKS_SUFFIX}"))
