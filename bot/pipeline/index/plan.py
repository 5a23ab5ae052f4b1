"""What an index run has to do, decided from the old manifest and the documents alone.

A pure function: no files, no Chroma, no model. The builder carries the plan out."""

from __future__ import annotations

from dataclasses import dataclass

from bot.pipeline.index.manifest import BuildParameters, Manifest


@dataclass(frozen=True)
class BuildPlan:
    """The documents of the next build and what happens to each."""

    documents: dict[str, str]  # document id -> content hash, as the next manifest records them
    new: tuple[str, ...]  # not in the old build: embedded
    changed: tuple[str, ...]  # another hash than in the old build: re-embedded
    removed: tuple[str, ...]  # in the old build, gone now (withdrawn, expired, deleted)
    kept: tuple[str, ...]  # broken by an edit: serve their last good version from the old build
    reusable: bool  # the old build's vectors can be carried over (same parameters, vectors there)
    skip: bool  # nothing changed: the old build stays as it is
    # The old build's vectors are the same model's: a text it holds is taken over, not embedded,
    # even when other parameters (passage length, the graph) make every document new.
    same_model: bool = False

    @property
    def unchanged(self) -> int:
        """Documents whose vectors are carried over unchanged."""
        return len(self.documents) - len(self.new) - len(self.changed)

    @property
    def stale(self) -> set[str]:
        """Documents whose old vectors must go."""
        return {*self.changed, *self.removed}

    def embeds(self, doc_id: str) -> bool:
        """Whether this document's passages are embedded in this run."""
        return not self.reusable or doc_id in self.new or doc_id in self.changed


def plan_build(
    old: Manifest | None,
    active: dict[str, str],
    broken: list[str],
    parameters: BuildParameters,
    synonyms_hash: str,
    *,
    old_vectors: bool,
) -> BuildPlan:
    """The plan from the old manifest (None: no usable index, or a rebuild), the active documents
    (id -> hash), the documents that fail to parse now, the build parameters, the synonyms' hash
    and whether the old build's vectors are still stored."""
    documents = dict(active)
    before_all = old.documents if old else {}
    # A released document that an edit broke keeps serving its last good version.
    kept = tuple(d for d in broken if d in before_all)
    documents.update({d: before_all[d] for d in kept})
    reusable = old is not None and old.parameters == parameters and old_vectors
    before = before_all if reusable else {}
    new = tuple(d for d in documents if d not in before)
    changed = tuple(d for d, h in documents.items() if d in before and before[d] != h)
    removed = tuple(d for d in before if d not in documents)
    same_synonyms = old is not None and old.synonyms == synonyms_hash
    skip = reusable and not (new or changed or removed) and same_synonyms
    same_model = old is not None and old.parameters.model == parameters.model and old_vectors
    return BuildPlan(documents, new, changed, removed, kept, reusable, skip, same_model)
