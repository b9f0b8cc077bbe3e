"""BM25's best candidates picked from postings in which a window appears once per query term."""

import numpy as np
import pytest

from qa.lexical import topk
from qa.lexical.topk import best, best_distinct


def _expected(keys, scores, n):
    distinct, at = np.unique(keys, return_index=True)
    score_of = scores[at]
    order = np.lexsort((distinct, -score_of))[:n]
    return distinct[order], score_of[order]


@pytest.mark.parametrize("windows,postings", [(60, 200), (5000, 40_000)])
def test_the_best_distinct_windows_from_repeated_postings_with_ties(windows, postings):
    rng = np.random.default_rng(4)
    for _ in range(100):
        rows = rng.integers(0, windows, size=int(rng.integers(1, postings)))
        score_of = np.round(rng.random(windows) * 4) / 4  # few values: many ties
        terms = int(rng.integers(1, 9))
        keys = np.concatenate([np.unique(rows[i::terms]) for i in range(terms)])  # once per term
        scores = score_of[keys].astype(np.float32)
        n = int(rng.integers(1, 140))
        picked, picked_scores = best_distinct(scores, keys, n)
        expected, expected_scores = _expected(keys, scores, n)
        assert picked.tolist() == expected.tolist()
        assert picked_scores.tolist() == expected_scores.tolist()


def test_too_few_windows_above_the_sampled_threshold_falls_back_to_all(monkeypatch):
    monkeypatch.setattr(topk, "OVERSHOOT", 1)  # the threshold keeps about n postings
    keys = np.repeat(np.arange(2000), 8)  # each window eight times: n postings hold n/8 windows
    scores = (np.repeat(np.arange(2000), 8) % 97 / 7).astype(np.float32)
    picked, picked_scores = best_distinct(scores, keys, 100)
    expected, expected_scores = _expected(keys, scores, 100)
    assert picked.tolist() == expected.tolist()
    assert picked_scores.tolist() == expected_scores.tolist()


def test_negative_and_zero_scores_keep_their_order():
    keys = np.array([5, 1, 3, 1, 9, 2], dtype=np.int64)
    scores = np.array([-1.0, 0.5, 0.0, 0.5, -3.0, 0.0], dtype=np.float32)
    picked, picked_scores = best_distinct(scores, keys, 4)
    assert picked.tolist() == [1, 2, 3, 5]
    assert picked_scores.tolist() == [0.5, 0.0, 0.0, -1.0]


def test_best_positions_ties_by_lower_key():
    scores = np.array([1.0, 2.0, 2.0, 0.5, 2.0], dtype=np.float32)
    keys = np.array([0, 9, 4, 1, 7])
    assert best(scores, keys, 2).tolist() == [2, 4]
    assert best(scores, keys, 0).tolist() == []
