"""A self-contained HTML report of an evaluation run: metrics, charts, every question.

One file, no external requests: inline CSS, inline SVG charts, no scripts, no fonts or images
to fetch. Every text from a question file or a document is HTML-escaped.
"""

from __future__ import annotations

import html
import json
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from qa.errors import QAError
from qa.eval.evaluation import OUTCOMES, outcome

__all__ = ["render_report", "write_report"]

CSS = """
body{font:15px/1.5 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:#1d2330;margin:0;
  background:#f6f7f9}
main{max-width:1180px;margin:0 auto;padding:24px}
h1{margin:0 0 4px}h2{margin-top:32px}
.meta{color:#5b6474;font-size:13px}
.cards{display:flex;flex-wrap:wrap;gap:10px;margin:16px 0}
.card{background:#fff;border:1px solid #dde2ea;border-radius:8px;padding:10px 14px;width:150px}
.card b{display:block;font-size:22px}.card span{display:block;font-size:12px;color:#5b6474}
.charts{display:flex;flex-wrap:wrap;gap:16px}
figure{background:#fff;border:1px solid #dde2ea;border-radius:8px;margin:0;padding:10px}
figcaption{font-size:13px;color:#5b6474;max-width:460px}
svg text{font-family:inherit}
table{border-collapse:collapse;width:100%;background:#fff}
th,td{border-bottom:1px solid #e6e9ef;padding:8px;vertical-align:top;text-align:left}
th{background:#eef1f6;position:sticky;top:0}
td.id{white-space:nowrap;font-family:ui-monospace,monospace;font-size:13px}
table.small{width:auto}table.small td,table.small th{padding:4px 12px}
.tag{display:inline-block;border-radius:4px;padding:1px 7px;font-size:12px;font-weight:600;white-space:nowrap}
.correct{background:#d9f2e1;color:#14532d}.wrong{background:#fde2e1;color:#7f1d1d}
.abstained{background:#e7e9fb;color:#312e81}.unscored{background:#eee;color:#444}
.p{margin:4px 0 10px;font-size:13px}.cite{color:#5b6474;font-size:12px}
.hit{border-left:3px solid #2f9e5b;padding-left:8px}
mark{background:#ffe58a}
details summary{cursor:pointer;color:#2455c3;font-size:13px}
ul.todo{columns:2;font-size:14px}
pre{background:#fff;border:1px solid #dde2ea;border-radius:8px;padding:10px;font-size:12px;overflow:auto}
"""

_CSS_CLASS = {
    "correct": "correct",
    "abstained_ok": "abstained",
    "unscored": "unscored",
}
_CARD_NOTES = {
    "answerable": "questions with expected phrases",
    "hit@1": "correct passage first",
    "hit@3": "correct passage in top 3",
    "unanswerable": "questions to abstain on",
    "abstain_ok": "abstained when it should",
    "false_abstain": "abstained when it should not",
    "avg_words": "words per passage",
    "too_long": "passages over 120 words",
    "bad_citations": "text ≠ source[start:end]",
}
GREEN, RED, BLUE, PURPLE, GREY = "#2f9e5b", "#d9534f", "#2455c3", "#7a5af8", "#8a93a3"


def _esc(value: object) -> str:
    return html.escape(str(value))


def _marked(p: Mapping[str, Any]) -> str:
    """The passage text, escaped, with its highlight span in ``<mark>``."""
    text, start = str(p.get("text", "")), int(p.get("start") or 0)
    h = p.get("highlight") or {}
    a = max(0, min(len(text), int(h.get("start", start)) - start))
    b = max(a, min(len(text), int(h.get("end", start)) - start))
    return _esc(text[:a]) + f"<mark>{_esc(text[a:b])}</mark>" + _esc(text[b:])


def _figure(svg: str, caption: str) -> str:
    return f"<figure>{svg}<figcaption>{_esc(caption)}</figcaption></figure>"


def _columns(title: str, data: Sequence[tuple[str, int]], color: str) -> str:
    """A vertical bar chart with a count above each bar, as inline SVG."""
    width, height, left, base = 460, 200, 16, 170
    peak = max([v for _, v in data] or [1]) or 1
    slot = (width - 2 * left) / max(len(data), 1)
    parts = [
        f"<svg width='{width}' height='{height}' viewBox='0 0 {width} {height}' role='img' "
        f"aria-label='{_esc(title)}'>",
        f"<line x1='{left}' y1='{base}' x2='{width - left}' y2='{base}' stroke='#999'/>",
    ]
    for i, (label, value) in enumerate(data):
        h = (base - 30) * value / peak
        x = left + i * slot + slot * 0.15
        mid = x + slot * 0.35
        parts.append(f"<rect x='{x:.1f}' y='{base - h:.1f}' width='{slot * 0.7:.1f}' height='{h:.1f}' ")
        parts.append(f"fill='{color}'><title>{_esc(label)}: {value}</title></rect>")
        parts.append(f"<text x='{mid:.1f}' y='{base - h - 5:.1f}' font-size='12' text-anchor='middle'>")
        parts.append(f"{value}</text>")
        parts.append(f"<text x='{mid:.1f}' y='{base + 16}' font-size='12' text-anchor='middle'>")
        parts.append(f"{_esc(label)}</text>")
    parts.append("</svg>")
    return _figure("".join(parts), title)


