"""Build progress: stages with counts and speed, as plain lines when not on a terminal, a bar
on one, and the same stages in ``qa index``."""

from __future__ import annotations

import io
import re

from qa.cli import main
from qa.index.build import ensure_index
from qa.index.progress import BuildProgress, ProgressPrinter, RecentRate, format_progress


def _words(n: int, stem: str) -> str:
    return " ".join(f"{stem}{i}" for i in range(n))


def test_each_stage_is_one_line_with_counts_and_speed():
    reading = BuildProgress("reading", 3, 6, 2.0, pages=40, current="a.pdf")
    assert format_progress(reading) == "reading documents: 3/6 (40 pages, 20 pages/s)"
    embedding = BuildProgress("embedding", 1200, 4000, 4.0)
    assert format_progress(embedding) == "embedding: 1,200/4,000 windows (300 windows/s, about 9 s left)"
    assert (
        format_progress(BuildProgress("embedding", 10, 10, 1.0)) == "embedding: 10/10 windows (10 windows/s)"
    )
    assert format_progress(BuildProgress("saving", 0, 1, 0.0)) == "saving the index"
    assert format_progress(BuildProgress("loading", 0, 1, 0.0)) == "loading the embedding model ..."
    assert format_progress(BuildProgress("cutting", 2_900_000, 5_800_000, 6.0)) == (
        "cutting the documents into windows: 50% of 5,800,000 characters"
    )


def test_documents_without_pages_are_not_counted_as_pages():
    """Text, Markdown, web pages and Word files have no pages: reading them says no "1 page"."""
    assert format_progress(BuildProgress("reading", 2, 2, 0.5)) == "reading documents: 2/2"
    assert format_progress(BuildProgress("reading", 1, 2, 1.0, pages=1)) == (
        "reading documents: 1/2 (1 page, 1 pages/s)"
    )
    out = io.StringIO()
    show = ProgressPrinter(out, tty=True)
    show(BuildProgress("reading", 1, 1, 0.5))
    show(BuildProgress("loading", 0, 1, 0.0))
    assert "page" not in out.getvalue() and "loading the embedding model ...\n" in out.getvalue()


def test_without_a_terminal_a_stage_prints_its_start_each_tenth_and_its_end():
    out = io.StringIO()
    show = ProgressPrinter(out, tty=False)
    for done in range(0, 101):
        show(BuildProgress("embedding", done, 100, 1.0 + done))
    show(BuildProgress("saving", 0, 1, 0.0))
    lines = out.getvalue().splitlines()
    assert len(lines) == 12 and "\r" not in out.getvalue()
    assert lines[0].startswith("embedding: 0/100 windows") and lines[10].startswith("embedding: 100/100")
    assert lines[-1] == "saving the index"


def test_on_a_terminal_a_stage_is_a_progress_bar():
    out = io.StringIO()
    show = ProgressPrinter(out, tty=True)
    for done in (0, 50, 100):
        show(BuildProgress("embedding", done, 100, 1.0))
    assert "embedding: 100%" in out.getvalue() and "100/100" in out.getvalue() and "\r" in out.getvalue()


def test_a_build_reports_reading_embedding_and_saving(project, fake_embedder):
    (project.seeds_dir / "a.txt").write_text(_words(300, "alpha"), encoding="utf-8")
    (project.seeds_dir / "b.md").write_text(_words(100, "beta"), encoding="utf-8")
    (project.seeds_dir / "bad.txt").write_bytes(b"\xff\xfe\xfa not utf-8")
    seen: list[BuildProgress] = []
    report = ensure_index(project, fake_embedder, stages=seen.append)
    stages = [p.stage for p in seen]
    assert stages[:3] == ["reading"] * 3 and stages[-1] == "saving"
    assert seen[2].done == seen[2].total == 3  # the unreadable file counts as done too
    assert seen[2].pages == 0  # text and Markdown have no pages
    cutting = [p for p in seen if p.stage == "cutting"]  # a text of megabytes takes seconds
    assert stages[3 : 3 + len(cutting)] == ["cutting"] * len(cutting) and len(cutting) >= 2
    assert cutting[0].done == 0 and cutting[-1].done == cutting[-1].total > 0
    assert [p.done for p in cutting] == sorted(p.done for p in cutting)
    assert stages[3 + len(cutting)] == "loading"  # the model is loaded before the embedding's count starts
    embedding = [p for p in seen if p.stage == "embedding"]
    assert embedding[0].done == 0 and embedding[-1].done == embedding[-1].total == report.embedded


