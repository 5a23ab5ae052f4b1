"""The real index and retriever on the real corpus put the right passage first, and refuse the rest."""

from __future__ import annotations

import pytest
from langchain_core.retrievers import BaseRetriever

CASES = [
    ("Muss ich Inhalte kennzeichnen, die mit KI erstellt wurden?", "grundsaetze-ki#transparenz-1"),
    ("Darf ich Klientendaten in ChatGPT kopieren?", "grundsaetze-ki#datenschutz-und-sicherheit-1"),
    ("Wer entscheidet am Ende, die KI oder ich?", "grundsaetze-ki#autonomie-und-kontrolle-1"),
    (
        "Wie geht der ASB mit Diskriminierung durch KI um?",
        "grundsaetze-ki#fairness-und-nicht-boshaftigkeit-1",
    ),
    (
        "Welche Prinzipien hat der ASB zu KI formuliert?",
        "code-of-conduct-demokratische-ki#die-positionspapiere-im-ueberblick-1",
    ),
    ("Telefonnummer von Gerrit Suhr?", "referat-digitalisierung#gerrit-suhr-1"),
    ("Do I have to label texts written with ChatGPT?", "grundsaetze-ki#transparenz-1"),
    ("Grundsaetze Datenschuz bei KI", "grundsaetze-ki#datenschutz-und-sicherheit-1"),
]


@pytest.mark.parametrize(("question", "passage_id"), CASES)
def test_right_passage_first(assistant, question: str, passage_id: str) -> None:
    retrieval = assistant.retriever.search(question)
    assert retrieval.hits[0].passage.id == passage_id
    assert retrieval.answerable


@pytest.mark.parametrize(
    "question",
    ["Wie wird das Wetter morgen?", "Wie beantrage ich Urlaub?", "Schreib mir ein Gedicht über Katzen"],
)
def test_out_of_scope_is_refused(assistant, question: str) -> None:
    assert not assistant.retriever.search(question).answerable


def test_follow_up_is_read_with_the_previous_question(assistant) -> None:
    alone = assistant.retriever.search("Und beim Datenschutz?")
    after = assistant.retriever.search("Und wer ist dafür zuständig?", ["Muss ich KI-Texte kennzeichnen?"])
    assert alone.hits[0].passage.id == "grundsaetze-ki#datenschutz-und-sicherheit-1"
    assert "kennzeichnen" in after.search_text
    transparency = assistant.retriever.search("Und auf Englisch?", ["Muss ich KI-Texte kennzeichnen?"])
    assert transparency.hits[0].passage.id == "grundsaetze-ki#transparenz-1"


def test_it_is_a_langchain_retriever(assistant) -> None:
    retriever = assistant.retriever
    assert isinstance(retriever, BaseRetriever)
    docs = retriever.invoke("Muss ich KI-Inhalte kennzeichnen?")
    assert docs[0].metadata["passage_id"] == "grundsaetze-ki#transparenz-1"
    assert docs[0].metadata["score"] >= docs[-1].metadata["score"]