def _rows_chart(title: str, data: Sequence[tuple[str, int, str]]) -> str:
    """A horizontal bar chart (label, count, colour) with the full labels on the left."""
    width, row, label_w = 460, 26, 170
    height = row * max(len(data), 1) + 10
    peak = max([v for _, v, _ in data] or [1]) or 1
    parts = [
        f"<svg width='{width}' height='{height}' viewBox='0 0 {width} {height}' role='img' "
        f"aria-label='{_esc(title)}'>"
    ]
    for i, (label, value, color) in enumerate(data):
        y = 5 + i * row
        w = (width - label_w - 40) * value / peak
        parts.append(f"<text x='{label_w - 8}' y='{y + 16}' font-size='12' text-anchor='end'>")
        parts.append(f"{_esc(label)}</text>")
        parts.append(f"<rect x='{label_w}' y='{y + 3}' width='{w:.1f}' height='{row - 8}' fill='{color}'/>")
        parts.append(f"<text x='{label_w + w + 6:.1f}' y='{y + 16}' font-size='12'>{value}</text>")
    parts.append("</svg>")
    return _figure("".join(parts), title)


def _histogram(
    title: str,
    series: Sequence[tuple[str, str, Sequence[float]]],
    *,
    marker: tuple[str, float] | None = None,
    bins: int = 10,
) -> str:
    """Side-by-side histograms of a few series (name, colour, values) over shared bins.

    ``marker`` draws a labelled vertical line at a value, such as a threshold.
    """
    values = [v for _, _, vs in series for v in vs]
    if not values:
        return ""
    if marker is not None:
        values.append(marker[1])
    lo, hi = min(values), max(values)
    lo, hi = int(lo * 20) / 20, (int(hi * 20) + 1) / 20  # round outwards to 0.05
    span = hi - lo
    counts = [[0] * bins for _ in series]
    for j, (_, _, vs) in enumerate(series):
        for v in vs:
            counts[j][min(int((v - lo) / span * bins), bins - 1)] += 1
    width, height, left, right, base = 460, 210, 30, 12, 175
    plot = width - left - right
    peak = max(max(c) for c in counts) or 1
    slot = plot / bins
    bar = slot * 0.8 / len(series)
    parts = [
        f"<svg width='{width}' height='{height}' viewBox='0 0 {width} {height}' role='img' "
        f"aria-label='{_esc(title)}'>",
        f"<line x1='{left}' y1='{base}' x2='{width - right}' y2='{base}' stroke='#999'/>",
        f"<text x='{left - 6}' y='{base - (base - 30) + 4}' font-size='11' text-anchor='end'>{peak}</text>",
        f"<text x='{left - 6}' y='{base + 4}' font-size='11' text-anchor='end'>0</text>",
    ]
    for i in range(bins):
        for j, (name, color, _) in enumerate(series):
            value = counts[j][i]
            if not value:
                continue
            h = (base - 30) * value / peak
            x = left + i * slot + slot * 0.1 + j * bar
            parts.append(f"<rect x='{x:.1f}' y='{base - h:.1f}' width='{bar:.1f}' height='{h:.1f}' ")
            parts.append(f"fill='{color}'><title>{_esc(name)}: {value}</title></rect>")
    for i in range(0, bins + 1, 2):
        x = left + i * slot
        parts.append(f"<line x1='{x:.1f}' y1='{base}' x2='{x:.1f}' y2='{base + 4}' stroke='#999'/>")
        parts.append(f"<text x='{x:.1f}' y='{base + 17}' font-size='11' text-anchor='middle'>")
        parts.append(f"{lo + span * i / bins:.2f}</text>")
    if marker is not None:
        x = left + (marker[1] - lo) / span * plot
        parts.append(
            f"<line x1='{x:.1f}' y1='22' x2='{x:.1f}' y2='{base}' stroke='#1d2330' stroke-dasharray='4 3'/>"
        )
        parts.append(f"<text x='{x + 4:.1f}' y='30' font-size='11'>{_esc(marker[0])}</text>")
    x = width - right
    for name, color, vs in reversed(series):
        label = f"■ {name} ({len(vs)})"
        parts.append(f"<text x='{x}' y='12' font-size='12' fill='{color}' text-anchor='end'>")
        parts.append(f"{_esc(label)}</text>")
        x -= 9 * len(label) + 14
    parts.append("</svg>")
    return _figure("".join(parts), title)


