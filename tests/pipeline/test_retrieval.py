"""The real index and retriever on the real corpus put the right passage first, and refuse the rest."""

from __future__ import annotations

import pytest
from langchain_core.retrievers import BaseRetriever

from bot.pipeline.decide import AnswerKind

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
    turn = assistant.ask(question)
    assert turn.retrieval is not None and turn.retrieval.hits[0].passage.id == passage_id
    assert turn.answer.kind is AnswerKind.ANSWER


@pytest.mark.parametrize(
    "question",
    ["Wie wird das Wetter morgen?", "Wie beantrage ich Urlaub?", "Schreib mir ein Gedicht über Katzen"],
)
def test_out_of_scope_is_refused(assistant, question: str) -> None:
    assert assistant.ask(question).answer.kind is AnswerKind.REFUSAL


def test_follow_up_is_read_with_the_previous_question(assistant) -> None:
    alone = assistant.retriever.search("Und beim Datenschutz?")
    after = assistant.retriever.search("Und wer ist dafür zuständig?", ["Muss ich KI-Texte kennzeichnen?"])
    assert alone.hits[0].passage.id == "grundsaetze-ki#datenschutz-und-sicherheit-1"
    assert "kennzeichnen" in after.search_text
    transparency = assistant.retriever.search("Und auf Englisch?", ["Muss ich KI-Texte kennzeichnen?"])
    assert transparency.hits[0].passage.id == "grundsaetze-ki#transparenz-1"


def test_a_langchain_retriever_at_the_edge_ranks_as_the_assistant_does(assistant) -> None:
    from bot.pipeline.lc_retriever import PolicyRetriever

    retriever = PolicyRetriever(retriever=assistant.retriever)
    assert isinstance(retriever, BaseRetriever)
    docs = retriever.invoke("Muss ich KI-Inhalte kennzeichnen?")
    assert docs[0].metadata["passage_id"] == "grundsaetze-ki#transparenz-1"
    assert docs[0].metadata["score"] >= docs[-1].metadata["score"] and docs[0].metadata["answerable"]
    # A follow-up is read with the conversation's earlier question, as in the chat.
    follow_up = PolicyRetriever(
        retriever=assistant.retriever,
        settings=assistant.settings,
        history=("Muss ich KI-Texte kennzeichnen?",),
    ).invoke("Und auf Englisch?")
    assert follow_up[0].metadata["passage_id"] == "grundsaetze-ki#transparenz-1"


def test_a_long_message_is_read_where_it_asks(assistant) -> None:
    message = (
        "Ich arbeite seit zwölf Jahren in der ambulanten Pflege und bin ehrlich gesagt etwas genervt. "
        "Heute hat mir eine Kollegin erzählt, dass sie ihre Berichte jetzt mit so einem Chatbot schreibt. "
        "Sie kopiert dafür die Namen und Diagnosen der Klienten hinein. Ist das bei uns überhaupt erlaubt?"
    )
    turn = assistant.ask(message)
    retrieval = turn.retrieval
    assert retrieval is not None
    assert retrieval.hits[0].passage.id == "grundsaetze-ki#datenschutz-und-sicherheit-1"
    assert turn.answer.kind is AnswerKind.ANSWER
    assert len(retrieval.readings) == 2  # the whole message and the window around its question


def test_question_windows_and_message_sentences() -> None:
    from bot.pipeline.retrieve import message_sentences, question_windows

    sentences = message_sentences("ich bin neu hier. mein chef will was. darf ich das?\nDanke")
    assert sentences == ["ich bin neu hier.", "mein chef will was.", "darf ich das?", "Danke"]
    assert question_windows(sentences) == ["mein chef will was. darf ich das?"]
    assert question_windows(["a.", "b.", "c."]) == ["a. b.", "b. c."]


def test_scores_are_normalised_against_the_questions_own_best() -> None:
    import numpy as np

    from bot.pipeline.retrieve import normalised

    scores = np.array([10.0, 8.0, 6.0, 0.0, 0.0])
    present = np.array([True, True, True, False, False])
    z = normalised(scores, present, k=3)
    assert z[0] > z[1] > z[2] and z[3] == z[4] == z[2]  # missing ones sit at the k-th best
    assert np.allclose(normalised(scores * 100, present, k=3), z)  # any model's scale
    assert not normalised(np.array([1.0]), np.array([True]), k=3).any()


def test_every_sentence_of_a_passage_is_a_vector_of_its_own(assistant) -> None:
    from bot.pipeline.chunking import quote_units
    from bot.pipeline.index import VectorKind, sentence_id

    passage = next(p for p in assistant.index.passages if p.id == "grundsaetze-ki#transparenz-1")
    ids = [sentence_id(passage.id, n) for n in range(len(quote_units(passage)))]
    got = assistant.index.vectors[VectorKind.SENTENCE].get(ids=ids, include=["metadatas"])
    assert sorted(got["ids"]) == sorted(ids) and len(ids) == 3
    assert {m["passage_id"] for m in got["metadatas"]} == {passage.id}


def test_exact_similarities_are_the_models_own_for_each_kind(assistant, embeddings) -> None:
    from bot.pipeline.chunking import quote_units
    from bot.pipeline.index import VectorKind

    index = assistant.index
    position = index.position["grundsaetze-ki#transparenz-1"]
    passage = index.passages[position]
    vector = embeddings.embed_queries(["Muss ich KI-Texte kennzeichnen?"])[0]
    sentences = [f"{passage.headings[-1]}: {s}" for s in quote_units(passage)]
    expected = {
        VectorKind.TEXT: [passage.context_text()],
        VectorKind.SENTENCE: sentences,
        VectorKind.QUESTION: list(passage.questions),
    }
    for kind, texts in expected.items():
        found = index.similarities(kind, vector, [position])
        if not texts:
            assert found == {}
            continue
        own = max(float(v @ vector) for v in embeddings.embed_documents(texts))
        assert found.keys() == {position} and abs(found[position] - own) < 1e-4


def test_a_lexical_candidate_the_approximate_search_missed_keeps_its_similarity(
    assistant, monkeypatch
) -> None:
    """HNSW is approximate: among many near-identical vectors it can miss the right one. The
    passage BM25 finds must then be scored on its real similarity, not on none."""
    from bot.pipeline.index import VectorKind

    question, passage_id = CASES[0]
    before = assistant.retriever.search(question)
    index = assistant.index
    missed = index.position[passage_id]
    nearest = index.nearest

    def approximate(kind, matrix, k):
        found = nearest(kind, matrix, k)
        for scores, present in found if kind is not VectorKind.QUESTION else ():  # those stay as searched
            if kind is VectorKind.SENTENCE:
                scores[missed], present[missed] = 0.1, True  # reached through a weak sentence only
            else:
                scores[missed], present[missed] = 0.0, False
        return found

    monkeypatch.setattr(index, "nearest", approximate)
    after = assistant.retriever.search(question)
    assert after.hits[0].passage.id == passage_id == before.hits[0].passage.id
    assert after.hits[0].dense == before.hits[0].dense > 0.5
    assert after.hits[0].score == before.hits[0].score
