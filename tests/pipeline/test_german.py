"""German analysis: spellings, compounds, typos and synonyms meet the corpus words."""

from __future__ import annotations

import pytest

from bot.pipeline.german import RELATED, Analyzer, stand_ins, words

VOCABULARY = words(
    "Grundsätze Datenschutz personenbezogenen Daten Transparenz kennzeichnen Inhalte "
    "Verwaltungsaufgaben Mitarbeiter*innen dürfen Schutz"
)
SYNONYMS = [["KI", "künstliche Intelligenz", "ChatGPT", "AI"], ["kennzeichnen", "label"]]


@pytest.fixture(scope="module")
def analyzer() -> Analyzer:
    return Analyzer(VOCABULARY, SYNONYMS)


def test_umlaut_spellings_meet(analyzer: Analyzer) -> None:
    assert analyzer.terms("Grundsaetze") == analyzer.terms("Grundsätze")


def test_gender_marks_split_off(analyzer: Analyzer) -> None:
    assert analyzer.terms("Mitarbeiter*innen") == analyzer.terms("Mitarbeiter")


def test_modal_verb_forms_meet(analyzer: Analyzer) -> None:
    assert analyzer.terms("darf") == analyzer.terms("dürfen")


def test_compound_reaches_its_known_parts(analyzer: Analyzer) -> None:
    assert set(analyzer.terms("Daten")) <= set(analyzer.terms("Klientendaten"))
    assert set(analyzer.terms("Datenschutz")) <= set(analyzer.terms("Datenschutzregeln"))


def test_typos_are_corrected_only_in_questions(analyzer: Analyzer) -> None:
    assert analyzer.terms("Transparens", query=True) == analyzer.terms("Transparenz")
    assert analyzer.terms("Transparens") != analyzer.terms("Transparenz")


def test_synonyms_share_a_marker_across_languages(analyzer: Analyzer) -> None:
    marker = {t for t in analyzer.terms("künstliche Intelligenz") if t.startswith("syn")}
    assert marker and marker <= set(analyzer.terms("ChatGPT")) and marker <= set(analyzer.terms("AI"))
    assert not marker & set(analyzer.terms("Datenschutz"))


def test_stopwords_and_invisible_characters_are_dropped(analyzer: Analyzer) -> None:
    assert analyzer.terms("und oder fuer die\u200b") == []


def test_mentions_finds_a_term_through_its_synonyms(analyzer: Analyzer) -> None:
    assert analyzer.mentions(analyzer.analyse("Darf ich das in ChatGPT kopieren?", query=True), "KI")
    assert not analyzer.mentions(analyzer.analyse("Wie beantrage ich Urlaub?", query=True), "KI")


def test_participles_meet_their_verb(analyzer: Analyzer) -> None:
    assert analyzer.terms("geprüft") == analyzer.terms("prüfen")
    assert analyzer.terms("gekennzeichnet") == analyzer.terms("kennzeichnen")


def test_misspelt_function_words_do_not_count_as_unknown(analyzer: Analyzer) -> None:
    # "sint" (sind) and "fragn" (fragen) are one edit from a stop word and in no dictionary.
    assert analyzer.terms("was sint die Grundsätze", query=True) == analyzer.terms("Grundsätze")
    assert analyzer.terms("fragn zum Datenschutz", query=True) == analyzer.terms("Datenschutz")
    # A real word one edit from a stop word stays: it may be what makes a question off-topic.
    # (Its thesaurus synonyms may join it in a question: the word itself must stay.)
    assert analyzer.terms("Gehalt", query=True)[0] == analyzer.stem("gehalt")


def test_english_function_words_are_dropped_from_questions(analyzer: Analyzer) -> None:
    assert analyzer.terms("what should we do about Transparenz", query=True) == analyzer.terms("Transparenz")
    assert analyzer.terms("payroll", query=True)


