"""The admin page in real Chromium: create a collection, drop a document on it, watch the
index reach done, then ask that collection's chat page and see a citation into the document."""

from __future__ import annotations

import base64
import time

import pytest

from qa.config import Settings
from tests.conftest import start_server, stop_server
from tests.test_collections import ROME, VOLCANO

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ADMIN = "browser-admin-key-0123456789"


@pytest.fixture(scope="module")
def admin_server(tmp_path_factory):
    root = tmp_path_factory.mktemp("portal")
    (root / "seeds").mkdir()
    (root / "seeds" / "rome.md").write_text(ROME, encoding="utf-8")
    settings = Settings(root=root)
    proc, url = start_server(
        settings, root, QA_ROOT=str(root), QA_ADMIN_KEY=ADMIN, QA_LOG_QUESTIONS="1", QA_MAX_FILE_MB="2"
    )
    yield url, root
    stop_server(proc)


def volcano_pdf() -> bytes:
    """A two-page PDF: the volcano text on page 2."""
    from fpdf import FPDF

    pdf = FPDF()
    for title, text in [
        ("Rocks", "Rocks are made of minerals. " * 20),
        ("Volcanoes", VOLCANO.split("\n\n", 1)[1]),
    ]:
        pdf.add_page()
        pdf.set_font("Helvetica", size=18)
        pdf.cell(0, 10, title, new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", size=11)
        pdf.multi_cell(0, 6, text)
    return bytes(pdf.output())


def drop_file(page, selector: str, name: str, data: bytes, mime: str) -> None:
    """Drag a file from outside the browser onto ``selector`` (a real drop event with a DataTransfer)."""
    transfer = page.evaluate_handle(
        """([name, b64, mime]) => {
            const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
            const dt = new DataTransfer();
            dt.items.add(new File([bytes], name, { type: mime }));
            return dt;
        }""",
        [name, base64.b64encode(data).decode(), mime],
    )
    page.dispatch_event(selector, "dragenter", {"dataTransfer": transfer})
    page.dispatch_event(selector, "dragover", {"dataTransfer": transfer})
    page.dispatch_event(selector, "drop", {"dataTransfer": transfer})


def sign_in(page, url: str) -> None:
    """Open the admin page and give it the admin key."""
    page.goto(url + "/admin")
    page.fill("#key", ADMIN)
    page.click("#key-form button")


def admin_page(browser, url: str, *, confirm: bool = False):
    """A desktop-sized page signed in to the admin page (``confirm``: accept its dialogs), with
    its browser context, which the test closes."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    if confirm:
        page.on("dialog", lambda d: d.accept())
    sign_in(page, url)
    return context, page


def test_upload_by_drag_and_drop_then_ask_that_collection(browser, admin_server, artifacts):
    url, _ = admin_server
    context, page = admin_page(browser, url, confirm=True)
    page.wait_for_selector("#collections button[data-name=default]")
    page.fill("#new-name", "geology")
    page.fill("#new-title", "Geology 101")
    page.click("#create-form button")
    page.wait_for_selector("#collections button[data-name=geology][aria-current=true]")
    assert "No documents yet" in page.inner_text("#documents")

    started = time.perf_counter()
    drop_file(page, "#drop", "volcano.pdf", volcano_pdf(), "application/pdf")
    page.wait_for_selector("#progress[data-state=done]", timeout=120_000)
    assert page.inner_text("#state").startswith("done: 1 document, ")  # not "1 documents"
    page.wait_for_selector("#documents tr[data-name='volcano.pdf']")
    row = page.inner_text("#documents tr[data-name='volcano.pdf']")
    assert "pdf" in row and "pending" not in row and "\t2 pages\t" in row
    page.screenshot(path=str(artifacts / "admin-upload-done.png"), full_page=True)

    chat = context.new_page()
    chat.goto(url + "/?collection=geology")
    chat.wait_for_function("(document.querySelector('#qa-title') || {}).innerText?.includes('Geology 101')")
    chat.fill("#question textarea", "What forms when lava cools quickly?")
    chat.press("#question textarea", "Enter")
    chat.wait_for_selector("#chat .qa-answer", timeout=60_000)
    took = time.perf_counter() - started
    answer = chat.inner_text("#chat .qa-answer")
    assert "seeds/geology/volcano.pdf" in answer
    assert "seeds/rome.md" not in answer
    chat.screenshot(path=str(artifacts / "admin-collection-answer.png"), full_page=True)
    print(f"drop to first answer: {took:.1f} s")

    # the default collection's page still answers from its own document only
    chat.goto(url + "/")
    chat.wait_for_selector("#question textarea")
    chat.fill("#question textarea", "Who crossed the Rubicon?")
    chat.press("#question textarea", "Enter")
    chat.wait_for_selector("#chat .qa-answer", timeout=60_000)
    assert "seeds/rome.md" in chat.inner_text("#chat .qa-answer")
    assert "seeds/geology" not in chat.inner_text("#chat .qa-answer")
    context.close()


def test_the_widget_asks_the_collection_named_on_its_script_tag(browser, admin_server, artifacts):
    url, _ = admin_server
    import httpx

    headers = {"Authorization": f"Bearer {ADMIN}"}
    if httpx.get(url + "/api/v1/admin/collections/geology", headers=headers).status_code == 404:
        httpx.post(url + "/api/v1/admin/collections", json={"name": "geology"}, headers=headers)
        httpx.put(
            url + "/api/v1/admin/collections/geology/documents/volcano.md",
            content=VOLCANO.encode(),
            headers=headers,
        )
    deadline = time.monotonic() + 120
    while (
        httpx.get(url + "/api/v1/admin/collections/geology/status", headers=headers).json()["state"]
        in ("queued", "indexing")
        and time.monotonic() < deadline
    ):
        time.sleep(0.5)
    context = browser.new_context(viewport={"width": 1000, "height": 800})
    page = context.new_page()
    page.goto(url + "/embed?collection=geology")
    page.fill("[data-qa-widget] input", "What forms when lava cools quickly?")
    page.press("[data-qa-widget] input", "Enter")
    page.wait_for_selector("[data-qa-widget] [data-role=passage]", timeout=60_000)
    text = page.locator("[data-qa-widget] [data-role=answer]").first.inner_text()
    assert "Volcanoes" in text and "Rome" not in text
    page.screenshot(path=str(artifacts / "widget-collection.png"))
    context.close()


def test_an_author_edits_a_documents_title_by_keyboard(browser, admin_server, artifacts):
    """The title column has an Edit button named for its document; Enter saves the new title
    (indexed again), Escape cancels and gives the focus back to the button."""
    url, _ = admin_server
    context, page = admin_page(browser, url)
    page.wait_for_selector("#collections button[data-name=default]")
    page.click("#collections button[data-name=default]")
    row = "#documents tr[data-name='rome.md']"
    page.wait_for_selector(row)
    edit = page.get_by_role("button", name="Edit the title of rome.md")
    edit.click()
    field = page.get_by_label("Title of rome.md", exact=True)
    assert field.input_value() == "Rome"
    field.press("Escape")
    assert page.evaluate("document.activeElement.getAttribute('aria-label')") == "Edit the title of rome.md"
    edit.press("Enter")
    field = page.get_by_label("Title of rome.md", exact=True)
    field.fill("The Roman Republic")
    field.press("Enter")
    page.wait_for_function(
        f"document.querySelector(\"{row}\").innerText.includes('The Roman Republic')", timeout=60_000
    )
    assert "The Roman Republic" in page.inner_text("#message")
    # screen readers hear the build's states, not each count of the bar (twice a second)
    page.wait_for_function("document.querySelector('#announce').textContent.startsWith('done: ')")
    assert page.get_attribute("#progress", "aria-live") is None
    page.screenshot(path=str(artifacts / "admin-title-edited.png"), full_page=True)
    context.close()


def test_an_author_renames_a_collection_and_learners_see_the_new_title(browser, admin_server):
    """A course's title (the picker's entry, the chat page's heading) could be set only when the
    course was made, or through the API: the page had no way to rename it. Rename beside the
    heading changes the title; the name in links stays, and so do its examples."""
    import httpx

    url, _ = admin_server
    made = httpx.post(
        url + "/api/v1/admin/collections",
        json={"name": "hist-101", "title": "Histry 101", "examples": ["Who crossed the Rubicon?"]},
        headers={"Authorization": f"Bearer {ADMIN}"},
    )
    assert made.status_code == 201, made.text
    context, page = admin_page(browser, url)
    page.click("#collections button[data-name=hist-101]")
    page.wait_for_function(
        "document.querySelector('#collection-title').textContent === 'Histry 101 (hist-101)'"
    )
    rename = page.get_by_role("button", name="Rename this collection", exact=True)
    rename.click()
    field = page.get_by_label("New title of this collection", exact=True)
    assert field.input_value() == "Histry 101"
    field.press("Escape")
    assert page.evaluate("document.activeElement.id") == "rename" and field.is_hidden()
    rename.click()
    field.fill("History 101")
    field.press("Enter")
    page.wait_for_function(
        "document.querySelector('#collection-title').textContent === 'History 101 (hist-101)'"
    )
    assert page.inner_text("#collections button[data-name=hist-101]") == "History 101 (hist-101)"
    assert "renamed hist-101 to “History 101”" in page.inner_text("#message") and field.is_hidden()
    listed = httpx.get(
        url + "/api/v1/admin/collections/hist-101", headers={"Authorization": f"Bearer {ADMIN}"}
    )
    assert listed.json()["examples"] == ["Who crossed the Rubicon?"]  # kept
    # a name typed as a title gets the server's words, with a name to use (the field's own
    # check said only "Please match the requested format")
    page.fill("#new-name", "Geology 101")
    page.click("#create-form button[type=submit]")
    page.wait_for_function("document.querySelector('#message').innerText.includes('for example')")
    assert "for example 'geology-101', with 'Geology 101' as its title" in page.inner_text("#message")
    page.goto(url + "/?collection=hist-101")
    page.wait_for_function("document.querySelector('#qa-title')?.innerText.includes('History 101')")
    # deleting it names it as the list does, and says so while a build of it is stopped
    asked = []
    page.on("dialog", lambda dialog: (asked.append(dialog.message), dialog.accept()))
    page.goto(url + "/admin")
    page.click("#collections button[data-name=hist-101]")
    page.wait_for_function(
        "document.querySelector('#collection-title').textContent === 'History 101 (hist-101)'"
    )
    page.click("#delete-collection")
    page.wait_for_function("document.querySelector('#message').innerText.startsWith('deleted ')")
    assert asked == ["Delete the collection “History 101” (hist-101) and all its documents?"]
    assert page.inner_text("#message") == "deleted “History 101” (hist-101)"
    page.wait_for_function("!document.querySelector('#collections button[data-name=hist-101]')")
    context.close()


def test_every_control_of_the_admin_page_has_a_name(browser, admin_server):
    """Screen readers read the new collection's fields by their placeholders only (gone once
    typed), the view picker and the progress bar with no name, and every row's button as
    "Delete" and the export as "CSV", with no word of what they act on."""
    import re

    url, _ = admin_server
    context, page = admin_page(browser, url)
    page.wait_for_selector("#documents tr[data-name='rome.md']")
    tree = page.locator("body").aria_snapshot()
    unnamed = [
        line
        for line in tree.splitlines()
        if re.match(r"\s*- (textbox|combobox|progressbar|button)\s*(:|$)", line)
    ]
    assert not unnamed, tree
    for role, name in [
        ("textbox", "New collection's name"),
        ("textbox", "Title shown to learners"),
        ("combobox", "Show"),
        ("progressbar", "Indexing progress"),
        ("button", "Delete rome.md"),
        ("button", "Export as evaluation rows (CSV)"),
    ]:
        assert page.get_by_role(role, name=name, exact=True).count() == 1, (role, name)
    context.close()


def test_the_declined_view_says_which_questions_new_material_answers(browser, admin_server):
    from qa.eval.asked import AskedRecord, log_question

    url, root = admin_server
    log = root / "feedback" / "questions.jsonl"
    for question, declined, time_ in [
        ("What did Nero build?", True, "2026-11-01T10:00:00+00:00"),
        ("What did Nero build?", False, "2026-11-02T10:00:00+00:00"),
        ("Who founded Carthage?", True, "2026-11-01T11:00:00+00:00"),
    ]:
        reason = "evidence 0.10; an answer needs 0.35" if declined else ""
        log_question(log, AskedRecord("default", question, abstained=declined, reason=reason, time=time_))
    context, page = admin_page(browser, url)
    page.wait_for_selector("#documents tr[data-name='rome.md']")
    page.get_by_label("Show", exact=True).select_option("declined")
    # the most-asked view (Nero first) may still be shown until the declined view's answer comes
    page.wait_for_function(
        "(document.querySelector('#questions tbody tr') || {}).innerText?.includes('Carthage')"
    )
    rows = page.locator("#questions tbody tr").all_inner_texts()
    assert "Carthage" in rows[0] and "evidence 0.10" in rows[0]
    assert "Nero" in rows[1] and "answered since 2026-11-02 10:00 UTC" in rows[1]
    # the author clears them (after a confirmation naming the course): the view is empty
    asked = []
    page.on("dialog", lambda dialog: (asked.append(dialog.message), dialog.accept()))
    page.get_by_role("button", name="Clear what learners asked", exact=True).click()
    page.locator("#message", has_text="records removed").wait_for()  # these and any asked before
    page.wait_for_function("!document.querySelector('#questions tbody').innerText.includes('Carthage')")
    assert "(default)" in asked[0] and "cannot be undone" in asked[0]
    context.close()


def test_an_empty_question_view_says_nothing_was_asked_yet_when_questions_are_recorded(browser, admin_server):
    """With QA_LOG_QUESTIONS=1 an empty view said "Nothing yet (questions are recorded when
    QA_LOG_QUESTIONS is on)", as if the author had to turn on what was on already."""
    import json
    import urllib.request

    url, _ = admin_server
    made = urllib.request.Request(
        url + "/api/v1/admin/collections",
        data=json.dumps({"name": "quiet", "title": "Quiet course"}).encode(),
        headers={"Authorization": f"Bearer {ADMIN}", "Content-Type": "application/json"},
    )
    assert json.load(urllib.request.urlopen(made))["questions_logged"] is True
    context, page = admin_page(browser, url)
    page.get_by_role("button", name="Quiet course (quiet)").click()
    said = page.locator("#questions tbody tr")
    said.filter(has_text="No questions asked in this collection yet.").wait_for()
    page.get_by_label("Show", exact=True).select_option("declined")
    said.filter(has_text="No declined questions yet.").wait_for()
    assert "QA_LOG_QUESTIONS" not in page.locator("#questions").inner_text()
    context.close()


