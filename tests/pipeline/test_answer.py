"""Answers quote verbatim with citations that point at listed sources, and always disclose the AI."""

from __future__ import annotations

import re

import pytest

from bot.errors import QuestionError
from bot.pipeline.answer import HINT_HEADING

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
    answer = assistant.ask(question).answer
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
    answer = assistant.ask("Wie wird das Wetter morgen?").answer
    assert answer.abstained
    assert "Referat Digitalisierung" in answer.text
    assert answer.sources and all(s.passage.doc_id == "referat-digitalisierung" for s in answer.sources)
    assert "finis(at)asb-nrw.de" in answer.text
    assert answer.disclosure


def _declining(assistant, **settings):
    """The same assistant and index, with other abstention settings."""
    from bot.pipeline.assistant import Assistant

    return Assistant(assistant.settings.model_copy(update=settings), assistant.index)


def test_a_near_miss_refusal_offers_the_closest_passage_as_a_guess(assistant) -> None:
    # A question the texts answer, declined here only because the bar is set above its confidence.
    strict = _declining(assistant, min_confidence=0.999, hint_confidence=0.0)
    answer = strict.ask("Muss ich Inhalte kennzeichnen, die mit KI erstellt wurden?").answer
    assert answer.abstained
    assert answer.text.startswith("Eine Antwort auf Ihre Frage finde ich in den freigegebenen Texten nicht")
    assert "prüfen Sie bitte selbst" in answer.text
    roles = [s.role for s in answer.sources]
    assert roles == ["hint", "contact", "contact"]
    hint = answer.sources[0]
    assert hint.passage.section == "Transparenz"
    quotes = QUOTE.findall(answer.text)
    assert {int(n) for _, n in quotes} == {s.n for s in answer.sources}
    flat = " ".join(hint.passage.text.split())
    assert all(q in flat for q, n in quotes if n == "1")
    assert answer.source_lists() == [(HINT_HEADING, [hint]), ("Quellen", answer.sources[1:])]
    assert [s["role"] for s in answer.to_json()["sources"]] == roles
    assert [p["role"] for p in answer.provenance()["passages"]] == roles


def test_the_guess_starts_exactly_at_the_hint_confidence(assistant) -> None:
    question = "Muss ich Inhalte kennzeichnen, die mit KI erstellt wurden?"
    confidence = assistant.retriever.search(question).confidence
    at = _declining(assistant, min_confidence=0.999, hint_confidence=confidence).ask(question).answer
    assert [s.role for s in at.sources] == ["hint", "contact", "contact"]
    above = _declining(assistant, min_confidence=0.999, hint_confidence=min(1.0, confidence + 1e-4))
    answer = above.ask(question).answer
    assert answer.abstained and "keine passende Stelle" in answer.text
    assert [s.role for s in answer.sources] == ["contact", "contact"]


def test_no_guess_when_no_sentence_shares_a_word_with_the_question(assistant) -> None:
    strict = _declining(assistant, min_confidence=0.999, hint_confidence=0.0)
    for question in [
        "Schreib mir ein Gedicht zum Geburtstag meiner Kollegin.",
        "drucker im büro geht nicht was tun",
    ]:
        answer = strict.ask(question).answer
        assert answer.abstained and all(s.role == "contact" for s in answer.sources), question


def test_a_guess_without_contact_passages_still_names_the_referat(assistant) -> None:
    from bot.pipeline.answer import HINT_NO_CONTACT, Question, decline
    from bot.pipeline.retrieve import Hit

    passage = next(p for p in assistant.index.passages if p.section == "Transparenz")
    hit = Hit(passage, score=1.0, lexical=1.0, dense=0.5, coverage=0.5)
    answer = decline(Question("?"), assistant.settings, [], guess=(hit, ["Wir kennzeichnen Inhalte"]))
    assert answer.abstained and answer.text.endswith(HINT_NO_CONTACT)
    assert [(s.n, s.role) for s in answer.sources] == [(1, "hint")]
    assert "„Wir kennzeichnen Inhalte“ [1]" in answer.text


