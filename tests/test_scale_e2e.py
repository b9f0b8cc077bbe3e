"""benchmarks/scale_e2e.py's stage timers: every stage it names exists, and timing changes no answer."""

from __future__ import annotations

import importlib

from conftest import load_benchmark

from qa.index import ensure_index
from qa.retrieval.retriever import Retriever


def test_stage_timers_cover_the_pipeline_and_change_no_answer(project, fake_embedder, monkeypatch):
    bench = load_benchmark(monkeypatch, "scale_e2e")
    for d in range(6):
        words = " ".join(f"topic{d} word{(d * 5 + i) % 31} thing{i % 7}" for i in range(60))
        (project.seeds_dir / f"doc{d}.txt").write_text(words, encoding="utf-8")
    ensure_index(project, fake_embedder)
    retriever = Retriever.open(project, fake_embedder)
    before = retriever.ask("topic2 word11", k=3)
    for _, module, cls_name, name in bench.STAGES:  # restored when the test ends
        cls = getattr(importlib.import_module(module), cls_name)
        assert hasattr(cls, name), f"{cls_name}.{name} is gone: update STAGES"
        monkeypatch.setattr(cls, name, getattr(cls, name))
    totals = bench.time_stages()
    assert retriever.ask("topic2 word11", k=3) == before
    assert list(totals) == [label for label, *_ in bench.STAGES]
    assert totals["ask"] > 0 and totals["ask"] >= totals["bm25 top"] > 0


def test_a_query_phase_reports_the_first_answer_and_the_time_to_warm(tmp_path, monkeypatch):
    bench = load_benchmark(monkeypatch, "scale_e2e")
    bench.write_corpus(tmp_path / "seeds", 300, (20, 40))
    assert bench.phase_build(tmp_path, "")["windows"] > 0
    asked = bench.phase_query(tmp_path, "", 20)
    assert asked["first_ms"] > 0 and asked["warm_s"] >= asked["open_s"] > 0
    assert 0 <= asked["while_warming"] <= 20
    assert asked["warm_p99_ms"] >= asked["warm_p50_ms"] > 0 and asked["p99_ms"] >= asked["p50_ms"] > 0
