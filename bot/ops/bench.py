"""Benchmarks: answer latency, start-up, index throughput, re-index costs and memory, in figures."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import platform
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.config import Settings
from bot.pipeline.corpus import document_paths

if TYPE_CHECKING:
    from bot.ops.evaluate import GoldSet
    from bot.pipeline.assistant import Assistant
    from bot.pipeline.embeddings import Embedder

QUESTIONS = [
    "Muss ich Inhalte kennzeichnen, die mit KI erstellt wurden?",
    "Darf ich Klientendaten in ChatGPT kopieren?",
    "Wer entscheidet am Ende, die KI oder ich?",
    "hab nen flyer mit chatgpt gemacht muss da was drauf",
    "Can I put client data into an AI tool?",
    "Wie wird das Wetter morgen?",
    "Welche Prinzipien hat der ASB formuliert?",
    "Telefonnummer vom Referat Digitalisierung?",
]
TOPICS = [
    "Dienstwagen",
    "Hygiene",
    "Schichtübergabe",
    "Fortbildung",
    "Dokumentation",
    "Arbeitsschutz",
    "Datenschutz",
    "Medikamente",
    "Einsatzfahrzeuge",
    "Notrufzentrale",
    "Beschaffung",
    "Ehrenamt",
]
VERBS = ["prüfen", "dokumentieren", "melden", "freigeben", "abstimmen", "kennzeichnen", "sichern"]


@dataclass(frozen=True)
class BenchResult:
    """Figures for one corpus."""

    corpus: str
    documents: int
    passages: int
    vectors: int  # stored in all collections
    texts_embedded: int  # distinct texts the full build embedded
    full_build_s: float
    full_build_cpu_s: float  # CPU seconds of all its threads: what the build costs on busy cores
    texts_per_s: float  # of the full build's embedding
    passages_per_s: float  # of the whole full build
    no_change_s: float
    one_document_s: float
    first_answer_s: float
    retrieval_p50_ms: float
    retrieval_p95_ms: float
    answer_p50_ms: float
    answer_p95_ms: float
    query_embedding_ms: float
    answer_per_embedding: float  # warm answer p50 over one query embedding p50
    peak_rss_mb: float  # this process so far (builds included)
    serving_rss_mb: float  # a fresh `python -m bot ask` on this index: model, index, one answer
    load_before: float  # the machine's 1-minute load average when the run started
    load_after: float
    gold_set: str = ""  # a gold set mixed into the corpus, scored there (--gold)
    gold_hit1: float | None = None
    gold_hit3: float | None = None
    gold_mrr5: float | None = None
    gold_answered: float | None = None
    gold_refused: float | None = None


def generate_corpus(folder: Path, documents: int, seed: int = 7) -> Path:
    """A synthetic corpus (labelled as such, never under corpus/) of German-like policy documents."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for n in range(documents):
        topic = rng.choice(TOPICS)
        sections = []
        for s in range(rng.randint(2, 4)):
            sentences = " ".join(
                f"Synthetische Regel {n}.{s}.{k}: {topic} ist vor Beginn zu {rng.choice(VERBS)} "
                f"und mit der Leitung zu {rng.choice(VERBS)}."
                for k in range(rng.randint(2, 5))
            )
            sections.append(f"## {topic} Abschnitt {s}\n\n{sentences}")
        (folder / f"synthetisch-{n:05d}.md").write_text(
            "---\n"
            f"titel: Synthetische Richtlinie {n} zu {topic}\n"
            "quelle: Synthetisch erzeugt für Benchmarks (kein Text des ASB)\n"
            "verantwortlich: Benchmark\nstand: 2026-01-01\ngueltig_ab: 2026-01-01\nstatus: freigegeben\n"
            "---\n\n" + "\n\n".join(sections) + "\n",
            encoding="utf-8",
        )
    return folder


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _copy_corpus(corpus_dir: Path, mix: Sequence[Path], target: Path) -> Path:
    """The corpus and the files of the folders mixed into it, in a scratch folder."""
    shutil.copytree(corpus_dir, target)
    for folder in mix:
        for path in sorted(folder.iterdir()):
            if path.is_file() and path.name.lower() != "readme.md" and not (target / path.name).exists():
                shutil.copy(path, target / path.name)
    return target