def test_qa_index_prints_plain_progress_lines_when_not_on_a_terminal(
    project, fake_embedder, monkeypatch, capsys
):
    import qa.embedders.base

    monkeypatch.setattr(qa.embedders.base, "make_embedder", lambda settings: fake_embedder)
    (project.seeds_dir / "a.txt").write_text(_words(400, "alpha"), encoding="utf-8")
    assert main(["index", "--root", str(project.root), "--model", "fake-model"]) == 0
    err = capsys.readouterr().err.splitlines()
    # why it builds first, then the reading (a text file has no pages)
    assert err[:2] == [f"  first build: no index in {project.index_dir} yet", "reading documents: 1/1"]
    assert err[1:] and err[err.index("loading the embedding model ...") + 1].startswith("embedding: 0/")
    embedding = [line for line in err if line.startswith("embedding: ")]
    assert 2 <= len(embedding) <= 11
    assert re.fullmatch(r"embedding: (\d+)/\1 windows \([\d,]+ windows/s\)", embedding[-1])
    assert "saving the index" in err


def test_a_background_rebuild_shows_the_stage_in_its_status(project, fake_embedder):
    from qa.index.collections import CollectionConfig, create_collection, save_document
    from qa.retrieval.registry import Registry
    from tests.test_collections import CELLS, VOLCANO, GatedEmbedder

    create_collection(project, "biology", CollectionConfig(title="Biology 101"))
    save_document(project, "biology", "cells.md", CELLS.encode())
    save_document(project, "biology", "volcano.md", VOLCANO.encode())
    gated = GatedEmbedder(fake_embedder, "basalt")
    registry = Registry(project, gated)
    registry.rebuild("biology")
    assert gated.entered.wait(30)
    during = registry.status("biology")
    assert during.state == "indexing"
    assert re.fullmatch(
        r"embedding: [\d,]+/[\d,]+ windows \([\d,]+ windows/s(, about [\d,]+ s left)?\)", during.message
    )
    gated.open.set()
    done = registry.wait("biology", timeout=30)
    assert done.state == "done" and done.embedded == done.to_embed > 0


def test_the_time_left_follows_the_recent_speed_not_the_first_batches():
    """Windows are embedded shortest first and a shared machine slows down: at 100 windows/s for
    the first 20 s and 20 windows/s since, "about 63 s left" stayed low for minutes. A fake clock:
    the seconds reported."""
    recent = RecentRate(span=30.0)
    reports = []
    done = 0
    for second in range(0, 121):  # a report each second
        done += 100 if second <= 20 else 20
        reports.append(
            BuildProgress("embedding", done, 10_000, float(second), since=recent.add(second, done))
        )
    now = reports[-1]
    assert now.done == 4_100 and now.rate == 20.0  # the last 30 s, not 4,100 / 120
    assert now.seconds_left == (10_000 - 4_100) / 20  # 295 s; since the start it said 173 s
    assert format_progress(now) == "embedding: 4,100/10,000 windows (20 windows/s, about 295 s left)"
    early = reports[10]  # before 30 s have passed: the speed since the start
    assert early.since == (0, 100) and early.rate == 100.0


def test_a_report_at_the_start_has_no_speed_yet_and_slow_reports_measure_from_the_last():
    recent = RecentRate(span=30.0)
    first = BuildProgress("embedding", 0, 100, 0.0, since=recent.add(0.0, 0))
    assert first.rate == 0.0 and first.seconds_left is None
    recent.add(50.0, 10)
    last = BuildProgress("embedding", 30, 100, 100.0, since=recent.add(100.0, 30))  # batches > 30 s apart
    assert last.since == (50.0, 10) and last.rate == 0.4 and last.seconds_left == 175.0
