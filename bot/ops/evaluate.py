"""Score retrieval and abstention on a gold question file: hit@1, hit@3, MRR@5, answered, refused."""

from __future__ import annotations

import dataclasses
import json
import shutil
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from bot.errors import CorpusError
from bot.pipeline.answer import Answer, SourceRole
from bot.pipeline.assistant import Assistant, Turn
from bot.pipeline.chunking import Passage
from bot.pipeline.decide import AnswerKind
from bot.pipeline.index import LoadedIndex
from bot.pipeline.retrieve import Signals

OUT_OF_SCOPE = "ausserhalb"


@dataclass(frozen=True)
class GoldQuestion:
    """One question of a gold file and the verbatim snippets of the passages that answer it."""

    id: str
    kind: str
    question: str
    expected: list[str]
    history: list[str]

    def answered_by(self, passage: Passage) -> bool:
        """Whether the passage contains one of the snippets that answer the question."""
        return any(snippet in passage.text for snippet in self.expected)


@dataclass(frozen=True)
class Outcome:
    """How the assistant did on one gold question."""

    gold: GoldQuestion
    rank: int | None  # 1-based rank of the first passage that answers it, within the top 5
    abstained: bool
    confidence: float
    top_passage: str | None
    hinted: bool = False  # declined, with the closest passage offered to check
    hint_right: bool = False  # ... and that passage answers it
    readings: tuple[Signals, ...] = ()  # the abstention signals of each reading, for `tune`
    quoted: int = 0  # sentences the answer quotes
    quoted_right: int = 0  # ... from passages that answer the question
    recalled: bool = False  # the answer contains an expected phrase (an outline: cites its passage)
    smalltalk: bool = False  # taken for small talk: neither answered nor refused
    added: bool = False  # a question about documents added to the corpus (GoldSet.docs)


