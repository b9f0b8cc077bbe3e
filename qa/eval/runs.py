"""Running an evaluation: answer every question, score the run, record how it was made, write it.

:func:`run_eval` is the pipeline the CLI (``qa eval``), the benchmarks and the tests call: it
answers the questions in batches (with their conversation history), times it, scores the
answers and returns an :class:`EvalRun`. :func:`write_outputs` writes what was asked for:

- the run as JSONL, one answer per question in the shape of :meth:`qa.answer.Answer.to_dict`
  plus ``id``, ``rank`` of the first correct passage and ``expected`` -- the format
  ``shared/eval/score.py`` reads -- and beside it ``RUN.jsonl.meta.json`` (settings, index
  build, source hashes, versions, metrics, timing, skipped input rows);
- one CSV row per question;
- the HTML report (:mod:`qa.eval.report`).
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Protocol

from qa.answer import Answer
from qa.config import Settings
from qa.errors import ConfigError, EvaluationError, QuestionError, QuestionFileError
from qa.eval.files import atomic_write
from qa.eval.metrics import Metrics, first_hit, score
from qa.eval.questions import UNANSWERABLE, Question, SkippedRow
from qa.eval.results import write_results_csv
from qa.render import answer_json

__all__ = [
    "Answers",
    "EvalRun",
    "Timing",
    "check_outputs",
    "format_timing",
    "read_run",
    "run_eval",
    "run_rows",
    "write_outputs",
    "write_run",
]

SETTINGS_RECORDED = (
    "k",
    "mode",
    "dense_weight",
    "window_sizes",
    "passage_words",
    "shaping",
    "abstain_threshold",
    "unknown_name_threshold",
    "abstain_weights",
    "abstain_bias",
    "abstain_chance",
    "backend",
    "model",
)
"""The settings a run's metadata records, enough to reproduce its answers."""


class Answers(Protocol):
    """What :func:`run_eval` needs of a retriever (:class:`qa.retrieval.retriever.Retriever` has it)."""

    settings: Settings
    index: Any
    """The index: ``index.document(source).text`` and ``index.manifest`` are read."""

    def warm_up(self, *, background: bool = True) -> None: ...

    def ask_many(
        self,
        questions: Sequence[str],
        *,
        k: int | None = None,
        histories: Sequence[Sequence[str]] | None = None,
    ) -> list[Answer]: ...


@dataclass(frozen=True)
class Timing:
    """How long a run took, measured after the model and index were loaded and warmed up."""

    warm_up_s: float
    answer_s: float
    batch: int
    questions: int

    @property
    def questions_per_s(self) -> float:
        return round(self.questions / max(self.answer_s, 1e-9), 1)

    def as_dict(self) -> dict[str, float | int]:
        return {
            "warm_up_s": round(self.warm_up_s, 3),
            "answer_s": round(self.answer_s, 3),
            "questions_per_s": self.questions_per_s,
            "batch": self.batch,
        }


@dataclass(frozen=True)
class EvalRun:
    """The result of :func:`run_eval`: one JSON-ready row per question, the metrics and the metadata."""

    questions: tuple[Question, ...]
    rows: tuple[dict[str, Any], ...]
    """Run rows (see :func:`run_rows`), in the order of the questions."""
    metrics: Metrics | None
    """None when no question has an expectation (nothing to score)."""
    k: int
    timing: Timing
    meta: Mapping[str, Any] = field(default_factory=dict)
    """What the run was made with (written to ``RUN.jsonl.meta.json``)."""
    skipped: tuple[SkippedRow, ...] = ()

    @property
    def by_id(self) -> dict[str, dict[str, Any]]:
        return {row["id"]: row for row in self.rows}


