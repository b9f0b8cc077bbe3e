"""The HTML report rendered in Chromium, with every network request blocked."""

import json

import pytest

from qa.eval.report import write_report

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_report_renders_without_network(browser, retriever, tmp_path, artifacts):
    from qa.eval import Question, run_rows, score

    questions = [
        Question("dev-1", "What is debt bondage?", ("debt bondage",), kind="lexical"),
        Question("dev-2", "How many people are trafficked?", ("million",), kind="paraphrase"),
        Question("dev-3", "Which protocol defines trafficking?", ("palermo protocol",), kind="paraphrase"),
        Question("dev-4", "What is the population of Mars?", kind="unanswerable"),
        Question("dev-5", "What do traffickers promise?", ("zzzz not there",), kind="lexical"),
        Question("dev-6", "Is <script>alert(1)</script> escaped?", extra={"module": "<b>3</b>"}),
    ]
    answers = retriever.ask_many([q.question for q in questions])
    rows = run_rows(questions, answers, 5)
    metrics, _ = score(questions, {r["id"]: r for r in rows})
    settings = retriever.settings
    meta = {
        "model": settings.model,
        "settings": {"k": 5, "abstain_threshold": settings.abstain_threshold},
        "timing": {"questions_per_s": 150.0},
    }
    path = tmp_path / "report.html"
    write_report(path, rows, metrics.as_dict(), k=5, meta=meta, title="Evaluation of a small run")

    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    requests, blocked, dialogs = [], [], []
    page.on("request", lambda request: requests.append(request.url))
    page.on("dialog", lambda dialog: dialogs.append(dialog.message))

    def guard(route):
        if route.request.url.startswith(("file:", "data:")):
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    page.route("**/*", guard)
    page.goto(path.as_uri())
    page.wait_for_load_state("networkidle")
    assert page.locator("table tbody tr").count() >= 6
    assert page.locator("figure svg").count() >= 3
    assert page.locator("mark").count() >= 6
    assert page.get_by_text("Is <script>alert(1)</script> escaped?").count() == 1
    page.screenshot(path=str(artifacts / "report.png"), full_page=True)
    assert blocked == [], json.dumps(blocked)
    assert requests == [path.as_uri()] and dialogs == []
    context.close()


PHONE_QUESTIONS = (
    "id,question,expected,kind,history\n"
    "p1,What is debt bondage?,debt bondage,lexical,\n"
    "p2,How many people are trafficked?,million,paraphrase,\n"
    "p3,,an empty question,lexical,\n"
    "p4,What is the population of Mars?,,unanswerable,\n"
    'p5,"Too, many cells",x,lexical,,surplus\n'
    "p6,And what about children?,children,followup,What is forced labour?\n"
    "p6,A duplicate id,x,lexical,\n"
    "p7,Which protocol defines trafficking?,zzzz not there,paraphrase,\n"
)


def test_report_reads_on_a_phone(browser, retriever, tmp_path, artifacts):
    """At 390 px: no sideways scrolling, passages as wide as the screen, skipped rows in view,
    and the same word range on the page as in the CSV."""
    import csv

    from qa.eval import read_questions, run_eval, write_outputs

    qfile = tmp_path / "questions.csv"
    qfile.write_text(PHONE_QUESTIONS, encoding="utf-8")
    questions, skipped = read_questions(qfile)
    assert [s.line for s in skipped] == [4, 6, 8]
    run = run_eval(retriever, questions, k=5, questions_file=qfile, skipped=skipped)
    report, table = tmp_path / "report.html", tmp_path / "results.csv"
    write_outputs(run, csv=table, report=report, title="Evaluation of questions.csv")
    results = {row["id"]: row for row in csv.DictReader(table.open(encoding="utf-8-sig"))}

    context = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2)
    page = context.new_page()
    page.route(
        "**/*", lambda route: route.continue_() if route.request.url.startswith("file:") else route.abort()
    )
    page.goto(report.as_uri())
    page.wait_for_load_state("networkidle")

    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # nothing wider than the phone
    widths = page.eval_on_selector_all(
        "table.questions tbody tr > td:last-child > .p",
        "els => els.map(e => e.getBoundingClientRect().width)",
    )
    assert len(widths) == len(questions) and min(widths) >= 300, widths  # not one word a line
    charts = page.eval_on_selector_all("figure", "els => els.map(e => e.getBoundingClientRect().right)")
    assert charts and max(charts) <= 390

    box = page.locator("#skipped")
    assert box.is_visible()  # not folded away
    text = box.inner_text()
    for s in skipped:
        assert f"line {s.line}: {s.reason}" in text
    assert box.bounding_box()["y"] < page.locator("table.questions").bounding_box()["y"]

    cite = page.locator("#q-p1 .p .cite").first.inner_text()
    assert results["p1"]["citation"] and results["p1"]["citation"] in cite
    assert "words " in results["p1"]["citation"] and " of 5," in results["p1"]["citation"]

    page.screenshot(path=str(artifacts / "report-phone.png"), full_page=True)
    page.screenshot(path=str(artifacts / "report-phone-top.png"))
    context.close()
