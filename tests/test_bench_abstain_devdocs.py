"""benchmarks/abstain_devdocs.py: the unknown-name rule at a higher evidence declines only named
questions above the floor, and the pooled cap counts every set's answerable questions together."""

import numpy as np
import pytest
from conftest import load_benchmark


@pytest.fixture
def devdocs(monkeypatch):
    return load_benchmark(monkeypatch, "abstain_devdocs")


def _row(evidence: float, unknown: list[str], rule: bool = False) -> dict:
    return {"signals": [evidence] + [0.0] * 6, "unknown": unknown, "rule": rule}


def test_names_below_declines_named_questions_between_the_floor_and_the_new_limit(devdocs):
    rows = [
        _row(0.72, ["ARM"]),
        _row(0.72, []),
        _row(0.30, ["ARM"]),
        _row(0.90, ["ARM"]),
        _row(0.5, [], True),
    ]
    assert devdocs.plain_rules(rows).tolist() == [False, False, False, False, True]
    assert devdocs.plain_rules(rows, 0.76).tolist() == [True, False, False, False, True]


def test_the_pooled_cap_lets_one_set_take_more_than_its_share(devdocs):
    chance = np.array([0.9, 0.9] + [0.1] * 18 + [0.1] * 20)  # set a: 2 of its 20 answerable above 0.3
    labels = np.zeros(40, bool)
    sets = np.array(["a"] * 20 + ["b"] * 20)
    rule = np.zeros(40, bool)
    assert devdocs.choose_pooled(chance, rule, labels, sets) <= 0.3, "2 of all 40 is within 5 %"
    assert devdocs.choose(chance, rule, labels, sets) > 0.9, "2 of set a's 20 is not"