def _timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


# A fresh process that loads the model and the index, answers once and says its peak memory (its
# own VmHWM: ru_maxrss of a child starts at the parent's size at fork).
SERVING = """
import sys
from bot.config import Settings
from bot.pipeline.assistant import Assistant
Assistant.load(Settings()).ask(sys.argv[1])
print(next(line.split()[1] for line in open("/proc/self/status") if line.startswith("VmHWM")))
"""


def _serving_rss_mb(settings: Settings) -> float:
    """Peak memory of a fresh process that loads the model and this index and answers once."""
    env = {k: v for k, v in os.environ.items() if k != "BOT_CHROMA_URL"}
    env.update(BOT_CORPUS_DIR=str(settings.corpus_dir), BOT_INDEX_DIR=str(settings.index_dir))
    env.update(BOT_DATA_DIR=str(settings.data_dir), BOT_AUDIT="false")
    if settings.chroma_url:
        env["BOT_CHROMA_URL"] = settings.chroma_url
    done = subprocess.run(
        [sys.executable, "-c", SERVING, QUESTIONS[0]], env=env, capture_output=True, text=True, check=True
    )
    return round(int(done.stdout.split()[-1]) / 1024, 0)


@dataclass(frozen=True)
class BenchSetup:
    """What the corpora of one benchmark run share."""

    embeddings: Embedder
    repeats: int = 20  # rounds of the test questions
    gold: GoldSet | None = None  # scored on each corpus, its documents mixed in
    chroma_url: str | None = None  # the Chroma server instead of the embedded store


def _latencies(assistant: Assistant, embeddings: Embedder, repeats: int) -> dict[str, list[float]]:
    """Seconds for one query embedding, a search and a whole answer, each test question in turn."""
    times: dict[str, list[float]] = {"embedding": [], "retrieval": [], "answer": []}
    for _ in range(repeats):
        for question in QUESTIONS:
            times["embedding"].append(_timed(partial(embeddings.embed_query, question)))
            times["retrieval"].append(_timed(partial(assistant.retriever.search, question)))
            times["answer"].append(_timed(partial(assistant.ask, question)))
    return times


