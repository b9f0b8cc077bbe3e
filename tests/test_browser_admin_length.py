"""The admin page's documents table says what a length counts: a deck in slides, a PDF in pages,
a text without pages in words."""

from __future__ import annotations

import time

import httpx
import pytest

from tests.office_files import make_slides
from tests.test_browser_admin import ADMIN, admin_server, volcano_pdf  # noqa: F401  (fixture)

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_a_deck_counts_slides_a_pdf_pages_and_a_text_words(browser, admin_server, tmp_path):  # noqa: F811
    url, _ = admin_server
    headers = {"Authorization": f"Bearer {ADMIN}"}
    httpx.post(url + "/api/v1/admin/collections", json={"name": "lengths"}, headers=headers)
    deck = make_slides(tmp_path / "graphs.pptx").read_bytes()
    notes = ("# Notes\n\n" + "word " * 1200).encode()
    for name, data in [("graphs.pptx", deck), ("volcano.pdf", volcano_pdf()), ("notes.md", notes)]:
        where = url + f"/api/v1/admin/collections/lengths/documents/{name}"
        put = httpx.put(where, content=data, headers=headers)
        assert put.status_code < 300, put.text
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        state = httpx.get(url + "/api/v1/admin/collections/lengths/status", headers=headers).json()["state"]
        if state not in ("queued", "indexing"):
            break
        time.sleep(0.5)
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    page.goto(url + "/admin")
    page.fill("#key", ADMIN)
    page.click("#key-form button")
    page.click("#collections button[data-name=lengths]")
    page.wait_for_selector("#documents tr[data-name='graphs.pptx']")
    assert "Length" in page.inner_text("#documents thead")
    assert "\t3 slides\t" in page.inner_text("#documents tr[data-name='graphs.pptx']")
    assert "\t2 pages\t" in page.inner_text("#documents tr[data-name='volcano.pdf']")
    assert "\t1,201 words\t" in page.inner_text("#documents tr[data-name='notes.md']")
