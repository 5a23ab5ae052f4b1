"""Answers quote verbatim with citations that point at listed sources, and always disclose the AI."""

from __future__ import annotations

import re

import pytest

from bot.errors import QuestionError

QUOTE = re.compile(r"„(.+?)“ \[(\d+)\]")


@pytest.mark.parametrize(
    "question",
    [
        "Muss ich Inhalte kennzeichnen, die mit KI erstellt wurden?",
        "Welche Prinzipien hat der ASB zu KI formuliert?",
        "Wer leitet das Referat Digitalisierung?",
        "Darf ich Namen von Klienten in ein KI-Tool eingeben und muss ich das Ergebnis prüfen?",
    ],
)
def test_every_quote_is_verbatim_from_the_source_it_cites(assistant, question: str) -> None:
    answer = assistant.ask(question)
    assert not answer.abstained
    quotes = QUOTE.findall(answer.text)
    assert quotes
    cited = {int(n) for _, n in quotes}
    assert cited == {s.n for s in answer.sources}, "only sources the answer uses are listed"
    by_n = {s.n: s.passage for s in answer.sources}
    for quote, n in quotes:
        passage = by_n[int(n)]
        flat = " ".join(passage.text.split())
        pieces = [q.strip() for q in quote.split(", ")] if "\n" in passage.text else [quote]
        assert all(piece in flat or piece in passage.section for piece in pieces), (quote, passage.id)
    assert "KI-Assistent" in answer.disclosure


def test_refusal_names_the_referat_and_cites_its_contact(assistant) -> None:
    answer = assistant.ask("Wie wird das Wetter morgen?")
    assert answer.abstained
    assert "Referat Digitalisierung" in answer.text
    assert answer.sources and all(s.passage.doc_id == "referat-digitalisierung" for s in answer.sources)
    assert "finis(at)asb-nrw.de" in answer.text
    assert answer.disclosure


@pytest.mark.parametrize("question", ["", "   ", "\n\t", "?!", None])
def test_empty_questions_get_a_polite_hint(assistant, question) -> None:
    with pytest.raises(QuestionError, match="Bitte stellen Sie eine Frage"):
        assistant.ask(question)


def test_overlong_question_is_cut_with_a_note(assistant) -> None:
    answer = assistant.ask("Muss ich KI-Inhalte kennzeichnen? " + "bla " * 5000)
    assert answer.notes and "ersten 1000 Zeichen" in answer.notes[0]
    assert len(answer.question) <= 1000


def test_asking_whom_to_ask_names_the_contact(assistant) -> None:
    answer = assistant.ask("Wen kann ich bei Fragen zu KI ansprechen?")
    assert not answer.abstained
    assert "Expert:innen-Team" in answer.text and "finis(at)asb-nrw.de" in answer.text
    assert [s.passage.doc_id for s in answer.sources] == ["referat-digitalisierung"] * 2


def test_errors_disclose_the_ai_without_claiming_sources(real_settings) -> None:
    from bot.assistant import error_answer

    answer = error_answer("x", "Kein Index gefunden.", real_settings)
    assert answer.sources == [] and "KI-Assistent" in answer.disclosure
    assert "genannten" not in answer.disclosure
