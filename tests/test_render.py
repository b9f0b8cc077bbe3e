"""One renderer: plain text, citation labels, marked HTML and the one JSON shape of an answer."""

import json
import re
from pathlib import Path

from qa.answer import Answer, Citation, Passage, Span
from qa.config import Settings
from qa.render import (
    CLOSEST,
    DECLINE,
    DECLINE_HINT,
    MAX_SHOWN_PASSAGES,
    NEW_TAB,
    ORIGINAL,
    SEE_IN_CONTEXT,
    answer_html,
    answer_json,
    citation_detail,
    citation_label,
    decision,
    deep_link,
    escape,
    marked_html,
    original_link,
    passage_digest,
    passage_json,
    place_label,
    plain_text,
)

STATIC = Path(__file__).resolve().parents[1] / "qa" / "web" / "static"


def _citation(**changes):
    base = dict(
        source="seeds/a.txt",
        title="Title",
        url="https://example.org/a",
        start=100,
        end=122,
        word_start=10,
        word_end=14,
        total_words=1000,
    )
    return Citation(**{**base, **changes})


def _passage(text="alpha beta gamma delta", start=100, **changes):
    c = _citation(start=start, end=start + len(text), **changes)
    return Passage(text, c, 0.8, Span(start + 6, start + 16))


def _answer(*passages, abstained=False, evidence=0.7):
    return Answer("q?", tuple(passages) or (_passage(),), abstained, evidence, query="q? searched")


def test_label_leads_with_title_page_and_section_and_keeps_file_and_offsets_secondary():
    assert citation_label(_citation()) == "Title"
    label = citation_label(_citation(page=12, section="Manual › Variables"))
    assert label == "Title · p. 12 · Manual › Variables"
    assert citation_label(_citation(title="")) == "seeds/a.txt"
    assert citation_label(_citation(source="s/deck.pptx", page=3)) == "Title · slide 3"
    assert place_label(_citation()) == ""
    assert citation_detail(_citation()) == "seeds/a.txt · words 11–14 of 1,000 · characters 100–122"


def test_label_does_not_say_the_title_twice_when_the_section_path_opens_with_it():
    label = citation_label(_citation(title="Apache License", section="Apache License › 4. Redistribution"))
    assert label == "Apache License · 4. Redistribution"
    zlib = "zlib Usage Example"
    assert citation_label(_citation(title=zlib, section="zlib  usage example")) == zlib
    assert citation_label(_citation(title="zlib Usage Example", page=2, section="ZLIB Usage Example")) == (
        "zlib Usage Example · p. 2"
    )
    # a section that only starts with the same words is another heading, kept whole
    label = citation_label(_citation(title="Manual", section="Manual pages › Options"))
    assert label == "Manual · Manual pages › Options"
    # the place alone keeps its path
    assert place_label(_citation(section="Title › Intro")) == "Title › Intro"


def test_deep_link_goes_as_deep_as_the_source_allows():
    assert deep_link(_citation(url="")) == "/originals/seeds/a.txt"  # as the app serves it
    assert deep_link(_citation(url="javascript:alert(1)")) == "/originals/seeds/a.txt"
    pdf = _citation(source="docs/m a.pdf", url="", page=3)
    assert deep_link(pdf) == original_link(pdf) == "/originals/docs/m%20a.pdf#page=3"
    assert deep_link(_citation(url="https://x.org/m.pdf", page=3)) == "https://x.org/m.pdf#page=3"
    assert deep_link(_citation(url="https://x.org/m.html", anchor="_vars")) == "https://x.org/m.html#_vars"
    assert deep_link(_citation(), "beta gamma") == "https://example.org/a#:~:text=beta%20gamma"
    assert deep_link(_citation(url="https://x.org/a#Section")) == "https://x.org/a#Section"
    assert deep_link(_citation(), "one") == "https://example.org/a"
    # phrases, not lone words: "If" and "must" alone match the first place the page uses them
    sentence = "If You fail to comply with this License, then You must stop distributing it."
    assert deep_link(_citation(), sentence) == (
        "https://example.org/a#:~:text=If%20You%20fail%20to,must%20stop%20distributing%20it."
    )


def test_plain_text_has_the_sentence_once_then_labels_and_detail():
    text = plain_text(_answer(_passage(), _passage(start=500, title="Other")), scores=True)
    assert text.startswith("“beta gamma” [1]\n") and text.count("beta gamma”") == 1
    assert "[1] Title (score 0.80)\n    seeds/a.txt · words 11–14 of 1,000 · characters 100–122" in text
    assert f"    {ORIGINAL}: https://example.org/a#:~:text=beta%20gamma" in text and "[2] Other" in text
    assert "<" not in text


def test_declined_answer_shows_the_deciding_evidence_not_confident_scores():
    settings = Settings(root=Path.cwd(), model="fake")
    text = plain_text(_answer(abstained=True, evidence=0.18), settings, scores=True)
    assert text.startswith(f"{DECLINE} (evidence 0.18; an answer needs 0.35)")
    assert CLOSEST in text and "score" not in text
    named = decision(_answer(abstained=True, evidence=0.5), settings)
    assert "never mention" in named and "0.68" in named


