"""Links to originals in API answers open without the key when one is set (a widget's
"original" link opens in a new tab, which sends neither the key nor a session cookie)."""

from __future__ import annotations

from urllib.parse import urlsplit

from qa.web.signed_links import LinkSigner
from tests.test_security import KEY, client_for, corpus  # noqa: F401  (corpus is a fixture)

AUTH = {"Authorization": f"Bearer {KEY}"}


def _original(client) -> str:
    res = client.post("/api/v1/ask", json={"question": "alpha word", "k": 1}, headers=AUTH)
    assert res.status_code == 200, res.text
    return res.json()["passages"][0]["citation"]["original_url"]


def test_a_signed_original_link_opens_without_the_key(corpus):  # noqa: F811
    client = client_for(corpus, api_key=KEY)
    url = _original(client)
    parts = urlsplit(url)
    assert parts.path.startswith("/originals/seeds/") and "exp=" in parts.query and "sig=" in parts.query
    opened = client.get(url)
    assert opened.status_code == 200
    assert opened.text == (corpus.root / parts.path.removeprefix("/originals/")).read_text(encoding="utf-8")
    assert client.get(parts.path).status_code == 401  # the bare path still needs the key


def test_a_signature_opens_only_its_own_file_and_only_originals(corpus):  # noqa: F811
    client = client_for(corpus, api_key=KEY)
    parts = urlsplit(_original(client))
    other = "/originals/seeds/b.txt" if parts.path.endswith("a.txt") else "/originals/seeds/a.txt"
    assert client.get(f"{other}?{parts.query}").status_code == 401
    later = parts.query.replace("exp=", "exp=9")
    assert client.get(f"{parts.path}?{later}").status_code == 401
    assert client.get(f"/api/v1/sources/seeds/a.txt?start=0&end=10&{parts.query}").status_code == 401
    assert client.get(f"/?{parts.query}", follow_redirects=False).status_code == 303


def test_an_expired_link_says_so(corpus):  # noqa: F811
    signer = LinkSigner(KEY.encode(), clock=lambda: 1_000_000.0)
    url = signer.sign("/originals/seeds/a.txt")
    res = client_for(corpus, api_key=KEY).get(url)
    assert res.status_code == 401 and "expired" in res.json()["error"]


def test_without_a_key_links_are_left_plain(corpus):  # noqa: F811
    client = client_for(corpus)
    res = client.post("/api/v1/ask", json={"question": "alpha word", "k": 1})
    citation = res.json()["passages"][0]["citation"]
    assert "sig=" not in citation["original_url"] and "sig=" not in citation["link"]


def test_the_signature_covers_the_decoded_path_and_keeps_the_fragment():
    now = 1_700_000_000.0
    signer = LinkSigner(b"key", clock=lambda: now)
    url = signer.sign("/originals/seeds/my%20notes%C3%A9.pdf#page=3")
    path, _, rest = url.partition("?")
    query, _, fragment = rest.partition("#")
    assert path == "/originals/seeds/my%20notes%C3%A9.pdf" and fragment == "page=3"
    assert signer.valid("/originals/seeds/my notesé.pdf", query.encode())
    assert not signer.valid("/originals/seeds/my notes.pdf", query.encode())
    other_key = LinkSigner(b"other key", clock=lambda: now)
    assert not other_key.valid("/originals/seeds/my notesé.pdf", query.encode())
    assert not signer.valid("/originals/seeds/my notesé.pdf", b"exp=1&sig=00")
    later = LinkSigner(b"key", clock=lambda: now + 13 * 3600)
    assert not later.valid("/originals/seeds/my notesé.pdf", query.encode())
