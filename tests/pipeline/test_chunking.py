"""Passages: heading-aware, at most the configured size, with stable ids."""

from __future__ import annotations

from pathlib import Path

from bot.pipeline.chunking import cut_passages, split_sentences
from bot.pipeline.corpus import load_corpus, parse_document
from tests.support import REPO, write_doc


def test_real_corpus_passages_fit_and_carry_their_heading_path() -> None:
    docs = load_corpus(REPO / "corpus").documents
    passages = [p for d in docs for p in cut_passages(d, 1000)]
    assert all(0 < len(p.text) <= 1000 for p in passages)
    assert len({p.id for p in passages}) == len(passages)
    transparency = [p for p in passages if p.headings and p.headings[-1] == "Transparenz"]
    assert len(transparency) == 1
    assert transparency[0].text.startswith("Personen, die KI anwenden")
    assert "Transparenz" in transparency[0].context_text()


def test_a_lead_in_and_its_list_form_one_passage() -> None:
    doc = parse_document(REPO / "corpus" / "code-of-conduct-demokratische-ki.md")
    (principles,) = [p for p in cut_passages(doc, 1000) if "folgenden Prinzipien" in p.text]
    assert principles.text.count("\n- ") == 4


def test_long_paragraphs_split_at_sentence_ends(tmp_path: Path) -> None:
    sentence = "Dieser synthetische Satz hat genau so viele Wörter wie nötig, um Platz zu füllen. "
    path = write_doc(tmp_path, "lang", body=sentence * 40)
    passages = cut_passages(parse_document(path), 300)
    assert len(passages) > 5
    assert all(len(p.text) <= 300 for p in passages)
    assert all(p.text.endswith(".") for p in passages)


def test_ids_stay_stable_when_another_section_changes(tmp_path: Path) -> None:
    path = write_doc(tmp_path, "doc", body="Erster Absatz.\n\n## Zweiter Abschnitt\n\nZweiter Absatz.")
    before = [p.id for p in cut_passages(parse_document(path), 1000) if not p.is_outline]
    path.write_text(path.read_text(encoding="utf-8").replace("Erster Absatz.", "Neu.\n\nNoch neuer."))
    after = [p.id for p in cut_passages(parse_document(path), 1000) if not p.is_outline]
    assert before[-1] == after[-1] == "doc#zweiter-abschnitt-1"


def test_sentence_splitter_respects_abbreviations() -> None:
    text = "Sensible Daten (wie z. B. Namen) sind tabu. Der ASB Deutschland e.V. ist Partner. Gut?"
    assert split_sentences(text) == [
        "Sensible Daten (wie z. B. Namen) sind tabu.",
        "Der ASB Deutschland e.V. ist Partner.",
        "Gut?",
    ]