def test_html_is_escaped_marks_the_sentence_once_and_folds_all_but_the_first():
    evil = _passage(text="alpha <b>beta</b>\n\n**gamma**", title="<img src=x onerror=alert(1)>")
    out = answer_html(_answer(evil, _passage(start=500), _passage(start=900)))
    assert "<b>" not in out and "<img" not in out and "&lt;img" in out and "\n" not in out
    assert out.count("<mark>") == 3 and out.count("<details class='qa-fold' open>") == 1
    assert out.count("<details class='qa-fold'>") == 2
    assert out.index("qa-label") < out.index("qa-text") < out.index("qa-detail")
    assert f"{ORIGINAL} ↗</a>" in out and "rel='noopener noreferrer'" in out
    assert f"aria-label='{ORIGINAL} ({NEW_TAB})'" in out  # screen readers hear where it opens


def test_declined_html_marks_nothing_and_says_so_in_plain_words():
    out = answer_html(_answer(_passage(), abstained=True, evidence=0.18))
    assert escape(DECLINE) in out and CLOSEST in out and escape(DECLINE_HINT) in out
    assert "0.18" not in out and "vidence" not in out  # the figures are for authors (JSON reason)
    assert "<mark>" not in out and " open>" not in out and "qa-closest" in out


def test_marked_html_clamps_offsets():
    assert marked_html("abc", 10, 0, 11) == "<mark>a</mark>bc"
    assert marked_html("a<b", 0, 5, 9) == "a&lt;b"


def test_one_json_shape_keeps_the_run_fields_and_nests_the_citation():
    p = _passage(page=2, section="Intro")
    data = answer_json(_answer(p))
    assert data == json.loads(json.dumps(data))
    row = data["passages"][0]
    assert {k: row[k] for k in ("text", "source", "start", "end", "score")} == {
        "text": p.text,
        "source": "seeds/a.txt",
        "start": 100,
        "end": 122,
        "score": 0.8,
    }
    assert row["highlight"] == {"start": 106, "end": 116} and row["highlight_text"] == "beta gamma"
    cite = row["citation"]
    assert cite["label"] == "Title · p. 2 · Intro" and cite["page"] == 2 and cite["section"] == "Intro"
    assert cite["original_url"] == "/originals/seeds/a.txt" and cite["link"].startswith(
        "https://example.org/a"
    )
    assert cite["words"] == {"start": 10, "end": 14, "total": 1000, "label": "words 11–14 of 1,000"}
    digest = passage_digest("alpha beta gamma delta")
    assert row["context_url"] == f"/api/v1/sources/seeds/a.txt?start=100&end=122&hs=106&he=116&v={digest}"
    assert data["notice"] == "" and data["closest_label"] == ""
    declined = answer_json(_answer(abstained=True, evidence=0.2))
    assert declined["notice"] == f"{DECLINE} {DECLINE_HINT}" and declined["closest_label"] == CLOSEST
    assert declined["reason"] == "evidence 0.20, too weak to answer" and data["reason"] == ""
    assert passage_json(p) == row


def test_the_widget_uses_the_same_words_and_limits():
    widget = (STATIC / "widget.js").read_text(encoding="utf-8")
    assert f'"{ORIGINAL} ↗"' in widget and f'"{SEE_IN_CONTEXT.lower()}"' in widget
    assert f'var NEW_TAB = "{NEW_TAB}";' in widget
    chat_css = (STATIC / "chat.css").read_text(encoding="utf-8")
    assert f'content: "" / " ({NEW_TAB})"' in chat_css  # the chat page's links say the same
    assert "answer.notice" in widget and "answer.closest_label" in widget
    assert f"var MAX_PASSAGES = {MAX_SHOWN_PASSAGES};" in widget
    for phrase in ("do not seem to answer", "the source does not", "Closest passages"):
        assert phrase not in widget


def test_no_other_module_words_a_decline_or_a_citation_label():
    package = Path(__file__).resolve().parents[1] / "qa"
    for path in package.rglob("*.py"):
        if path.parent == package / "render":  # the renderer (qa/render/) is where they are worded
            continue
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"(seem to|not) answer (this|it)", text, re.IGNORECASE), path
        assert "original ↗" not in text, path


def test_learners_read_why_it_declined_in_plain_words_and_authors_get_the_figures():
    from dataclasses import replace

    from qa.render import learner_notice

    reason = (
        "evidence 0.41; the question names “Heston Blumenthal”, “Fat Duck”, which the documents "
        "never mention, and that needs 0.68"
    )
    named = replace(
        _answer(abstained=True, evidence=0.41), reason=reason, unknown=("Heston Blumenthal", "Fat Duck")
    )
    notice = learner_notice(named)
    assert notice == f"{DECLINE} They never mention “Heston Blumenthal”, “Fat Duck”. {DECLINE_HINT}"
    assert answer_json(named)["notice"] == notice and answer_json(named)["reason"] == reason
    assert plain_text(named).startswith(f"{DECLINE} ({reason})")  # qa ask: for authors, with the figures
    assert "0.41" not in plain_text(named, technical=False) and notice in plain_text(named, technical=False)
    assert "0.41" not in answer_html(named) and escape("“Heston Blumenthal”") in answer_html(named)
    model = replace(
        named, reason="evidence 0.50, the top passage holds 20% of the question's terms", unknown=()
    )
    assert learner_notice(model) == f"{DECLINE} {DECLINE_HINT}"
    assert learner_notice(_answer()) == ""


def test_plain_text_indents_every_line_of_a_passage_under_its_citation():
    p = _passage(text="Safety\n\nAlways wear goggles.\nReport spills.")
    text = plain_text(_answer(p))
    assert "\n    Safety\n\n    Always wear goggles.\n    Report spills.\n" in text
