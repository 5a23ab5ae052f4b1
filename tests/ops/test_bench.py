"""Benchmark figures and their chart: measured on a real (small, synthetic) corpus, drawn as SVG."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from bot.ops.bench import CHART_BARS, CHART_GOALS, BenchSetup, generate_corpus, latency_svg, run_benchmark
from tests.support import REPO

SVG = "{http://www.w3.org/2000/svg}"


def test_a_benchmark_run_reports_every_figure(tmp_path: Path, embeddings) -> None:
    from bot.ops.evaluate import GoldSet

    corpus = generate_corpus(tmp_path / "gen", 12)
    gold = GoldSet.parse("tests/gold/synthetic-tune.jsonl@tests/synthetic/tune")
    mixed = [REPO / "tests/synthetic/tune"]
    result = run_benchmark("generated-12", corpus, tmp_path / "run", BenchSetup(embeddings, 1, gold), mixed)
    assert result.documents == 12 + 5 and result.passages >= 24  # the gold set's documents mixed in
    assert result.vectors > result.passages and result.texts_embedded > 0 and result.texts_per_s > 0
    assert 0 < result.no_change_s < result.full_build_s and result.full_build_cpu_s > 0
    assert result.query_embedding_ms > 0 and 0 < result.answer_p50_ms <= result.answer_p95_ms
    assert result.retrieval_p50_ms > 0 and result.passages_per_s > 0 and result.peak_rss_mb > 100
    assert result.answer_per_embedding > 1 and result.serving_rss_mb > 100
    assert result.gold_set.endswith("synthetic-tune.jsonl") and 0 < (result.gold_hit3 or 0) <= 1
    assert not any(
        "Zusatzsatz" in f.read_text(encoding="utf-8") for f in corpus.glob("*.md")
    )  # a copy changed


def test_the_chart_draws_one_bar_per_figure_and_the_goals() -> None:
    rows = [
        {
            "corpus": "real",
            "passages": 24,
            "query_embedding_ms": 3.3,
            "retrieval_p50_ms": 5.0,
            "answer_p50_ms": 7.0,
            "answer_p95_ms": 8.0,
        },
        {
            "corpus": "generated-<10000>",
            "passages": 30000,
            "query_embedding_ms": 3.4,
            "retrieval_p50_ms": 30.0,
            "answer_p50_ms": 35.0,
            "answer_p95_ms": 140.0,
        },
    ]
    root = ET.fromstring(latency_svg(rows, "Antwortzeiten & Ziele"))
    texts = [t.text or "" for t in root.iter(f"{SVG}text")]
    bars = [r for r in root.iter(f"{SVG}rect") if r.get("fill") in {c for _, _, c in CHART_BARS}]
    assert len(bars) == len(rows) * len(CHART_BARS) + len(CHART_BARS)  # bars and legend swatches
    assert "Antwortzeiten & Ziele" in texts and any("generated-<10000>" in t for t in texts)
    assert {label for _, label in CHART_GOALS} <= set(texts)
    heights = [float(b.get("height")) for b in bars[: len(CHART_BARS) * 2]]
    assert heights[-1] == max(heights)  # 140 ms is the tallest bar
