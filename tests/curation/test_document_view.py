"""What the view shows of a document: passages as they will be quoted with the check's findings on
them, the wording's difference to the version it replaces, and whether the index serves it."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from bot.curation.document_view import detail, index_state, rows, word_diff
from bot.curation.versions import CorpusStore
from bot.pipeline.corpus import parse_document
from tests.support import write_doc

TODAY = dt.date(2026, 6, 1)


def test_word_diff_marks_what_is_new_and_what_went() -> None:
    diff = word_diff(
        "Flüge brauchen eine Genehmigung.", "Flüge brauchen eine schriftliche Genehmigung der Leitung."
    )
    assert "".join(t for op, t in diff if op != "+") == "Flüge brauchen eine Genehmigung."
    assert (
        "".join(t for op, t in diff if op != "-")
        == "Flüge brauchen eine schriftliche Genehmigung der Leitung."
    )
    assert diff == [
        ["=", "Flüge brauchen eine "],
        ["+", "schriftliche "],
        ["=", "Genehmigung"],
        ["+", " der Leitung"],
        ["=", "."],
    ]


def test_findings_sit_on_the_passage_they_concern(tmp_path: Path) -> None:
    store = CorpusStore(tmp_path / "corpus", tmp_path / "data")
    body = "Ein synthetischer Satz.\n\n## Kontakt\n\nBei Fragen Herrn Schmidt anrufen: 0211 1234567."
    write_doc(store.corpus_dir, "merkblatt", status="entwurf", heading="Regel", body=body)
    shown = detail(store, "merkblatt", {}, 1000, TODAY)
    head, passages = shown["vorschau"]["kopfdaten"], shown["vorschau"]["abschnitte"]
    assert [f["text"][:7] for f in head] == ["Entwurf"]  # a front-matter finding stays above the text
    assert [p["ueberschriften"] for p in passages] == [["Regel"], ["Kontakt"]]
    assert passages[0]["befunde"] == []
    assert passages[1]["befunde"] and {f["art"] for f in passages[1]["befunde"]} == {
        "fehler"
    }  # personal data
    assert [h["text"] for h in shown["ueberschriften"]] == ["Regel", "Kontakt"]


def test_a_new_version_shows_its_difference_to_the_one_it_replaces(tmp_path: Path) -> None:
    store = CorpusStore(tmp_path / "corpus", tmp_path / "data")
    write_doc(store.corpus_dir, "alt", titel="Regel", body="Flüge brauchen eine Genehmigung.")
    new = write_doc(
        store.corpus_dir, "neu", titel="Regel neu", status="entwurf", body="Flüge brauchen keine Genehmigung."
    )
    new.write_text(new.read_text().replace("status: entwurf", "status: entwurf\nersetzt: alt"))
    shown = detail(store, "neu", {}, 1000, TODAY)
    [compared] = shown["ersetzt_vergleich"]
    assert (
        compared["id"] == "alt" and ["+", "keine"] in compared["diff"] and ["-", "eine"] in compared["diff"]
    )
    assert detail(store, "alt", {}, 1000, TODAY)["ersetzt_von"] == ["neu"]


def test_index_state_says_whether_staff_are_answered_from_this_version(tmp_path: Path) -> None:
    released = parse_document(write_doc(tmp_path, "frei"))
    draft = parse_document(write_doc(tmp_path, "entwurf", status="entwurf"))
    assert index_state(released, {"frei": released.sha256}, TODAY) == "im Index"
    assert index_state(released, {"frei": "älter"}, TODAY) == "wird aktualisiert"
    assert index_state(draft, {}, TODAY) == "nicht im Index"
    assert index_state(draft, {"entwurf": draft.sha256}, TODAY) == "wird entfernt"


def test_a_broken_file_is_listed_not_hidden(tmp_path: Path) -> None:
    store = CorpusStore(tmp_path / "corpus", tmp_path / "data")
    write_doc(store.corpus_dir, "gut")
    (store.corpus_dir / "kaputt.md").write_text("kein Kopf\n", encoding="utf-8")
    listed = {r["id"]: r for r in rows(store, {}, {}, 1000, TODAY)}
    assert listed["kaputt"]["status"] == "fehlerhaft" and listed["gut"]["status"] == "freigegeben"
    assert detail(store, "kaputt", {}, 1000, TODAY)["status"] == "fehlerhaft"