def run_eval(
    retriever: Answers,
    questions: Sequence[Question],
    *,
    k: int | None = None,
    batch: int = 64,
    progress: Callable[[int], object] | None = None,
    questions_file: Path | None = None,
    skipped: Sequence[SkippedRow] = (),
    collection: str = "default",
) -> EvalRun:
    """Answer ``questions`` with ``retriever`` (a :class:`~qa.retrieval.retriever.Retriever`), score them.

    ``k`` passages per question (default: the retriever's setting); ``batch`` questions are
    encoded together; ``progress(n)`` is called after each batch with the number just answered.
    ``questions_file``, ``skipped`` (the rows :func:`~qa.eval.questions.read_questions` left
    out) and ``collection`` (whose documents answered) go into the metadata and the report. A
    question the retriever refuses (no words to search for, too long) is skipped the same way,
    with its reason, and the others still run.
    """
    if batch < 1:
        raise ConfigError(f"the batch size must be at least 1, not {batch}")
    if not questions:
        where = f" in {questions_file}" if questions_file else ""
        raise EvaluationError(f"no usable questions{where}; each row needs a non-empty 'question'")
    k = retriever.settings.k if k is None else k
    started = time.perf_counter()
    # all of it before the questions are timed, and nothing left running on a thread: a process
    # that ended while soft coverage's word vectors were still being embedded on one aborted
    # ("terminate called without an active exception", status 134) after a short run
    retriever.warm_up(background=False)
    if (warming := getattr(retriever, "warming", None)) is not None:
        warming.wait()
    warm_up_s = time.perf_counter() - started
    answered: list[tuple[Question, Answer]] = []
    refused: list[SkippedRow] = []
    started = time.perf_counter()
    for i in range(0, len(questions), batch):
        chunk = questions[i : i + batch]
        answers, refusals = _ask(retriever, chunk, k=k, source=str(questions_file or ""))
        answered += answers
        refused += refusals
        if progress is not None:
            progress(len(chunk))
    timing = Timing(warm_up_s, time.perf_counter() - started, batch, len(questions))
    if not answered:
        raise EvaluationError(f"no question could be asked: {refused[0].reason}")
    questions = [q for q, _ in answered]
    rows = run_rows(questions, [a for _, a in answered], k)
    skipped = [*skipped, *refused]
    metrics: Metrics | None = None
    if any(q.has_expectation for q in questions):
        metrics = score(questions, {r["id"]: r for r in rows}, k=k, source_text=_source_texts(retriever))[0]
    meta = {
        **_run_facts(retriever, questions_file, len(questions), skipped),
        "collection": collection,
        "metrics": metrics.as_dict() if metrics else None,
        "timing": timing.as_dict(),
    }
    return EvalRun(tuple(questions), tuple(rows), metrics, k, timing, meta, tuple(skipped))


def _ask(
    retriever: Answers, chunk: Sequence[Question], *, k: int, source: str
) -> tuple[list[tuple[Question, Answer]], list[SkippedRow]]:
    """Answers for a batch; if the retriever refuses a question, the others one by one.

    A refused question (no words to search for, over the length limit) becomes a skipped row
    with the retriever's reason, as a bad row of the file would.
    """
    try:
        answers = retriever.ask_many([q.question for q in chunk], k=k, histories=[q.history for q in chunk])
        return list(zip(chunk, answers)), []
    except QuestionError:
        pass
    answered, refused = [], []
    for q in chunk:
        try:
            answered.append((q, retriever.ask_many([q.question], k=k, histories=[q.history])[0]))
        except QuestionError as exc:
            refused.append(SkippedRow(source, q.line, f"{q.id}: {exc}"))
    return answered, refused


def _source_texts(retriever: Answers) -> Callable[[str], str | None]:
    """Source name -> its indexed text (None when not indexed), to check citations."""

    def source_text(source: str) -> str | None:
        try:
            return retriever.index.document(source).text
        except KeyError:
            return None

    return source_text


def _run_facts(
    retriever: Answers, questions_file: Path | None, n: int, skipped: Sequence[SkippedRow]
) -> dict[str, Any]:
    """What a run was made with, to reproduce it: settings, index build, source hashes, versions."""
    from importlib import metadata

    manifest = retriever.index.manifest
    try:
        version = metadata.version("qa")
    except metadata.PackageNotFoundError:  # run from a source tree that was never installed
        version = "unknown"
    return {
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "questions_file": str(questions_file) if questions_file else None,
        "questions": n,
        "skipped_rows": [s.to_dict() for s in skipped],
        "settings": {key: getattr(retriever.settings, key) for key in SETTINGS_RECORDED},
        "index": {
            "built_at": manifest.built_at,
            "sources": manifest.sources,
            "faiss_index": manifest.faiss_index,
        },
        "qa_version": version,
        "python": sys.version.split()[0],
        "model": manifest.model,
    }


