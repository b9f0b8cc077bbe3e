"""A self-contained HTML report of an evaluation run: metrics, charts, every question.

One file, no external requests: inline CSS, inline SVG charts, no scripts. Every text from a
question or a document is HTML-escaped.
"""

from __future__ import annotations

import html
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

__all__ = ["outcome", "render_report", "write_report"]

CSS = """
body{font:15px/1.5 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:#1d2330;margin:0;
  background:#f6f7f9}
main{max-width:1100px;margin:0 auto;padding:24px}
h1{margin:0 0 4px}h2{margin-top:32px}
.meta{color:#5b6474;font-size:13px}
.cards{display:flex;flex-wrap:wrap;gap:10px;margin:16px 0}
.card{background:#fff;border:1px solid #dde2ea;border-radius:8px;padding:10px 14px;min-width:110px}
.card b{display:block;font-size:22px}
.charts{display:flex;flex-wrap:wrap;gap:16px}
figure{background:#fff;border:1px solid #dde2ea;border-radius:8px;margin:0;padding:10px}
figcaption{font-size:13px;color:#5b6474}
table{border-collapse:collapse;width:100%;background:#fff}
th,td{border-bottom:1px solid #e6e9ef;padding:8px;vertical-align:top;text-align:left}
th{background:#eef1f6;position:sticky;top:0}
.tag{display:inline-block;border-radius:4px;padding:1px 7px;font-size:12px;font-weight:600;white-space:nowrap}
.correct{background:#d9f2e1;color:#14532d}.wrong{background:#fde2e1;color:#7f1d1d}
.abstained{background:#e7e9fb;color:#312e81}.unscored{background:#eee;color:#444}
.p{margin:4px 0 8px;font-size:13px}.cite{color:#5b6474;font-size:12px}
mark{background:#ffe58a}
details summary{cursor:pointer;color:#2455c3;font-size:13px}
"""

LABELS = {
    "correct": "correct",
    "wrong": "wrong",
    "abstained_ok": "abstained (right)",
    "false_abstain": "abstained (wrong)",
    "answered_unanswerable": "answered, should abstain",
    "unscored": "no expectation",
}


def outcome(row: Mapping[str, Any], k: int) -> str:
    """One of the keys of ``LABELS`` for a run row (see :func:`qa.evaluation.run_rows`)."""
    expected = row.get("expected")
    if expected is None:
        return "unscored"
    if expected == "unanswerable":
        return "abstained_ok" if row.get("abstained") else "answered_unanswerable"
    if row.get("abstained"):
        return "false_abstain"
    rank = row.get("rank")
    return "correct" if rank is not None and rank <= k else "wrong"


def _esc(value: object) -> str:
    return html.escape(str(value))


def _marked(p: Mapping[str, Any]) -> str:
    text, start = p.get("text", ""), p.get("start", 0)
    h = p.get("highlight") or {}
    a = max(0, min(len(text), h.get("start", start) - start))
    b = max(a, min(len(text), h.get("end", start) - start))
    return _esc(text[:a]) + f"<mark>{_esc(text[a:b])}</mark>" + _esc(text[b:])


def _bars(title: str, data: Sequence[tuple[str, int]], color: str, width: int = 420) -> str:
    """A horizontal-label vertical bar chart as inline SVG."""
    height, pad, top = 190, 28, 12
    peak = max([v for _, v in data] or [1]) or 1
    n = max(len(data), 1)
    slot = (width - pad) / n
    parts = [
        f"<svg width='{width}' height='{height + 30}' role='img' aria-label='{_esc(title)}'>",
        f"<line x1='{pad}' y1='{top + height - 20}' x2='{width}' y2='{top + height - 20}' stroke='#999'/>",
    ]
    for i, (label, value) in enumerate(data):
        h = (height - 40) * value / peak
        x = pad + i * slot + slot * 0.15
        y = top + height - 20 - h
        parts.append(
            f"<rect x='{x:.1f}' y='{y:.1f}' width='{slot * 0.7:.1f}' height='{h:.1f}' fill='{color}'/>"
        )
        parts.append(
            f"<text x='{x + slot * 0.35:.1f}' y='{y - 4:.1f}' font-size='12' "
            f"text-anchor='middle'>{value}</text>"
        )
        parts.append(
            f"<text x='{x + slot * 0.35:.1f}' y='{top + height - 4}' font-size='12' "
            f"text-anchor='middle'>{_esc(label)}</text>"
        )
    parts.append("</svg>")
    return f"<figure>{''.join(parts)}<figcaption>{_esc(title)}</figcaption></figure>"


