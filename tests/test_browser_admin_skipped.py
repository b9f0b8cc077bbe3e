"""On the admin page, a file the reader refuses says so, with the reason, instead of waiting
forever as "(not indexed yet) · pending"."""

from __future__ import annotations

import re

import pytest

from tests.test_browser_originals import _serving

pytestmark = pytest.mark.browser

ADMIN = "browser-admin-key-0123456789"
MESSAGE_SAYS = "(words) => document.querySelector('#message').innerText.includes(words)"


def _sign_in(page, url: str) -> None:
    """Open the admin page and sign in with the admin key."""
    page.goto(url + "/admin")
    page.fill("#key", ADMIN)
    page.click("#key-form button")


def test_a_refused_file_shows_why_on_the_admin_page(browser, project, fake_embedder, artifacts):
    (project.seeds_dir / "guide.txt").write_text("The library opens at nine. " * 30, encoding="utf-8")
    (project.seeds_dir / "broken.pdf").write_bytes(b"%PDF-1.7\n1 0 obj <<")
    with _serving(project, fake_embedder, admin_key=ADMIN) as url:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        try:
            _sign_in(page, url)
            page.wait_for_selector("#documents tr[data-name='broken.pdf']")
            broken = page.inner_text("#documents tr[data-name='broken.pdf']")
            assert "(not indexed)" in broken and "never: see warnings" in broken and "PDF" in broken
            assert "pending" not in broken and "not indexed yet" not in broken
            good = page.inner_text("#documents tr[data-name='guide.txt']")
            assert "pending" not in good and "never" not in good
            assert re.search(r"\b\d{4}-\d\d-\d\d \d\d:\d\d UTC\b", good) and "+00:00" not in good
            page.screenshot(path=str(artifacts / "admin-refused-file.png"), full_page=True)
        finally:
            page.close()


def test_every_refused_upload_of_a_batch_stays_listed(browser, project, fake_embedder, tmp_path, artifacts):
    (project.seeds_dir / "guide.txt").write_text("The library opens at nine. " * 30, encoding="utf-8")
    files = {
        "broken.pdf": b"%PDF-1.7\n1 0 obj <<",
        "rules.txt": ("Borrowed books go back within three weeks. " * 20).encode(),
        "empty.txt": b"",
        "latin1.txt": "caf\xe9 cr\xe8me".encode("latin-1"),
    }
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    with _serving(project, fake_embedder, admin_key=ADMIN) as url:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        try:
            _sign_in(page, url)
            page.wait_for_selector("#documents tr[data-name='guide.txt']")
            page.set_input_files("#file", [str(tmp_path / name) for name in files])
            page.wait_for_selector("#documents tr[data-name='rules.txt']")
            page.wait_for_function("!document.querySelector('#message').innerText.includes('uploading')")
            message = page.inner_text("#message")
            assert "uploaded rules.txt" in message and "3 of 4 refused" in message
            items = page.locator("#message li").all_inner_texts()
            assert [i.split(":")[0] for i in items] == ["broken.pdf", "empty.txt", "latin1.txt"]
            assert "PDF" in items[0] and "empty file" in items[1] and "not UTF-8" in items[2]
            # what was stored is not shown as an error; what was refused is
            red = "rgb(163, 38, 27)"
            assert page.eval_on_selector("#message", "m => getComputedStyle(m).color") != red
            refusals = page.locator("#message .error")
            assert refusals.evaluate("e => getComputedStyle(e).color") == red
            assert "3 of 4 refused" in refusals.inner_text() and "uploaded" not in refusals.inner_text()
            page.screenshot(path=str(artifacts / "admin-batch-refusals.png"), full_page=True)
        finally:
            page.close()


def test_a_batch_refused_whole_is_shown_as_an_error(browser, project, fake_embedder, tmp_path):
    (project.seeds_dir / "guide.txt").write_text("The library opens at nine. " * 30, encoding="utf-8")
    (tmp_path / "empty.txt").write_bytes(b"")
    with _serving(project, fake_embedder, admin_key=ADMIN) as url:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        try:
            _sign_in(page, url)
            page.wait_for_selector("#documents tr[data-name='guide.txt']")
            page.set_input_files("#file", [str(tmp_path / "empty.txt")])
            page.wait_for_function(MESSAGE_SAYS, arg="1 of 1 refused")
            assert page.eval_on_selector("#message", "m => m.className") == "error"
            assert page.locator("#message li").all_inner_texts()[0].startswith("empty.txt")
        finally:
            page.close()


def test_a_document_of_the_same_name_is_replaced_only_when_confirmed(
    browser, project, fake_embedder, tmp_path
):
    guide = project.seeds_dir / "guide.txt"
    guide.write_text("The library opens at nine. " * 30, encoding="utf-8")
    (tmp_path / "guide.txt").write_text("The library opens at ten from now on. " * 30, encoding="utf-8")
    with _serving(project, fake_embedder, admin_key=ADMIN) as url:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        asked = []
        try:
            _sign_in(page, url)
            page.wait_for_selector("#documents tr[data-name='guide.txt']")
            page.once("dialog", lambda d: (asked.append(d.message), d.dismiss()))
            page.set_input_files("#file", str(tmp_path / "guide.txt"))
            page.wait_for_function(MESSAGE_SAYS, arg="nothing uploaded")
            assert asked and "Replace guide.txt" in asked[0]
            assert "nine" in guide.read_text(encoding="utf-8")  # kept
            page.once("dialog", lambda d: (asked.append(d.message), d.accept()))
            page.set_input_files("#file", str(tmp_path / "guide.txt"))
            page.wait_for_function(MESSAGE_SAYS, arg="uploaded guide.txt")
            assert len(asked) == 2 and "ten from now on" in guide.read_text(encoding="utf-8")
        finally:
            page.close()