def run_benchmark(
    name: str, corpus_dir: Path, work_dir: Path, setup: BenchSetup, mix: Sequence[Path] = ()
) -> BenchResult:
    """Build, re-index and query one corpus (with the folders in mix added) in a scratch folder;
    corpus_dir is copied, not changed. A gold set is scored last, on the same index."""
    from bot.pipeline.assistant import Assistant
    from bot.pipeline.index import build_index, open_index

    load_before = os.getloadavg()[0]
    corpus = _copy_corpus(corpus_dir, mix, work_dir / "corpus")
    settings = Settings(
        corpus_dir=corpus,
        index_dir=work_dir / "index",
        data_dir=work_dir / "data",
        audit=False,
        chroma_url=setup.chroma_url,
    )
    embeddings = setup.embeddings
    started, cpu = time.perf_counter(), time.process_time()
    full = build_index(settings, embeddings=embeddings)
    full_s, full_cpu_s = time.perf_counter() - started, time.process_time() - cpu
    no_change_s = _timed(lambda: build_index(settings, embeddings=embeddings))
    paths = document_paths(corpus)
    victim = next((p for p in paths if p.name.startswith("synthetisch-")), paths[0])
    original = victim.read_text(encoding="utf-8")
    victim.write_text(original + "\nSynthetischer Zusatzsatz für den Benchmark.\n", encoding="utf-8")
    one_doc_s = _timed(lambda: build_index(settings, embeddings=embeddings))
    victim.write_text(original, encoding="utf-8")  # answers and gold figures on the corpus as given
    build_index(settings, embeddings=embeddings)

    started = time.perf_counter()
    assistant = Assistant(settings, open_index(settings, embeddings))
    assistant.ask(QUESTIONS[0])
    first_answer_s = time.perf_counter() - started
    times = _latencies(assistant, embeddings, setup.repeats)
    retrieval, answers, embeds = times["retrieval"], times["answer"], times["embedding"]
    gold = setup.gold
    scores = _gold_scores(assistant, gold, mixed=bool(mix), work_dir=work_dir) if gold else {}
    ms = 1000.0
    return BenchResult(
        corpus=name,
        documents=full.added,
        passages=full.passages,
        vectors=full.vectors,
        texts_embedded=full.embedded,
        full_build_s=round(full_s, 2),
        full_build_cpu_s=round(full_cpu_s, 1),
        texts_per_s=round(full.texts_per_s, 1),
        passages_per_s=round(full.passages / full_s, 1) if full_s else 0.0,
        no_change_s=round(no_change_s, 3),
        one_document_s=round(one_doc_s, 2),
        first_answer_s=round(first_answer_s, 2),
        retrieval_p50_ms=round(statistics.median(retrieval) * ms, 1),
        retrieval_p95_ms=round(_percentile(retrieval, 0.95) * ms, 1),
        answer_p50_ms=round(statistics.median(answers) * ms, 1),
        answer_p95_ms=round(_percentile(answers, 0.95) * ms, 1),
        query_embedding_ms=round(statistics.median(embeds) * ms, 1),
        answer_per_embedding=round(statistics.median(answers) / statistics.median(embeds), 2),
        peak_rss_mb=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 0),
        serving_rss_mb=_serving_rss_mb(settings),
        load_before=round(load_before, 2),
        load_after=round(os.getloadavg()[0], 2),
        gold_set=str(gold.path) if gold else "",
        **scores,
    )


def _gold_scores(
    assistant: Assistant, gold: GoldSet, *, mixed: bool, work_dir: Path
) -> dict[str, float | None]:
    """hit@1, hit@3, MRR@5, answered and refused of a gold set: on the assistant's corpus when its
    documents were mixed in, else on that corpus with them added, as `eval` scores it."""
    from bot.ops.evaluate import extended_assistant, read_gold, run, summarise

    questions = read_gold(gold.path)
    if mixed or gold.docs is None:
        outcomes = run(assistant, questions)
    else:
        with extended_assistant(assistant, gold.docs, work_dir / "gold") as extended:
            outcomes = run(extended, questions)
    total = summarise(outcomes)["gesamt"]
    keys = {"gold_hit1": "hit@1", "gold_hit3": "hit@3", "gold_mrr5": "mrr@5"}
    keys |= {"gold_answered": "answered", "gold_refused": "refused"}
    return {field: float(total[key]) if key in total else None for field, key in keys.items()}


