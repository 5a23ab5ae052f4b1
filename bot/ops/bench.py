"""Benchmarks: answer latency, start-up, index throughput, re-index costs and memory, in figures."""

from __future__ import annotations

import datetime as dt
import platform
import random
import resource
import shutil
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.config import Settings
from bot.pipeline.corpus import document_paths

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
    full_build_s: float
    passages_per_s: float
    no_change_s: float
    one_document_s: float
    first_answer_s: float
    retrieval_p50_ms: float
    retrieval_p95_ms: float
    answer_p50_ms: float
    answer_p95_ms: float
    query_embedding_ms: float
    peak_rss_mb: float


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


def run_benchmark(name: str, corpus_dir: Path, work_dir: Path, repeats: int = 20) -> BenchResult:
    """Build, re-index and query one corpus in a scratch folder; corpus_dir is copied, not changed."""
    from bot.pipeline.assistant import Assistant
    from bot.pipeline.embeddings import load_embeddings
    from bot.pipeline.index import build_index, open_index

    corpus = work_dir / "corpus"
    shutil.copytree(corpus_dir, corpus)
    settings = Settings(corpus_dir=corpus, index_dir=work_dir / "index")
    embeddings = load_embeddings(settings)
    t = time.perf_counter()
    full = build_index(settings, embeddings=embeddings)
    full_s = time.perf_counter() - t
    t = time.perf_counter()
    build_index(settings, embeddings=embeddings)
    no_change_s = time.perf_counter() - t
    victim = document_paths(corpus)[0]
    victim.write_text(
        victim.read_text(encoding="utf-8") + "\nSynthetischer Zusatzsatz für den Benchmark.\n",
        encoding="utf-8",
    )
    t = time.perf_counter()
    build_index(settings, embeddings=embeddings)
    one_doc_s = time.perf_counter() - t

    t = time.perf_counter()
    assistant = Assistant(settings, open_index(settings, embeddings))
    assistant.ask(QUESTIONS[0])
    first_answer_s = time.perf_counter() - t
    retrieval, answers, embeds = [], [], []
    for _ in range(repeats):
        for q in QUESTIONS:
            t = time.perf_counter()
            embeddings.embed_query(q)
            embeds.append(time.perf_counter() - t)
            t = time.perf_counter()
            assistant.retriever.search(q)
            retrieval.append(time.perf_counter() - t)
            t = time.perf_counter()
            assistant.ask(q)
            answers.append(time.perf_counter() - t)
    ms = 1000.0
    return BenchResult(
        corpus=name,
        documents=full.added,
        passages=full.passages,
        full_build_s=round(full_s, 2),
        passages_per_s=round(full.passages / full_s, 1) if full_s else 0.0,
        no_change_s=round(no_change_s, 3),
        one_document_s=round(one_doc_s, 2),
        first_answer_s=round(first_answer_s, 2),
        retrieval_p50_ms=round(statistics.median(retrieval) * ms, 1),
        retrieval_p95_ms=round(_percentile(retrieval, 0.95) * ms, 1),
        answer_p50_ms=round(statistics.median(answers) * ms, 1),
        answer_p95_ms=round(_percentile(answers, 0.95) * ms, 1),
        query_embedding_ms=round(statistics.median(embeds) * ms, 1),
        peak_rss_mb=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 0),
    )


def machine() -> dict[str, object]:
    """What the figures were measured on."""
    import os

    return {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "cpu_count": os.cpu_count(),
        "machine": platform.machine(),
        "system": platform.platform(),
    }


def benchmark(real_corpus: Path, sizes: list[int], repeats: int = 20) -> list[BenchResult]:
    """The real corpus and generated corpora of the given sizes, each in its own scratch folder."""
    document_paths(real_corpus)  # a missing corpus folder is one sentence, before any work
    results = []
    with tempfile.TemporaryDirectory(prefix="bot-bench-") as scratch:
        root = Path(scratch)
        results.append(run_benchmark("real", real_corpus, root / "real", repeats))
        for size in sizes:
            generated = generate_corpus(root / f"gen-{size}", size)
            results.append(run_benchmark(f"generated-{size}", generated, root / f"run-{size}", repeats))
    return results


# Bars of the latency chart: (field, legend, colour).
CHART_BARS = [
    ("query_embedding_ms", "eine Frage einbetten (p50)", "#9bb7d4"),
    ("retrieval_p50_ms", "Suche p50", "#4f81bd"),
    ("answer_p50_ms", "ganze Antwort p50", "#c0504d"),
    ("answer_p95_ms", "ganze Antwort p95", "#7f2b29"),
]
CHART_GOALS = [(40.0, "Ziel warme Antwort ≤ 40 ms"), (100.0, "Ziel 10.000 Dokumente p95 ≤ 100 ms")]


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