@pytest.mark.parametrize(
    ("confidence", "coverage", "with_hits", "expected"),
    [
        (0.25, 0.4, True, True),
        (0.9, 0.4, True, False),  # answered: nothing to guess
        (0.1, 0.4, True, False),  # not close enough
        (0.25, 0.0, True, False),  # the passage shares no word with the question
        (0.25, 0.4, False, False),  # nothing found
    ],
)
def test_the_decision_offers_a_guess_only_for_a_close_refusal(
    assistant, confidence, coverage, with_hits, expected
) -> None:
    import dataclasses

    from bot.pipeline.decide import AnswerKind, decide

    real = assistant.retriever.search("Muss ich Inhalte kennzeichnen, die mit KI erstellt wurden?")
    hits = [dataclasses.replace(real.hits[0], coverage=coverage)] if with_hits else []
    retrieval = dataclasses.replace(real, hits=hits, confidence=confidence)
    settings = assistant.settings.model_copy(update={"min_confidence": 0.53, "hint_confidence": 0.2})
    decision = decide(retrieval, settings)
    assert decision.kind is (AnswerKind.ANSWER if confidence >= 0.53 else AnswerKind.REFUSAL)
    assert (decision.guess is not None) == expected


def test_a_question_about_the_contact_is_not_given_the_contact_twice(assistant) -> None:
    strict = _declining(assistant, min_confidence=0.999, hint_confidence=0.0)
    answer = strict.ask("Wen kann ich bei Fragen zu KI ansprechen?").answer
    assert answer.abstained
    ids = [s.passage.id for s in answer.sources]
    assert len(ids) == len(set(ids)) and {s.role for s in answer.sources} == {"contact"}


@pytest.mark.parametrize("question", ["", "   ", "\n\t", "?!", None])
def test_empty_questions_get_a_polite_hint(assistant, question) -> None:
    with pytest.raises(QuestionError, match="Bitte stellen Sie eine Frage"):
        assistant.ask(question)


def test_overlong_question_is_cut_with_a_note(assistant) -> None:
    answer = assistant.ask("Muss ich KI-Inhalte kennzeichnen? " + "bla " * 5000).answer
    assert answer.notes and "ersten 1000 Zeichen" in answer.notes[0]
    assert len(answer.question) <= 1000


def test_asking_whom_to_ask_names_the_contact(assistant) -> None:
    answer = assistant.ask("Wen kann ich bei Fragen zu KI ansprechen?").answer
    assert not answer.abstained
    assert "Expert:innen-Team" in answer.text and "finis(at)asb-nrw.de" in answer.text
    assert [s.passage.doc_id for s in answer.sources] == ["referat-digitalisierung"] * 2


def test_errors_disclose_the_ai_without_claiming_sources(real_settings) -> None:
    from bot.pipeline.assistant import error_answer

    answer = error_answer("x", "Kein Index gefunden.", real_settings)
    assert answer.sources == [] and "KI-Assistent" in answer.disclosure
    assert "genannten" not in answer.disclosure


@pytest.mark.parametrize(
    ("question", "items"),
    [
        (
            "Welche Grundsätze gibt es?",
            ["Der Mensch steht im Mittelpunkt", "Transparenz", "Datenschutz und Sicherheit",
             "Autonomie und Kontrolle", "Fairness und Nicht-Boshaftigkeit"],
        ),
        ("Welche fünf Grundsätze gelten für KI beim ASB in NRW?", None),
        ("Wer arbeitet im Referat?", ["Esther Finis", "Gerrit Suhr", "Aylin Hermanns",
                                      "Nika Levintov-Levitan"]),
        ("Wer gehört alles zum Referat Digitalisierung?", None),
    ],
)  # fmt: skip
def test_an_overview_question_lists_every_item_each_cited(assistant, question: str, items) -> None:
    answer = assistant.ask(question).answer
    assert not answer.abstained and answer.outline is not None
    outline = assistant.index.passage(answer.outline)
    assert len(answer.quotes) == len(outline.parts) >= 4
    # Each item cites the passage it names; sources are exactly those passages.
    assert [s.passage.id for s in answer.sources] == list(outline.parts)
    assert [q.n for q in answer.quotes] == [s.n for s in answer.sources]
    for quote, source in zip(answer.quotes, answer.sources, strict=True):
        assert quote.text.startswith(source.passage.headings[-1])  # verbatim heading (or address)
    if items:
        assert [q.text.split(",")[0] for q in answer.quotes] == items