def run_rows(questions: Sequence[Question], answers: Sequence[Answer], k: int) -> list[dict[str, Any]]:
    """Run rows: each answer's dict with the question's id, kind, history, extra fields, expectation, rank."""
    rows = []
    for q, answer in zip(questions, answers):
        row = {"id": q.id, **answer_json(answer)}
        if q.kind:
            row["kind"] = q.kind
        if q.history:
            row["history"] = list(q.history)
        if q.extra:
            row["fields"] = dict(q.extra)
        if q.answer_phrases and not q.unanswerable:
            row["rank"] = first_hit(q, [p["text"] for p in row["passages"][:k]])
        if q.has_expectation:
            row["expected"] = UNANSWERABLE if q.unanswerable else list(q.answer_phrases)
            if q.needs_all:
                row["needs_all"] = True
        rows.append(row)
    return rows


def check_outputs(*paths: Path | None) -> list[Path]:
    """The output paths given (None skipped), once each folder is known to exist.

    Called before anything is loaded, so a typo in a path fails in a second, not after the run.
    """
    targets = [Path(p) for p in paths if p is not None]
    for target in targets:
        if not target.parent.is_dir():
            raise QuestionFileError(f"cannot write {target}: the folder {target.parent} does not exist")
    return targets


def write_outputs(
    run: EvalRun,
    *,
    out: Path | None = None,
    csv: Path | None = None,
    report: Path | None = None,
    title: str = "Evaluation report",
) -> None:
    """Write the run (JSONL + metadata), the results CSV and the HTML report, those given."""
    if out is not None:
        write_run(out, run.rows, run.meta)
    if csv is not None:
        write_results_csv(csv, run.rows, k=run.k)
    if report is not None:
        from qa.eval.report import write_report

        write_report(
            report,
            run.rows,
            run.metrics.as_dict() if run.metrics else None,
            k=run.k,
            meta=run.meta,
            title=title,
            skipped=run.skipped,
        )


def format_timing(run: EvalRun) -> str:
    """One line: how many questions, how fast, after how long a warm-up."""
    t = run.timing
    return (
        f"{t.questions:,} question{'' if t.questions == 1 else 's'} answered in {t.answer_s:.2f} s: "
        f"{t.questions_per_s:.1f} questions/s (after warming up the model and index in {t.warm_up_s:.2f} s)"
    )


def write_run(path: Path, rows: Iterable[Mapping[str, Any]], meta: Mapping[str, Any] | None = None) -> None:
    """Write run rows as JSONL (and ``meta`` to ``PATH.meta.json``), each atomically."""
    path = Path(path)
    atomic_write(path, "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows))
    if meta is not None:
        atomic_write(path.with_name(path.name + ".meta.json"), json.dumps(meta, indent=2) + "\n")


def run_collection(path: Path) -> str | None:
    """The collection a run file was made on, from its ``.meta.json`` (None when unknown)."""
    try:
        meta = json.loads(Path(path).with_name(Path(path).name + ".meta.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    found = meta.get("collection") if isinstance(meta, dict) else None
    return found if isinstance(found, str) else None


def read_run(path: Path) -> dict[str, dict[str, Any]]:
    """A run file as id -> row; a bad line is a :class:`~qa.errors.QuestionFileError` naming it."""
    out: dict[str, dict[str, Any]] = {}
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError:
        raise QuestionFileError(f"the run {path} is not UTF-8 text") from None
    except OSError as exc:
        raise QuestionFileError(f"cannot read the run {path}: {exc.strerror}") from None
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            out[str(row["id"])] = row
        except (ValueError, KeyError, TypeError):
            raise QuestionFileError(f"{path}:{n}: not a run row (JSON object with an id)") from None
    return out
