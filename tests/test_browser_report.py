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