def machine() -> dict[str, object]:
    """What the figures were measured on."""
    return {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "cpu_count": os.cpu_count(),
        "machine": platform.machine(),
        "system": platform.platform(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def benchmark(
    real_corpus: Path,
    sizes: list[int],
    repeats: int = 20,
    *,
    gold: GoldSet | None = None,
    chroma_url: str | None = None,
    real: bool = True,
    workdir: Path | None = None,
) -> list[BenchResult]:
    """The real corpus (unless real is False) and generated corpora of the given sizes, each in
    its own scratch folder. With a gold set, its documents and the real corpus are mixed into each
    generated corpus and its questions scored there, as `eval` scores them on the real corpus.
    The scratch folders stay under workdir when one is given (it must not exist yet)."""
    from bot.pipeline.embeddings import load_embeddings

    document_paths(real_corpus)  # a missing corpus folder is one sentence, before any work
    setup = BenchSetup(load_embeddings(Settings()), repeats, gold, chroma_url)
    added = [gold.docs] if gold and gold.docs else []
    results = []
    with contextlib.ExitStack() as stack:
        root = workdir or Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bot-bench-")))
        if real:
            results.append(run_benchmark("real", real_corpus, root / "real", setup))
        for size in sizes:
            generated = generate_corpus(root / f"gen-{size}", size)
            mix = [real_corpus, *added] if gold else []
            results.append(run_benchmark(f"generated-{size}", generated, root / f"run-{size}", setup, mix))
    return results


# Bars of the latency chart: (field, legend, colour).
CHART_BARS = [
    ("query_embedding_ms", "eine Frage einbetten (p50)", "#9bb7d4"),
    ("retrieval_p50_ms", "Suche p50", "#4f81bd"),
    ("answer_p50_ms", "ganze Antwort p50", "#c0504d"),
    ("answer_p95_ms", "ganze Antwort p95", "#7f2b29"),
]
CHART_GOALS = [(60.0, "Ziel 1.500 Dokumente p95 ≤ 60 ms"), (100.0, "Ziel 10.000 Dokumente p95 ≤ 100 ms")]


def latency_svg(rows: list[dict[str, Any]], title: str) -> str:
    """A grouped bar chart (SVG, no plotting library) of the latencies per corpus, with the goals."""
    width, height, left, bottom, top = 760, 380, 60, 70, 40
    plot_h = height - bottom - top
    top_value = max([g for g, _ in CHART_GOALS] + [float(r[f]) for r in rows for f, _, _ in CHART_BARS]) * 1.1

    def y(value: float) -> float:
        return top + plot_h * (1 - value / top_value)

    group_w = (width - left - 20) / max(1, len(rows))
    bar_w = group_w * 0.8 / len(CHART_BARS)
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        'font-family="sans-serif" font-size="12">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
        f'<text x="{width / 2}" y="20" text-anchor="middle" font-size="14">{_xml(title)}</text>',
    ]
    for tick in range(0, int(top_value) + 1, 20):
        out.append(
            f'<line x1="{left}" x2="{width - 20}" y1="{y(tick):.1f}" y2="{y(tick):.1f}" stroke="#eee"/>'
        )
        out.append(f'<text x="{left - 6}" y="{y(tick) + 4:.1f}" text-anchor="end">{tick}</text>')
    out.append(
        f'<text x="14" y="{top + plot_h / 2}" transform="rotate(-90 14 {top + plot_h / 2})" '
        'text-anchor="middle">Millisekunden</text>'
    )
    for i, row in enumerate(rows):
        x0 = left + i * group_w + group_w * 0.1
        for j, (field, _, colour) in enumerate(CHART_BARS):
            value = float(row[field])
            x = x0 + j * bar_w
            out.append(
                f'<rect x="{x:.1f}" y="{y(value):.1f}" width="{bar_w - 2:.1f}" '
                f'height="{y(0) - y(value):.1f}" fill="{colour}"/>'
            )
            out.append(
                f'<text x="{x + bar_w / 2 - 1:.1f}" y="{y(value) - 3:.1f}" text-anchor="middle" '
                f'font-size="10">{value:g}</text>'
            )
        label = f"{row['corpus']} ({int(row['passages']):,} Abschnitte)".replace(",", ".")
        centre = x0 + group_w * 0.4
        out.append(f'<text x="{centre:.1f}" y="{y(0) + 16:.1f}" text-anchor="middle">{_xml(label)}</text>')
    for value, label in CHART_GOALS:
        out.append(
            f'<line x1="{left}" x2="{width - 20}" y1="{y(value):.1f}" y2="{y(value):.1f}" '
            'stroke="#444" stroke-dasharray="5,4"/>'
        )
        out.append(f'<text x="{left + 4}" y="{y(value) - 4:.1f}">{_xml(label)}</text>')
    for j, (_, legend, colour) in enumerate(CHART_BARS):
        x = left + j * 170
        out.append(f'<rect x="{x}" y="{height - 24}" width="12" height="12" fill="{colour}"/>')
        out.append(f'<text x="{x + 16}" y="{height - 14}">{_xml(legend)}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _xml(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