def test_a_list_in_the_text_is_quoted_whole(assistant) -> None:
    answer = assistant.ask("Welche Prinzipien hat der ASB formuliert?").answer
    assert answer.outline is None
    quoted = [q.text for q in answer.quotes]
    assert "Daher haben wir die folgenden Prinzipien formuliert:" in quoted
    assert sum(q.startswith(("KI", "Wenn wir KI", "Wir wollen KI")) for q in quoted) == 4


@pytest.mark.parametrize(
    ("question", "passage_id"),
    [
        ("Was bedeutet Transparenz?", "grundsaetze-ki#transparenz-1"),
        ("Wer leitet das Referat?", "referat-digitalisierung#esther-finis-1"),
        ("Welche Regeln gelten beim Datenschutz?", "grundsaetze-ki#datenschutz-und-sicherheit-1"),
    ],
)
def test_a_question_about_one_item_lands_on_that_item(assistant, question: str, passage_id: str) -> None:
    answer = assistant.ask(question).answer
    assert answer.outline is None and answer.sources[0].passage.id == passage_id


def test_each_quote_stands_under_its_heading_the_answering_sentence_first(assistant) -> None:
    answer = assistant.ask("Muss ich Inhalte kennzeichnen, die mit KI erstellt wurden?").answer
    lines = answer.text.splitlines()
    assert lines[2] == "Transparenz:" and answer.quotes[0].heading == "Transparenz"
    assert "kennzeichnen" in answer.quotes[0].text  # the sentence that answers, not the first one
    assert lines[3] == f"„{answer.quotes[0].text}“ [1]"
    assert len(answer.quotes) <= 3


def test_quote_precision_and_answer_recall_count_what_the_answer_says(assistant) -> None:
    from bot.ops.evaluate import GoldQuestion, _answer_quality

    answer = assistant.ask("Muss ich Inhalte kennzeichnen, die mit KI erstellt wurden?").answer
    right = GoldQuestion("r", "direkt", answer.question, ["Wir kennzeichnen Inhalte"], [])
    wrong = GoldQuestion("w", "direkt", answer.question, ["Nichtdiskriminierung, Vielfalt"], [])
    good, bad = _answer_quality(right, answer), _answer_quality(wrong, answer)
    assert good["quoted"] == bad["quoted"] == len(answer.quotes)
    assert good["quoted_right"] == sum(q.n == 1 for q in answer.quotes) and good["recalled"]
    assert bad["quoted_right"] == 0 and not bad["recalled"]


def test_the_side_panel_text_marks_exactly_the_quotes() -> None:
    from bot.pipeline.render import marked

    text = "Erster Satz. Wir kennzeichnen Inhalte. Jede*r prüft."
    assert (
        marked(text, ["Wir kennzeichnen Inhalte."])
        == "Erster Satz. **Wir kennzeichnen Inhalte.** Jede\\*r prüft."
    )
    block = "Leitung Referat\nKöln"
    assert marked(block, ["Esther Finis, Leitung Referat, Köln"]) == "**Leitung Referat**\n**Köln**"
    assert marked(text, ["nicht im Text"]) == "Erster Satz. Wir kennzeichnen Inhalte. Jede\\*r prüft."
