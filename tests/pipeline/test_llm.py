"""Language-model answers stay grounded: verified citations, fallback to quotes, redacted input."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import pytest

from bot.config import Settings
from bot.pipeline.assistant import Assistant
from tests.support.decisions import ALWAYS_ANSWER, decision_file
from tests.support.fake_llm import FakeLLM

QUESTION = "Muss ich Inhalte kennzeichnen, die mit KI erstellt wurden?"
TRANSPARENCY = "grundsaetze-ki#transparenz-1"


@pytest.fixture(scope="module")
def fake():
    with FakeLLM() as server:
        yield server


def _assistant(
    assistant: Assistant,
    fake: FakeLLM,
    mode: str,
    timeout: float = 5.0,
    bands: dict[str, float] = ALWAYS_ANSWER,
) -> Assistant:
    """The assistant with a language model, answering at once where the texts touch the question
    (the model writes only answers given at once: never a question asked back, never a refusal)."""
    settings = Settings(
        corpus_dir=assistant.settings.corpus_dir,
        index_dir=assistant.settings.index_dir,
        data_dir=assistant.settings.data_dir,
        llm=f"openai:{mode}",
        llm_base_url=fake.url,
        llm_api_key="test-key",
        llm_timeout=timeout,
        decision_file=decision_file(Path(tempfile.mkdtemp(prefix="bot-test-")), **bands),
    )
    return Assistant(settings, assistant.index)


def test_a_well_behaved_model_answers_with_verified_citations(assistant, fake) -> None:
    answer = _assistant(assistant, fake, "good").ask(QUESTION).answer
    assert answer.generator == "llm" and not answer.abstained
    assert answer.text.endswith("[1].") or answer.text.endswith("[1]")
    assert [s.passage.id for s in answer.sources] == [TRANSPARENCY]
    assert "Sprachmodell" in answer.disclosure and answer.to_json()["generator"] == "llm"


@pytest.mark.parametrize("mode", ["invented", "uncited"])
def test_sentences_with_invented_or_missing_citations_are_removed(assistant, fake, mode: str) -> None:
    answer = _assistant(assistant, fake, mode).ask(QUESTION).answer
    assert answer.generator == "llm"
    assert "Abmahnung" not in answer.text and "Pflichtschulung" not in answer.text
    assert "[7]" not in answer.text and [s.n for s in answer.sources] == [1]


@pytest.mark.parametrize("mode", ["unsupported", "obey", "empty", "error"])
def test_nothing_verified_or_a_failing_model_gives_the_quotes(assistant, fake, mode: str) -> None:
    answer = _assistant(assistant, fake, mode).ask(QUESTION).answer
    assert answer.generator == "extractive"
    assert "Wir kennzeichnen Inhalte" in answer.text and answer.sources[0].passage.id == TRANSPARENCY
    assert "KI-Assistent" in answer.disclosure


def test_a_hanging_model_falls_back_within_the_timeout(assistant, fake) -> None:
    started = time.monotonic()
    answer = _assistant(assistant, fake, "hang", timeout=1.0).ask(QUESTION).answer
    assert time.monotonic() - started < 4.0
    assert answer.generator == "extractive" and answer.sources


def test_only_passages_and_the_redacted_question_reach_the_model(assistant, fake) -> None:
    fake.requests.clear()
    _assistant(assistant, fake, "good").ask(
        "Darf ich den Arztbrief von Frau Müller (geb. 12.03.1948) in ChatGPT geben?"
    )
    sent = " ".join(m["content"] for m in fake.requests[-1]["messages"])
    assert "Müller" not in sent and "12.03.1948" not in sent and "[Name]" in sent
    assert "dürfen keinesfalls mit sensiblen Daten" in sent  # the retrieved passage, as data


def test_refusals_never_ask_the_model(assistant, fake) -> None:
    fake.requests.clear()
    refusing = {"answer_in_scope": 1.01, "choice_in_scope": 1.01}
    answer = _assistant(assistant, fake, "good", bands=refusing).ask("Wie wird das Wetter morgen?").answer
    assert answer.abstained and answer.generator == "extractive" and fake.requests == []


def test_streaming_shows_the_draft_then_returns_the_verified_answer(assistant, fake) -> None:
    tokens: list[str] = []
    answer = _assistant(assistant, fake, "uncited").ask(QUESTION, on_token=tokens.append).answer
    draft = "".join(tokens)
    assert len(tokens) > 5 and "Pflichtschulung" in draft  # the raw draft, as written
    assert answer.generator == "llm" and "Pflichtschulung" not in answer.text  # what stays is verified


def test_a_faithful_english_answer_citing_a_german_passage_passes_by_meaning(assistant, fake) -> None:
    answer = _assistant(assistant, fake, "english").ask("Do I have to label content made with AI?").answer
    assert answer.generator == "llm", answer.text
    assert answer.text.startswith("Content created with the help of AI is labelled")
    assert [s.passage.id for s in answer.sources] == [TRANSPARENCY]


@pytest.mark.parametrize("mode", ["unfaithful", "english-invented"])
def test_unfaithful_sentences_are_removed_in_either_language(assistant, fake, mode: str) -> None:
    answer = _assistant(assistant, fake, mode).ask(QUESTION).answer
    assert answer.generator == "extractive"  # nothing survived: the quotes instead
    assert "Vorstand" not in answer.text and "nicht gekennzeichnet" not in answer.text
    assert "formal warning" not in answer.text and "Wir kennzeichnen Inhalte" in answer.text


def test_verify_judges_polarity_and_language() -> None:
    import numpy as np

    from bot.pipeline.chunking import Passage
    from bot.pipeline.german import Analyzer
    from bot.pipeline.llm import verify

    passage = Passage(
        "d#a-1",
        "d",
        "T",
        ("Regel",),
        "Daten dürfen nicht in KI-Tools eingegeben werden.",
        1,
        "2026-01-01",
        "q",
        None,
    )
    analyzer = Analyzer(["daten", "dürfen", "nicht", "tools", "eingegeben", "werden", "ki"], [])
    same = np.ones((1, 2), dtype=np.float32) / np.sqrt(2)

    def embed(texts):  # every claim as close to the sentence as can be
        return np.repeat(same, len(texts), axis=0)

    flipped = verify(
        "Daten dürfen in KI-Tools eingegeben werden [1].", [passage], analyzer, embed, lambda p: same
    )
    assert flipped is None  # the terms match, the polarity does not
    kept = verify(
        "Daten dürfen nicht in KI-Tools eingegeben werden [1].", [passage], analyzer, embed, lambda p: same
    )
    assert kept is not None and kept.removed == 0
    english = "Data must not be entered into AI tools [1]."
    assert verify(english, [passage], analyzer, embed, lambda p: same) is not None  # by meaning
    assert verify(english, [passage], analyzer) is None  # without the model, another language fails