def _charts(rows: Sequence[Mapping[str, Any]], k: int, meta: Mapping[str, Any]) -> list[str]:
    outcomes = [outcome(r, k) for r in rows]
    answerable = [r for r, o in zip(rows, outcomes) if o in ("correct", "wrong", "false_abstain")]
    charts = []
    if answerable:
        ranks = Counter(r.get("rank") for r in answerable)
        data = [(str(i), ranks.get(i, 0)) for i in range(1, k + 1)]
        data.append((f"none in {k}", sum(v for key, v in ranks.items() if key is None or key > k)))
        charts.append(_columns("Rank of the first correct passage (answerable questions)", data, BLUE))
    counts = Counter(outcomes)
    colours = {
        "correct": GREEN,
        "wrong": RED,
        "abstained_ok": PURPLE,
        "false_abstain": RED,
        "answered_unanswerable": RED,
        "unscored": GREY,
    }
    charts.append(
        _rows_chart(
            "Outcome of each question", [(v, counts[key], colours[key]) for key, v in OUTCOMES.items()]
        )
    )
    hit = [r for r in answerable if r.get("passages") and (r.get("rank") or k + 1) <= k]
    miss = [r for r in answerable if r.get("passages") and (r.get("rank") or k + 1) > k]
    charts.append(
        _histogram(
            f"Score of the top passage, answerable questions: a correct passage in the top {k} or not",
            [
                ("correct", GREEN, [float(r["passages"][0].get("score", 0)) for r in hit]),
                ("wrong", RED, [float(r["passages"][0].get("score", 0)) for r in miss]),
            ],
        )
    )
    threshold = (meta.get("settings") or {}).get("abstain_threshold")
    with_evidence = [r for r in rows if isinstance(r.get("evidence"), (int, float)) and "expected" in r]
    unanswerable = [r["evidence"] for r in with_evidence if r["expected"] == "unanswerable"]
    if unanswerable:
        charts.append(
            _histogram(
                "Evidence (what abstention is decided on): answerable vs unanswerable questions; "
                "below the threshold the bot abstains",
                [
                    (
                        "answerable",
                        BLUE,
                        [r["evidence"] for r in with_evidence if r["expected"] != "unanswerable"],
                    ),
                    ("unanswerable", PURPLE, unanswerable),
                ],
                marker=("threshold", float(threshold)) if isinstance(threshold, (int, float)) else None,
            )
        )
    return [c for c in charts if c]


