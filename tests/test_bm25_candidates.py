"""BM25's best candidates picked from postings in which a window appears once per query term."""

import numpy as np

from qa.lexical.bm25 import _distinct_best


def test_the_best_distinct_windows_from_repeated_postings_with_ties():
    rng = np.random.default_rng(4)
    for _ in range(200):
        rows = rng.integers(0, 60, size=int(rng.integers(1, 200)))
        score_of = np.round(rng.random(60) * 4) / 4  # few values: many ties
        terms = int(rng.integers(1, 5))
        keys = np.concatenate([np.unique(rows[i::terms]) for i in range(terms)])  # once per term
        scores = score_of[keys].astype(np.float32)
        n = int(rng.integers(1, 20))
        picked = _distinct_best(scores, keys, n, terms)
        distinct = np.unique(keys)
        expected = distinct[np.lexsort((distinct, -score_of[distinct]))][:n]
        assert keys[picked].tolist() == expected.tolist()
        assert (scores[picked] == score_of[expected]).all()
