"""BM25 scores of given windows: each found in its window size by lookup."""

import numpy as np

from qa.lexical.bm25 import LexicalIndex


def test_scores_of_windows_of_every_size_in_any_order_with_repeats_and_unknown_ids():
    rng = np.random.default_rng(3)
    vocab = [f"w{i}" for i in range(30)]
    texts = [" ".join(rng.choice(vocab, size=10)) for _ in range(300)]
    scales = rng.choice([20, 40, 60], size=300)
    lexical = LexicalIndex(texts, scales)
    query = ["w1", "w7", "w7", "w20"]
    full = lexical.scores(query)
    ids = np.concatenate([rng.permutation(300)[:120], [5, 5, 299, 0]])
    np.testing.assert_array_equal(lexical.scores_for(query, ids), full[ids])
    unknown = lexical.scores_for(query, np.array([-1, 300, 10_000, 7]))
    np.testing.assert_array_equal(unknown, [0, 0, 0, full[7]])
    assert lexical.scores_for(query, np.zeros(0, np.int64)).shape == (0,)
