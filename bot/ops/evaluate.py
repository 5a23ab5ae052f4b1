"""Score retrieval and abstention on a gold question file: hit@1, hit@3, MRR@5, answered, refused."""

from __future__ import annotations

import dataclasses
import json
import shutil
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from bot.errors import CorpusError
from bot.pipeline.answer import Answer
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
class Quality:
    """How many quoted sentences come from passages that answer, and whether the answer says it."""

    quoted: int = 0  # sentences the answer quotes
    quoted_right: int = 0  # ... from passages that answer the question
    recalled: bool = False  # the answer contains an expected phrase (an outline: cites its passage)


@dataclass(frozen=True)
class Outcome:
    """How the assistant did on one gold question."""

    gold: GoldQuestion
    rank: int | None  # 1-based rank of the first passage that answers it, within the top 5
    kind: AnswerKind  # what the assistant replied: answer, choice (asked back), refusal, …
    confidence: float  # in-scope probability of the deciding reading
    top_passage: str | None
    right: float = 0.0  # probability that the first hit is right (the decision's second model)
    offered_right: bool = False  # the candidates it would offer when asking back hold a right passage
    signals: Signals | None = None  # the deciding reading's signals, for `tune`
    readings: tuple[Signals, ...] = ()  # the signals of each reading, for `tune`
    quality: Quality = field(default_factory=lambda: Quality())  # of an answer given at once
    smalltalk: bool = False  # taken for small talk: neither answered nor refused
    added: bool = False  # a question about documents added to the corpus (GoldSet.docs)

    @property
    def answered(self) -> bool:
        """Answered at once, from the first hit."""
        return self.kind is AnswerKind.ANSWER

    @property
    def right_at_once(self) -> bool:
        """Answered at once, and the first hit answers it."""
        return self.answered and self.rank == 1

    @property
    def asked_back(self) -> bool:
        """Asked back which rule is meant."""
        return self.kind is AnswerKind.CHOICE

    @property
    def resolved(self) -> bool:
        """Right within one click: right at once, or asked back with a right passage to pick."""
        return self.right_at_once or (self.asked_back and self.offered_right)


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
        return Outcome(gold, None, answer.kind, 0.0, None, smalltalk=answer.kind is AnswerKind.SMALLTALK)
    rank = next(
        (n for n, hit in enumerate(retrieval.hits[:5], 1) if passage_answers(gold, hit.passage, index)), None
    )
    return Outcome(
        gold=gold,
        rank=rank,
        kind=answer.kind,
        confidence=retrieval.confidence,
        top_passage=retrieval.hits[0].passage.id if retrieval.hits else None,
        right=turn.decision.right if turn.decision is not None else 0.0,
        offered_right=any(passage_answers(gold, h.passage, index) for h in retrieval.choices),
        signals=retrieval.signals,
        readings=retrieval.readings,
        quality=_answer_quality(gold, answer if answer.kind is AnswerKind.ANSWER else None),
    )


def passage_answers(gold: GoldQuestion, passage: Passage, index: LoadedIndex) -> bool:
    """A passage answers when it holds an expected snippet; an outline, when a passage it lists does."""
    if passage.is_outline:
        return any(gold.answered_by(p) for p in map(index.passage, passage.parts) if p is not None)
    return gold.answered_by(passage)


def _flat(text: str) -> str:
    return " ".join(text.split()).casefold()


def _answer_quality(gold: GoldQuestion, answer: Answer | None) -> Quality:
    """The quality of an answer given at once (none for a choice, refusal or small talk)."""
    if answer is None or not gold.expected:
        return Quality()
    cited = {s.n: s.passage for s in answer.sources}
    right = sum(gold.answered_by(cited[q.n]) for q in answer.quotes if q.n in cited)
    said = _flat(answer.text)
    # An overview lists headings; it says what the question asks when it cites an answering passage.
    listed = answer.outline is not None and any(gold.answered_by(p) for p in cited.values())
    recalled = listed or any(_flat(snippet) in said for snippet in gold.expected)
    return Quality(len(answer.quotes), right, recalled)


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
        m["answered"] = sum(o.answered for o in answerable) / n
        m["right_at_once"] = sum(o.right_at_once for o in answerable) / n
        m["wrong_at_once"] = sum(o.answered and not o.right_at_once for o in answerable) / n
        m["asked_back"] = sum(o.asked_back for o in answerable) / n
        m["resolved"] = sum(o.resolved for o in answerable) / n
        answered = [o for o in answerable if o.answered]
        quoted = sum(o.quality.quoted for o in answered)
        if quoted:
            m["quote_precision"] = sum(o.quality.quoted_right for o in answered) / quoted
        if answered:
            m["answer_recall"] = sum(o.quality.recalled for o in answered) / len(answered)
    if outside:
        n = len(outside)
        m["refused"] = sum(o.kind is AnswerKind.REFUSAL for o in outside) / n
        m["outside_answered"] = sum(o.answered for o in outside) / n
        m["outside_asked_back"] = sum(o.asked_back for o in outside) / n
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
    """A plain-text table of the summary: ranking, the three outcomes, quotes."""
    columns = {
        "questions": "Fragen", "hit@1": "hit@1", "hit@3": "hit@3", "right_at_once": "richtig",
        "wrong_at_once": "falsch", "asked_back": "rückfr.", "resolved": "1 Klick",
        "refused": "abgel.", "outside_answered": "außen/ant", "outside_asked_back": "außen/rück",
        "quote_precision": "Präzision", "answer_recall": "Recall",
    }  # fmt: skip
    lines = [f"{'Art':<18}" + "".join(f"{c:>11}" for c in columns.values())]
    for kind, m in summary.items():
        cells = "".join(
            f"{m[c]:>11}" if c == "questions" else (f"{m[c]:>11.3f}" if c in m else f"{'–':>11}")
            for c in columns
        )
        lines.append(f"{kind:<18}{cells}")
    lines.append(
        "richtig/falsch: sofort beantwortet, erste Stelle richtig/falsch; rückfr.: zurückgefragt; "
        "1 Klick: richtig sofort oder die richtige Stelle unter den Angeboten; außen/…: Fragen außerhalb."
    )
    return "\n".join(lines)