def test_a_synonym_made_of_stop_words_still_matches() -> None:
    analyzer = Analyzer(words("unaufgefordert Auskunft geben"), [["unaufgefordert", "von sich aus"]])
    marker = {t for t in analyzer.terms("unaufgefordert") if t.startswith("syn")}
    assert marker and marker <= set(analyzer.terms("Muss ich das von sich aus sagen?", query=True))
    assert not marker & set(analyzer.terms("Das kommt von aus sich", query=True))


def test_dialect_das_does_not_meet_daten(analyzer: Analyzer) -> None:
    assert not set(analyzer.terms("stimmt dat?", query=True)) & set(analyzer.terms("Daten"))


def test_english_inflections_meet_english_keywords() -> None:
    analyzer = Analyzer(words("prüfen check"), [["prüfen", "check"]])
    assert set(analyzer.terms("check")) <= set(analyzer.terms("checking", query=True))


def test_names_near_short_stop_words_stay(analyzer: Analyzer) -> None:
    # "Miro" is one edit from "mir", "Qwen" from "wen": unknown tools must stay unknown words.
    assert analyzer.stem("miro") in analyzer.terms("Darf ich Miro nutzen?", query=True)
    assert analyzer.stem("qwen") in analyzer.terms("Qwen für Klientendaten", query=True)


def test_german_words_do_not_take_the_english_stem() -> None:
    analyzer = Analyzer(words("Projekt Direkt well"), [])
    assert analyzer.terms("Projektion", query=True) != analyzer.terms("Projekt")
    assert analyzer.terms("Direktion", query=True) != analyzer.terms("direkt")
    assert analyzer.terms("Wellness", query=True) != analyzer.terms("well")


def test_ge_words_that_are_no_participles_keep_their_meaning(analyzer: Analyzer) -> None:
    assert analyzer.stem("gesamt") != analyzer.stem("samen")
    assert analyzer.stem("gewohnt") != analyzer.stem("wohnen")


def related(analyzer: Analyzer, question: str) -> set[str]:
    """The stems a question reaches only through the thesaurus."""
    return {t[len(RELATED) :] for t in analyzer.terms(question, query=True) if t.startswith(RELATED)}


def test_the_thesaurus_bridges_words_the_corpus_lacks() -> None:
    analyzer = Analyzer(words("Schreibarbeiten Fortbildung Anwendung Urlaub"), [])
    assert related(analyzer, "Wer hilft mir beim Schreibkram?") == {analyzer.stem("schreibarbeiten")}
    assert related(analyzer, "Gibt es eine Schulung dazu?") == {analyzer.stem("fortbildung")}
    assert analyzer.stem("anwendung") in related(analyzer, "Welche Software ist erlaubt?")
    # A word of the thesaurus is no typo: "Schreibkram" is not corrected to a corpus word.
    assert analyzer.stem("schreibkram") in analyzer.terms("Schreibkram", query=True)


def test_the_thesaurus_only_widens_questions() -> None:
    analyzer = Analyzer(words("Schreibarbeiten Schreibkram Fortbildung"), [])
    assert not any(t.startswith(RELATED) for t in analyzer.terms("Schreibkram und Schulung"))
    # A word is never its own synonym: what the question says counts in full, once.
    assert analyzer.stem("schreibkram") not in related(analyzer, "Schreibkram")


def test_polysemous_and_modal_words_are_not_widened() -> None:
    analyzer = Analyzer(words("Arbeit Tätigkeit müssen sollen Roboter Automat"), [])
    assert not related(analyzer, "Was darf ich tun?")  # "tun" has seven meanings, "Arbeit" among them
    assert not related(analyzer, "Ersetzt die Maschine uns?")  # six: an aircraft, a motorbike, a robot …
    assert not related(analyzer, "Dürfen wir das?")  # "dürfen" is no "müssen"
    assert "arbeit" not in stand_ins("beschäftigung")  # "Arbeit" itself has too many meanings
