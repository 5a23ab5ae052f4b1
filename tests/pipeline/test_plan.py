"""The index plan: what a run changes, decided from the old manifest and the documents alone (no Chroma)."""

from __future__ import annotations

import dataclasses

from bot.pipeline.index import BuildParameters, Manifest
from bot.pipeline.index.plan import plan_build

PARAMS = BuildParameters(
    format=4,
    model="e5",
    max_passage_chars=1000,
    chunking_version=1,
    analyzer_version=1,
    vector_store="local",
    vector_graph="hnsw 32",
)


def _old(documents: dict[str, str], parameters: BuildParameters = PARAMS, synonyms: str = "s1") -> Manifest:
    return Manifest("b1", parameters, documents, synonyms, corpus_hash="h", passages=len(documents))


def test_a_first_run_embeds_every_document() -> None:
    plan = plan_build(None, {"a": "1", "b": "2"}, [], PARAMS, "s1", old_vectors=False)
    assert (plan.new, plan.changed, plan.removed, plan.kept) == (("a", "b"), (), (), ())
    assert not plan.reusable and not plan.skip and plan.unchanged == 0
    assert plan.embeds("a") and plan.embeds("b")


def test_an_unchanged_corpus_is_skipped() -> None:
    plan = plan_build(_old({"a": "1"}), {"a": "1"}, [], PARAMS, "s1", old_vectors=True)
    assert plan.skip and plan.reusable and plan.unchanged == 1 and not plan.embeds("a")


def test_new_changed_and_removed_documents_are_told_apart() -> None:
    old = _old({"a": "1", "b": "2", "c": "3"})
    plan = plan_build(old, {"a": "1", "b": "2b", "d": "4"}, [], PARAMS, "s1", old_vectors=True)
    assert (plan.new, plan.changed, plan.removed) == (("d",), ("b",), ("c",))
    assert plan.unchanged == 1 and plan.stale == {"b", "c"} and not plan.skip
    assert [d for d in "abd" if plan.embeds(d)] == ["b", "d"]
    assert plan.documents == {"a": "1", "b": "2b", "d": "4"}


def test_a_broken_edit_keeps_the_last_good_version() -> None:
    plan = plan_build(_old({"a": "1", "b": "2"}), {"a": "1"}, ["b", "neu"], PARAMS, "s1", old_vectors=True)
    assert plan.kept == ("b",) and plan.documents == {"a": "1", "b": "2"}
    assert plan.removed == () and plan.skip  # nothing to do: b serves as before, neu never served


def test_other_parameters_or_missing_vectors_rebuild_everything() -> None:
    older = dataclasses.replace(PARAMS, format=3)
    for old, vectors in ((_old({"a": "1"}, older), True), (_old({"a": "1"}), False)):
        plan = plan_build(old, {"a": "1"}, [], PARAMS, "s1", old_vectors=vectors)
        assert not plan.reusable and not plan.skip and plan.new == ("a",) and plan.embeds("a")
        assert plan.same_model == vectors  # the vectors of the same model are still taken over by text


def test_vectors_of_another_model_are_never_taken_over() -> None:
    other = dataclasses.replace(PARAMS, model="minilm", vector_graph="hnsw 16")
    plan = plan_build(_old({"a": "1"}, other), {"a": "1"}, [], PARAMS, "s1", old_vectors=True)
    assert not plan.reusable and not plan.same_model and plan.embeds("a")


def test_an_index_written_before_the_graph_was_recorded_reads_as_chromas_defaults() -> None:
    import pytest

    from bot.errors import IndexMismatchError
    from bot.pipeline.index.manifest import vector_graph

    stored = {f.name: getattr(PARAMS, f.name) for f in dataclasses.fields(PARAMS)}
    del stored["vector_graph"]
    assert BuildParameters.from_json(stored).vector_graph == vector_graph(16, 100, 100)
    del stored["model"]
    with pytest.raises(IndexMismatchError):
        BuildParameters.from_json(stored)


def test_changed_synonyms_build_again_without_embedding_anything() -> None:
    plan = plan_build(_old({"a": "1"}), {"a": "1"}, [], PARAMS, "s2", old_vectors=True)
    assert not plan.skip and plan.reusable and not plan.embeds("a") and plan.unchanged == 1
