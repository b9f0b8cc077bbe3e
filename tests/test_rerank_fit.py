"""benchmarks/fit_ranker.py: the fit finds the feature that marks the answer, leave-one-set-out
never scores a set with a model that saw it, and a hit is counted as score.py counts it."""

import numpy as np
import pytest
from conftest import load_benchmark


@pytest.fixture
def fitting(monkeypatch):
    return load_benchmark(monkeypatch, "fit_ranker")


def _rows(set_name: str, n: int, *, seed: int, features: int = 3) -> list[dict]:
    """Questions of 6 passages; the answer (phrase "answer") is the passage whose feature 1 is
    highest; feature 0 (today's score) is noise that puts it first only by chance."""
    rng = np.random.default_rng(seed)
    rows = []
    for q in range(n):
        x = rng.normal(size=(6, features))
        answer = int(np.argmax(x[:, 1]))
        texts = [("the answer is here" if i == answer else f"other text {i}") for i in range(6)]
        item = {"id": f"{set_name}-{q}", "answer_phrases": ["answer"], "kind": "factual"}
        rows.append(
            {
                "set": set_name,
                "item": item,
                "texts": texts,
                "features": x.tolist(),
                "relevance": [float(i == answer) for i in range(6)],
            }
        )
    return rows


@pytest.mark.parametrize("loss", ["listwise", "pairwise"])
def test_the_fit_puts_the_feature_that_marks_the_answer_first(fitting, loss):
    rows = _rows("seed", 60, seed=1)
    weights = fitting.fit(rows, [0, 1, 2], l2=0.01, loss=loss)
    assert weights[1] > 5 * max(abs(weights[0]), abs(weights[2]))
    hit1, hit5, _ = fitting.metrics(rows, fitting.orders_by(rows, weights))
    assert hit1 >= 0.9 and hit5 == 1.0
    assert fitting.metrics(rows, [np.arange(6) for _ in rows])[0] < 0.5  # today's order
    assert fitting.fit(rows, [0, 2], l2=0.01)[1] == 0.0  # a feature left out gets no weight


def test_leave_one_set_out_fits_without_the_set_and_its_twin(fitting, monkeypatch):
    rows = _rows("seed", 10, seed=2) + _rows("manuals", 10, seed=3) + _rows("manuals-pdf", 10, seed=4)
    seen = []
    real_fit = fitting.fit

    def spy(train, columns, **how):
        seen.append({r["set"] for r in train})
        return real_fit(train, columns, **how)

    monkeypatch.setattr(fitting, "fit", spy)
    orders = fitting.left_out(rows, [0, 1], l2=0.1)
    assert sorted(map(sorted, seen)) == [["manuals", "manuals-pdf"], ["seed"]]
    assert all(sorted(o.tolist()) == list(range(6)) for o in orders)


def test_relevance_is_a_hit_as_score_py_counts_it(fitting):
    item = {"answer_phrases": ["Pools allow", "finite number"], "kind": "factual"}
    assert fitting.relevance(item, "Pools  allow you to...") == 1.0
    assert fitting.relevance(item, "nothing") == 0.0
    assert fitting.relevance({**item, "needs_all": True}, "a finite number of jobs") == 0.5
    assert fitting.relevance(item, "Pools allow " + "word " * 130) == 0.0  # too long: not shown


def test_the_nested_choice_picks_each_configuration_without_the_set_it_scores(fitting):
    rows = _rows("seed", 30, seed=5) + _rows("conversations", 30, seed=6) + _rows("manuals", 30, seed=7)
    configs = {"noise only": ([0], {"l2": 0.1}), "the marking feature": ([0, 1], {"l2": 0.1})}
    orders, picked = fitting.nested_choice(rows, configs)
    assert picked == dict.fromkeys(["seed", "conversations", "manuals"], "the marking feature")
    assert fitting.metrics(rows, orders)[0] >= 0.9
