"""Property-based fuzzing of the JSON API: whatever arrives, the answer is never a 5xx."""

import json
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytestmark = pytest.mark.slow

EXAMPLES = 120

json_scalar = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=50),
)
json_value = st.recursive(
    json_scalar,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=10,
)
texts = st.one_of(
    st.text(max_size=300),
    st.text(alphabet=st.characters(blacklist_categories=["Cs"]), min_size=1, max_size=60),
    st.sampled_from(
        ["What is debt bondage?", "<script>alert(1)</script>", "\x00\x01\x02", "🙂 人口贩卖", "and?"]
    ),
)
ask_bodies = st.one_of(
    st.fixed_dictionaries(
        {"question": texts},
        optional={
            "k": st.one_of(
                st.integers(-5, 60),
                st.text(max_size=5),
                st.none(),
                st.floats(allow_nan=False, allow_infinity=False),
            ),
            "history": st.one_of(st.lists(texts, max_size=6), json_value),
        },
    ),
    st.dictionaries(st.text(max_size=10), json_value, max_size=5),
    json_value,
)


@pytest.fixture(scope="module")
def client(retriever):
    from qa.web.server import create_app

    return TestClient(
        create_app(retriever.settings.replace(rate_limit=10**6), retriever), raise_server_exceptions=False
    )


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=ask_bodies)
def test_ask_never_fails_with_5xx(client, body):
    res = client.post("/api/v1/ask", json=body)
    assert res.status_code < 500, res.text
    assert res.headers["content-type"].startswith("application/json")
    if res.status_code == 200:
        data = res.json()
        assert isinstance(data["passages"], list) and isinstance(data["abstained"], bool)
    else:
        assert json.loads(res.text)["error"]


@settings(
    max_examples=EXAMPLES // 2, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    raw=st.binary(max_size=300),
    kind=st.sampled_from(["application/json", "text/plain", "", "multipart/form-data"]),
)
def test_raw_bodies_never_fail_with_5xx(client, raw, kind):
    res = client.post("/api/v1/ask", content=raw, headers={"content-type": kind} if kind else {})
    assert res.status_code < 500, res.text


@settings(
    max_examples=EXAMPLES // 2, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    source=st.one_of(
        st.text(max_size=40), st.sampled_from(["seeds/000_64fa240758fee0c1.txt", "../seeds", "%2e%2e/x"])
    ),
    start=st.one_of(st.integers(-10, 10**7), st.text(max_size=4)),
    end=st.one_of(st.integers(-10, 10**7), st.text(max_size=4)),
)
def test_sources_never_fail_with_5xx(client, source, start, end):
    res = client.get(f"/api/v1/sources/{quote(source, safe='/%')}", params={"start": start, "end": end})
    assert res.status_code < 500, res.text