def read_gold(path: Path) -> list[GoldQuestion]:
    """Read a JSON-lines gold file; a broken line is an error naming file and line."""
    questions = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            questions.append(
                GoldQuestion(
                    id=str(data["id"]),
                    kind=str(data["kind"]),
                    question=str(data["question"]),
                    expected=list(data.get("expected", [])),
                    history=list(data.get("history", [])),
                )
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise CorpusError(f"{path.name}:{number}: Keine gültige Gold-Frage ({exc}).") from exc
    return questions


@dataclass(frozen=True)
class GoldSet:
    """A gold file and, for questions about documents added to the corpus, the folder they sit in."""

    path: Path
    docs: Path | None = None

    @classmethod
    def parse(cls, spec: str) -> GoldSet:
        """`FILE` or `FILE@FOLDER`: questions about the corpus, or about it plus FOLDER's documents."""
        file, _, docs = spec.partition("@")
        return cls(Path(file), Path(docs) if docs else None)


@contextmanager
def extended_assistant(base: Assistant, docs: Path, workdir: Path) -> Iterator[Assistant]:
    """An assistant over the corpus plus the documents in docs (as if the Referat had added them),
    indexed under workdir with the base assistant's model, never audited."""
    from bot.pipeline.assistant import Assistant
    from bot.pipeline.index import build_index, open_index

    corpus = workdir / "corpus"
    shutil.rmtree(corpus, ignore_errors=True)
    shutil.copytree(base.settings.corpus_dir, corpus)
    documents = sorted(docs.glob("*.md"))
    if not documents:
        raise CorpusError(f"{docs}: keine Dokumente (*.md) gefunden.")
    for document in documents:
        shutil.copy(document, corpus / document.name)
    settings = base.settings.model_copy(
        update={
            "corpus_dir": corpus,
            "index_dir": workdir / "index",
            "data_dir": workdir / "data",
            "audit": False,
        }
    )
    embeddings = base.index.embeddings
    build_index(settings, embeddings=embeddings)
    yield Assistant(settings, open_index(settings, embeddings))


def run_sets(assistant: Assistant, sets: list[GoldSet], workdir: Path) -> list[Outcome]:
    """Score every gold set, each against its corpus (sets with the same folder share one index)."""
    outcomes: list[Outcome] = []
    for docs in dict.fromkeys(s.docs for s in sets):
        questions = [q for s in sets if s.docs == docs for q in read_gold(s.path)]
        if docs is None:
            outcomes += run(assistant, questions)
            continue
        with extended_assistant(assistant, docs, workdir / docs.name) as extended:
            outcomes += [dataclasses.replace(o, added=True) for o in run(extended, questions)]
    return outcomes


def run(assistant: Assistant, questions: list[GoldQuestion]) -> list[Outcome]:
    """Ask every gold question as staff would (the assistant's one path, history included) and
    record where its passage ranked and what the assistant replied."""
    return [
        _outcome(gold, assistant.ask(gold.question, gold.history, channel="eval"), assistant.index)
        for gold in questions
    ]


def _outcome(gold: GoldQuestion, turn: Turn, index: LoadedIndex) -> Outcome:
    """How one turn did on its gold question."""
    answer, retrieval = turn.answer, turn.retrieval
    if retrieval is None:  # small talk: answered with the fixed reply, never searched
        return Outcome(gold, None, False, 0.0, None, smalltalk=answer.kind is AnswerKind.SMALLTALK)
    rank = next(
        (n for n, hit in enumerate(retrieval.hits[:5], 1) if _answers(gold, hit.passage, index)), None
    )
    guess = next((s.passage for s in answer.sources if s.role is SourceRole.HINT), None)
    return Outcome(
        gold=gold,
        rank=rank,
        abstained=answer.abstained,
        confidence=retrieval.confidence,
        top_passage=retrieval.hits[0].passage.id if retrieval.hits else None,
        hinted=guess is not None,
        hint_right=guess is not None and gold.answered_by(guess),
        readings=retrieval.readings,
        **_answer_quality(gold, answer if answer.kind is AnswerKind.ANSWER else None),
    )


def _answers(gold: GoldQuestion, passage: Passage, index: LoadedIndex) -> bool:
    """A passage answers when it holds an expected snippet; an outline, when a passage it lists does."""
    if passage.is_outline:
        return any(gold.answered_by(p) for p in map(index.passage, passage.parts) if p is not None)
    return gold.answered_by(passage)


def _flat(text: str) -> str:
    return " ".join(text.split()).casefold()


def _answer_quality(gold: GoldQuestion, answer: Answer | None) -> dict[str, object]:
    """How many quoted sentences come from passages that answer, and whether the answer says it."""
    if answer is None or not gold.expected:
        return {}
    cited = {s.n: s.passage for s in answer.sources}
    right = sum(gold.answered_by(cited[q.n]) for q in answer.quotes if q.n in cited)
    said = _flat(answer.text)
    # An overview lists headings; it says what the question asks when it cites an answering passage.
    listed = answer.outline is not None and any(gold.answered_by(p) for p in cited.values())
    recalled = listed or any(_flat(snippet) in said for snippet in gold.expected)
    return {"quoted": len(answer.quotes), "quoted_right": right, "recalled": recalled}


def _metrics(outcomes: list[Outcome]) -> dict[str, float | int]:
    answerable = [o for o in outcomes if o.gold.expected]
    # Small talk is neither answered nor refused: out of scope it is left out, answerable it is missed.
    outside = [o for o in outcomes if not o.gold.expected and not o.smalltalk]
    m: dict[str, float | int] = {"questions": len(outcomes)}
    if any(o.smalltalk for o in outcomes):
        m["smalltalk"] = sum(o.smalltalk for o in outcomes)
    if answerable:
        n = len(answerable)
        m["hit@1"] = sum(o.rank == 1 for o in answerable) / n
        m["hit@3"] = sum(o.rank is not None and o.rank <= 3 for o in answerable) / n
        m["mrr@5"] = sum(1 / o.rank for o in answerable if o.rank) / n
        m["answered"] = sum(not o.abstained and not o.smalltalk for o in answerable) / n
        answered = [o for o in answerable if not o.abstained and not o.smalltalk]
        quoted = sum(o.quoted for o in answered)
        if quoted:
            m["quote_precision"] = sum(o.quoted_right for o in answered) / quoted
        if answered:
            m["answer_recall"] = sum(o.recalled for o in answered) / len(answered)
        declined = [o for o in answerable if o.abstained]
        m["declined"] = len(declined)
        m["declined_hint_right"] = sum(o.hint_right for o in declined)
    if outside:
        m["refused"] = sum(o.abstained for o in outside) / len(outside)
        refused = [o for o in outside if o.abstained]
        m["refused_n"] = len(refused)
        m["refused_hinted"] = sum(o.hinted for o in refused)
    return {k: round(v, 3) if isinstance(v, float) else v for k, v in m.items()}


def summarise(outcomes: list[Outcome]) -> dict[str, dict[str, float | int]]:
    """Metrics overall and per kind of question."""
    by_kind: dict[str, list[Outcome]] = defaultdict(list)
    for o in outcomes:
        by_kind[o.gold.kind].append(o)
    result = {"gesamt": _metrics(outcomes)}
    result.update({kind: _metrics(items) for kind, items in sorted(by_kind.items())})
    return result


def format_table(summary: dict[str, dict[str, float | int]]) -> str:
    """A plain-text table of the summary."""
    columns = ["questions", "hit@1", "hit@3", "mrr@5", "answered", "refused", "precision", "recall"]
    names = {"precision": "quote_precision", "recall": "answer_recall"}
    lines = [f"{'Art':<18}" + "".join(f"{c:>10}" for c in columns)]
    for kind, m in summary.items():
        cells = "".join(
            f"{m[c]:>10}"
            if c == "questions"
            else (f"{m[names.get(c, c)]:>10.3f}" if names.get(c, c) in m else f"{'–':>10}")
            for c in columns
        )
        lines.append(f"{kind:<18}{cells}")
    total = summary.get("gesamt", {})
    if "declined" in total or "refused_n" in total:
        lines.append(
            f"Vermutete Stelle bei Ablehnung: bei {total.get('declined_hint_right', 0)} von "
            f"{total.get('declined', 0)} abgelehnten beantwortbaren Fragen die richtige; "
            f"{total.get('refused_hinted', 0)} von {total.get('refused_n', 0)} abgelehnten Fragen "
            "außerhalb mit einer vermuteten Stelle."
        )
    return "\n".join(lines)