def _by_kind(rows: Sequence[Mapping[str, Any]], k: int) -> str:
    """A table of outcomes per question kind, when the question file gives kinds."""
    kinds: dict[str, Counter] = {}
    for r in rows:
        if r.get("kind"):
            kinds.setdefault(str(r["kind"]), Counter())[outcome(r, k)] += 1
    if len(kinds) < 2:
        return ""
    keys = [key for key in OUTCOMES if any(c[key] for c in kinds.values())]
    out = ["<h2>By kind of question</h2><table class='small'><thead><tr><th>kind</th><th>questions</th>"]
    out += [f"<th>{_esc(OUTCOMES[key])}</th>" for key in keys]
    out.append("</tr></thead><tbody>")
    for kind, c in sorted(kinds.items()):
        out.append(f"<tr><td>{_esc(kind)}</td><td>{sum(c.values())}</td>")
        out += [f"<td>{c[key]}</td>" for key in keys]
        out.append("</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def _passage(i: int, p: Mapping[str, Any], *, hit: bool) -> str:
    cited = p.get("citation") or p
    words = cited.get("words") or {}
    where = f"words {words['start'] + 1:,}–{words['end']:,}" if "start" in words else ""
    parts = [
        f"[{i}] {cited.get('label') or cited.get('title') or p.get('source', '')}",
        str(p.get("source", "")),
        where,
        f"chars {p.get('start')}–{p.get('end')}",
        f"score {p.get('score')}",
    ]
    cite = " · ".join(_esc(x) for x in parts if x)
    if hit:
        cite += " · <span class='tag correct'>first correct</span>"
    return f"<div class='p{' hit' if hit else ''}'><div class='cite'>{cite}</div>{_marked(p)}</div>"


def _question_row(r: Mapping[str, Any], k: int) -> str:
    o = outcome(r, k)
    rank = r.get("rank")
    label = OUTCOMES[o] + (f" @{rank}" if rank is not None and rank <= k else "")
    passages = [_passage(i, p, hit=i == rank) for i, p in enumerate((r.get("passages") or [])[:k], 1)]
    body = passages[0] if passages else "<em>no passages</em>"
    if len(passages) > 1:
        note = f" (first correct: [{rank}])" if rank is not None and 1 < rank <= k else ""
        body += f"<details><summary>{len(passages) - 1} more{note}</summary>{''.join(passages[1:])}</details>"
    about = []
    expected = r.get("expected")
    if isinstance(expected, list) and expected:
        about.append("expected: " + " | ".join(_esc(x) for x in expected))
    if r.get("kind"):
        about.append(f"kind: {_esc(r['kind'])}")
    for key, value in (r.get("fields") or {}).items():
        about.append(f"{_esc(key)}: {_esc(value)}")
    if r.get("query") and r.get("query") != r.get("question"):
        about.append(f"searched as: {_esc(r['query'])}")
    extra = "".join(f"<div class='cite'>{x}</div>" for x in about)
    return (
        f"<tr id='q-{_esc(r.get('id'))}'><td class='id'>{_esc(r.get('id'))}</td>"
        f"<td>{_esc(r.get('question'))}{extra}</td>"
        f"<td><span class='tag {_CSS_CLASS.get(o, 'wrong')}'>{_esc(label)}</span></td><td>{body}</td></tr>"
    )


def render_report(
    rows: Sequence[Mapping[str, Any]],
    metrics: Mapping[str, Any] | None,
    *,
    k: int,
    meta: Mapping[str, Any] | None = None,
    title: str = "Evaluation report",
) -> str:
    """The report as one HTML string: ``rows`` from :func:`qa.evaluation.run_rows`, ``metrics``
    from :meth:`qa.evaluation.Metrics.as_dict` (None when nothing could be scored), ``meta`` as
    written beside the run."""
    meta = meta or {}
    facts = [f"{len(rows)} questions", f"top {k} passages"]
    facts += [f"{key}: {meta[key]}" for key in ("questions_file", "created", "model") if meta.get(key)]
    timing = meta.get("timing") or {}
    if timing.get("questions_per_s"):
        facts.append(f"{timing['questions_per_s']} questions/s")
    out = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width, initial-scale=1'>",
        f"<title>{_esc(title)}</title><style>{CSS}</style></head><body><main>",
        f"<h1>{_esc(title)}</h1><p class='meta'>{' · '.join(_esc(f) for f in facts)}</p>",
    ]
    if metrics:
        out.append("<div class='cards'>")
        for key, value in metrics.items():
            note = _CARD_NOTES.get(key, "")
            if key.startswith("hit@") and not note:
                note = f"correct passage in top {key[4:]}"
            elif key.startswith("mrr@"):
                note = "mean reciprocal rank"
            out.append(f"<div class='card'><b>{_esc(value)}</b>{_esc(key)}<span>{_esc(note)}</span></div>")
        out.append("</div>")
    else:
        out.append("<p>The questions have no expected answers: nothing was scored.</p>")
    todo = [r for r in rows if outcome(r, k) in ("wrong", "false_abstain", "answered_unanswerable")]
    if todo:
        out.append(f"<h2>To look at ({len(todo)})</h2><ul class='todo'>")
        for r in todo:
            out.append(
                f"<li><a href='#q-{_esc(r.get('id'))}'>{_esc(r.get('id'))}</a> "
                f"{_esc(OUTCOMES[outcome(r, k)])}: {_esc(r.get('question'))}</li>"
            )
        out.append("</ul>")
    out.append("<h2>Charts</h2><div class='charts'>")
    out += _charts(rows, k, meta)
    out.append("</div>")
    out.append(_by_kind(rows, k))
    out.append("<h2>Questions</h2><table><thead><tr><th>id</th><th>question</th><th>outcome</th>")
    out.append("<th>passages (highlight marked)</th></tr></thead><tbody>")
    out += [_question_row(r, k) for r in rows]
    out.append("</tbody></table>")
    if meta:
        out.append("<h2>Run settings</h2><details><summary>settings, index, versions, timing</summary>")
        out.append(f"<pre>{_esc(json.dumps(meta, indent=2, ensure_ascii=False))}</pre></details>")
    out.append("</main></body></html>")
    return "\n".join(out)


def write_report(path: Path, *args: Any, **kwargs: Any) -> None:
    """:func:`render_report` written to ``path`` atomically."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.write_text(render_report(*args, **kwargs), encoding="utf-8")
        tmp.replace(path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise QAError(f"cannot write the report {path}: {exc.strerror}") from None
