"""The HTML report rendered in Chromium, with every network request blocked."""

import json

import pytest

from qa.report import write_report

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_report_renders_without_network(browser, retriever, tmp_path, artifacts):
    from qa.evaluation import Question, run_rows, score

    questions = [
        Question("dev-1", "What is debt bondage?", ("debt bondage",)),
        Question("dev-2", "How many people are trafficked?", ("million",)),
        Question("dev-3", "Which protocol defines trafficking?", ("palermo protocol",)),
        Question("dev-4", "What is the population of Mars?", kind="unanswerable"),
        Question("dev-5", "What do traffickers promise?", ("zzzz not there",)),
    ]
    answers = retriever.ask_many([q.question for q in questions])
    rows = run_rows(questions, answers, 5)
    metrics, _ = score(questions, {r["id"]: r for r in rows})
    path = tmp_path / "report.html"
    write_report(path, rows, metrics.as_dict(), k=5, meta={"model": retriever.settings.model})

    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    blocked = []

    def guard(route):
        if route.request.url.startswith(("file:", "data:")):
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    page.route("**/*", guard)
    page.goto(path.as_uri())
    assert page.locator("table tbody tr").count() == 5
    assert page.locator("svg").count() >= 2
    page.screenshot(path=str(artifacts / "report.png"), full_page=True)
    assert blocked == [], json.dumps(blocked)
    context.close()