def test_an_upload_the_server_never_answers_says_so_in_words(browser, admin_server):
    """With the server down or restarting, a refused upload was listed as "notes.md: Failed to
    fetch", the browser's words for no answer."""
    url, _ = admin_server
    context, page = admin_page(browser, url)
    page.wait_for_selector("#documents tr[data-name='rome.md']")
    page.route("**/documents/notes.md", lambda route: route.abort("connectionreset"))
    page.set_input_files(
        "#file", files=[{"name": "notes.md", "mimeType": "text/markdown", "buffer": b"# N\n\nx y z"}]
    )
    said = page.locator("#message li")
    said.first.wait_for()
    assert said.first.inner_text() == (
        "notes.md: the server did not answer (it may be restarting, or the connection dropped); "
        "reload the page in a moment to see what it holds"
    )
    assert "Failed to fetch" not in page.inner_text("#message")
    context.close()


def long_text(words: int) -> bytes:
    """A Markdown document of about ``words`` words, each sentence different (nothing is shared
    between windows, so every window goes through the model)."""
    sentences = [
        f"Sample {i} of basalt cooled at {i * 7 % 1000} degrees near vent {i % 97}."
        for i in range(words // 10)
    ]
    return ("# Field notes\n\n" + " ".join(sentences)).encode()


def test_an_author_stops_a_build_and_the_course_keeps_its_index(browser, admin_server, artifacts):
    """A build could not be stopped: an author who dropped the wrong file waited minutes. "Stop
    build" beside the progress stops it at its next step; the page says which index still
    answers, and the file stays, not yet indexed."""
    url, _ = admin_server
    context, page = admin_page(browser, url, confirm=True)
    page.wait_for_selector("#documents tr[data-name='rome.md']")
    page.wait_for_selector("#progress[data-state=ready], #progress[data-state=done]")
    assert page.locator("#stop-build").is_hidden()
    drop_file(page, "#drop", "notes.md", long_text(40_000), "text/markdown")
    page.wait_for_selector("#progress[data-state=indexing]", timeout=60_000)
    stop = page.get_by_role("button", name="Stop build")
    stop.click()
    page.wait_for_selector("#progress[data-state=stopped]", timeout=60_000)
    said = page.inner_text("#state")
    assert said.startswith(
        "Build stopped; the course still answers from the documents of "
    ) and said.endswith(" UTC"), said
    assert stop.is_hidden()
    page.wait_for_selector("#documents tr[data-name='notes.md']")
    row = page.inner_text("#documents tr[data-name='notes.md']")
    assert "(not indexed yet)" in row and "not yet: build stopped" in row
    page.screenshot(path=str(artifacts / "admin-build-stopped.png"), full_page=True)
    page.click("#documents tr[data-name='notes.md'] button[aria-label='Delete notes.md']")
    page.wait_for_selector("#progress[data-state=done]", timeout=60_000)
    context.close()


def test_a_file_over_the_servers_limit_is_refused_before_sending_and_a_large_one_shows_progress(
    browser, admin_server
):
    """A huge upload was sent whole before the server refused it, with nothing to watch meanwhile.
    The page now knows the server's limit (here QA_MAX_FILE_MB=2): a larger file is refused at once
    by name with the limit in MiB, the others still go, and a large one says how far it is."""
    url, _ = admin_server
    context, page = admin_page(browser, url)
    page.wait_for_selector("#documents tr[data-name='rome.md']")
    page.wait_for_function("document.querySelector('#types').textContent.includes('at most 2 MiB a file')")
    sent = []
    page.on("request", lambda r: sent.append(r.url) if r.method == "PUT" else None)
    page.evaluate(
        """() => { window.said = []; new MutationObserver(() => window.said.push(
            document.querySelector('#message').textContent)).observe(
            document.querySelector('#message'), {childList: true, subtree: true, characterData: true}); }"""
    )
    page.set_input_files(
        "#file",
        files=[
            {"name": "huge.md", "mimeType": "text/markdown", "buffer": b"# H\n\n" + b"word " * 700_000},
            {"name": "scan.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.4 " + b"x" * 1_500_000},
        ],
    )
    page.wait_for_function("document.querySelector('#message').textContent.includes('refused')")
    listed = page.locator("#message li").all_inner_texts()
    assert (
        listed[0] == "huge.md: 3.3 MiB, larger than the 2 MiB an upload may be; split it or make it smaller"
    )
    assert listed[1].startswith("scan.pdf: ")  # sent, and refused by the reader as a damaged PDF
    assert not any("huge.md" in u for u in sent) and any("scan.pdf" in u for u in sent)
    assert any("scan.pdf: " in t and "% of 1.4 MiB sent" in t for t in page.evaluate("window.said"))
    assert page.locator("#upload-bar").is_hidden()
    context.close()


def test_an_operator_makes_copies_once_and_revokes_a_course_key(browser, admin_server, artifacts):
    """A course key is shown once, in a box with a copy button; the list names it by its label
    and prefix only; the embed snippet has a placeholder, never a key; revoking asks first."""
    import httpx

    url, _ = admin_server
    context, page = admin_page(browser, url)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=url)
    asked: list[str] = []
    page.on("dialog", lambda d: (asked.append(d.message), d.accept()))
    page.wait_for_selector("#keys td:has-text('No course keys yet.')")
    assert "QA_API_KEY is not set" in page.inner_text("#keys-note")  # this server is open
    snippet = page.inner_text("#embed-snippet")
    assert f'src="{url}/widget.js"' in snippet and 'data-api-key="COURSE_KEY"' in snippet

    page.fill("#key-label", "Moodle prod")
    page.press("#key-label", "Enter")
    page.wait_for_selector("#new-key:not([hidden])")
    key = page.input_value("#new-key-value")
    assert key.startswith("qack_default_") and len(key) > 50
    page.click("#copy-key")
    page.wait_for_function("document.querySelector('#copy-key').innerText === 'Copied'")
    assert page.evaluate("navigator.clipboard.readText()") == key
    row = page.locator("#keys tbody tr", has_text="Moodle prod")
    cells = row.locator("td").all_inner_texts()
    assert cells[1] == "_".join(key.split("_")[:3]) + "…" and cells[3] == "never"
    assert key not in page.inner_text("#embed-snippet")
    page.screenshot(path=str(artifacts / "admin-course-key.png"), full_page=True)

    page.click("#new-key-done")
    assert page.locator("#new-key").is_hidden() and page.input_value("#new-key-value") == ""
    page.reload()
    page.wait_for_selector("#keys tbody tr:has-text('Moodle prod')")
    assert key not in page.content()  # never shown again

    page.click("button[aria-label='Revoke the key used by Moodle prod']")
    page.wait_for_selector("#keys td:has-text('No course keys yet.')")
    assert asked[-1].startswith("Revoke the key “Moodle prod” (qack_default_")
    listed = httpx.get(
        url + "/api/v1/admin/collections/default/keys", headers={"Authorization": f"Bearer {ADMIN}"}
    )
    assert listed.json()["keys"] == []
    context.close()
