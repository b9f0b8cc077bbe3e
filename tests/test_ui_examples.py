"""The chat page offers the built-in example questions only where they can be answered: on the
seed. A course that replaced the seed gets its settings file's examples, or none."""

from __future__ import annotations

import json
import shutil

import pytest

from qa.web.ui import EXAMPLES, EXAMPLES_DOCUMENT, _collection_page
from tests.conftest import REPO
from tests.test_browser_originals import _serving


def test_built_in_examples_only_with_the_seed(project):
    (project.seeds_dir / "guide.txt").write_text("The library opens at nine.", encoding="utf-8")
    assert _collection_page(project, None)[2] == ()
    shutil.copy(REPO / "seeds" / EXAMPLES_DOCUMENT, project.seeds_dir / EXAMPLES_DOCUMENT)
    assert _collection_page(project, None)[2] == EXAMPLES


def test_the_settings_file_examples_come_first(project):
    shutil.copy(REPO / "seeds" / EXAMPLES_DOCUMENT, project.seeds_dir / EXAMPLES_DOCUMENT)
    (project.seeds_dir / "collection.json").write_text(
        json.dumps({"examples": ["When does the library open?"]}), encoding="utf-8"
    )
    assert _collection_page(project, None)[2] == ("When does the library open?",)


@pytest.mark.browser
def test_a_course_without_the_seed_shows_its_own_examples_or_none(browser, project, fake_embedder):
    (project.seeds_dir / "guide.txt").write_text("The library opens at nine. " * 30, encoding="utf-8")
    with _serving(project, fake_embedder) as url:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        try:
            page.goto(url + "/")
            page.wait_for_selector("#question textarea")
            page.wait_for_timeout(1000)  # the page-load event that shows the collection's examples
            assert not page.locator("#examples").is_visible()
            assert EXAMPLES[0] not in page.inner_text("body")
            assert page.get_by_label("Your question").count() == 1
            (project.seeds_dir / "collection.json").write_text(
                json.dumps({"examples": ["When does the library open?"]}), encoding="utf-8"
            )
            page.reload()
            page.wait_for_selector("#examples :text('When does the library open?')")
            assert EXAMPLES[0] not in page.inner_text("body")
        finally:
            page.close()