def _score_chart(rows: Sequence[Mapping[str, Any]], k: int) -> str:
    """Top passage score, correct vs wrong answers, in 10 bins from the lowest to the highest."""
    points = []
    for r in rows:
        o = outcome(r, k)
        if o in ("correct", "wrong", "false_abstain") and r.get("passages"):
            points.append((float(r["passages"][0].get("score", 0.0)), o == "correct"))
    if not points:
        return ""
    lo, hi = min(s for s, _ in points), max(s for s, _ in points)
    span = (hi - lo) or 1.0
    bins = [[0, 0] for _ in range(10)]
    for s, ok in points:
        bins[min(int((s - lo) / span * 10), 9)][0 if ok else 1] += 1
    width, height, pad = 420, 190, 28
    peak = max(max(b) for b in bins) or 1
    slot = (width - pad) / 10
    parts = [f"<svg width='{width}' height='{height + 30}' role='img'>"]
    for i, (good, bad) in enumerate(bins):
        for j, (value, color) in enumerate(((good, "#2f9e5b"), (bad, "#d9534f"))):
            h = (height - 40) * value / peak
            x = pad + i * slot + j * slot * 0.4 + slot * 0.1
            parts.append(
                f"<rect x='{x:.1f}' y='{height - 20 - h:.1f}' width='{slot * 0.38:.1f}' "
                f"height='{h:.1f}' fill='{color}'/>"
            )
        if i % 3 == 0:
            parts.append(
                f"<text x='{pad + i * slot:.1f}' y='{height - 4}' font-size='11'>"
                f"{lo + span * i / 10:.2f}</text>"
            )
    parts.append(
        f"<text x='{width - 150}' y='14' font-size='12' fill='#2f9e5b'>■ correct</text>"
        f"<text x='{width - 80}' y='14' font-size='12' fill='#d9534f'>■ wrong</text></svg>"
    )
    caption = "Score of the top passage: correct vs wrong answers"
    return f"<figure>{''.join(parts)}<figcaption>{caption}</figcaption></figure>"


def render_report(
    rows: Sequence[Mapping[str, Any]],
    metrics: Mapping[str, Any] | None,
    *,
    k: int,
    meta: Mapping[str, Any] | None = None,
    title: str = "Evaluation report",
    shown: int = 3,
) -> str:
    """The report as one HTML string."""
    meta = meta or {}
    outcomes = Counter(outcome(r, k) for r in rows)
    ranks = Counter(r.get("rank") for r in rows if outcome(r, k) in ("correct", "wrong"))
    rank_data = [(str(i), ranks.get(i, 0)) for i in range(1, k + 1)]
    rank_data.append((f"none in {k}", sum(v for key, v in ranks.items() if key is None or key > k)))
    out = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width, initial-scale=1'>",
        f"<title>{_esc(title)}</title><style>{CSS}</style></head><body><main>",
        f"<h1>{_esc(title)}</h1>",
        f"<p class='meta'>{len(rows)} questions · top {k} passages · "
        + " · ".join(
            f"{_esc(key)}: {_esc(meta[key])}" for key in ("questions_file", "created", "model") if key in meta
        )
        + "</p>",
    ]
    if metrics:
        out.append("<div class='cards'>")
        for key, value in metrics.items():
            out.append(f"<div class='card'><b>{_esc(value)}</b>{_esc(key)}</div>")
        out.append("</div>")
    out.append("<h2>Charts</h2><div class='charts'>")
    out.append(_bars("Rank of the first correct passage (answerable questions)", rank_data, "#2455c3"))
    out.append(
        _bars(
            "Outcomes",
            [
                (
                    LABELS[key].split(" (")[0][:12] + ("" if "(" not in LABELS[key] else "*"),
                    outcomes.get(key, 0),
                )
                for key in LABELS
                if outcomes.get(key)
            ],
            "#7a5af8",
        )
    )
    out.append(_score_chart(rows, k))
    out.append("</div><p class='meta'>* see the table for the exact outcome.</p>")
    out.append("<h2>Questions</h2><table><thead><tr><th>id</th><th>question</th><th>outcome</th>")
    out.append("<th>passages</th></tr></thead><tbody>")
    for r in rows:
        o = outcome(r, k)
        css = {"correct": "correct", "abstained_ok": "abstained", "unscored": "unscored"}.get(o, "wrong")
        rank = f" @{r['rank']}" if o == "correct" else ""
        passages = []
        for i, p in enumerate((r.get("passages") or [])[:shown], 1):
            words = p.get("words") or {}
            where = f"words {words.get('start', 0) + 1:,}–{words.get('end', 0):,}" if words else ""
            passages.append(
                f"<div class='p'><div class='cite'>[{i}] {_esc(p.get('title') or p.get('source', ''))} · "
                f"{_esc(where)} · chars {_esc(p.get('start'))}–{_esc(p.get('end'))} · "
                f"score {_esc(p.get('score'))}</div>{_marked(p)}</div>"
            )
        body = passages[0] if passages else "<em>no passages</em>"
        if len(passages) > 1:
            more = "".join(passages[1:])
            body += f"<details><summary>{len(passages) - 1} more</summary>{more}</details>"
        expected = r.get("expected")
        expect = ""
        if isinstance(expected, list) and expected:
            expect = "<div class='cite'>expected: " + " | ".join(_esc(x) for x in expected) + "</div>"
        out.append(
            f"<tr><td>{_esc(r.get('id'))}</td><td>{_esc(r.get('question'))}{expect}</td>"
            f"<td><span class='tag {css}'>{_esc(LABELS[o])}{rank}</span></td><td>{body}</td></tr>"
        )
    out.append("</tbody></table></main></body></html>")
    return "\n".join(out)


def write_report(path: Path, *args: Any, **kwargs: Any) -> None:
    """:func:`render_report` written to ``path`` atomically."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(render_report(*args, **kwargs), encoding="utf-8")
    tmp.replace(path)
