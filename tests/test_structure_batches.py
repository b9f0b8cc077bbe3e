"""Section terms and debris shares found for a batch of windows from many documents at once are
those found window by window (fast, fake embedder)."""

import numpy as np

from qa.index.build import ensure_index
from qa.retrieval.structure import Structure


def _document(d: int) -> str:
    if d % 3 == 0:  # no heading, one line
        return " ".join(f"plain{d} words{i}" for i in range(60))
    parts = [f"# Guide {d}\n"]
    for s in range(3):
        parts.append(f"## Topic{d} section{s}\n\n- [link](http://x/{s})\n---\n")
        parts.append(" ".join(f"Text{d} of section {s} word{i}." for i in range(30)) + "\n")
    return "\n".join(parts)


def test_a_batch_of_windows_gets_what_each_window_gets_alone(project, fake_embedder):
    for d in range(9):
        (project.seeds_dir / f"doc{d}.txt").write_text(_document(d), encoding="utf-8")
    index = ensure_index(project, fake_embedder).index
    lexicon = index.lexical
    rng = np.random.default_rng(2)
    ids = rng.permutation(len(index))[: len(index) // 2]
    batch, alone = Structure(index, lexicon), Structure(index, lexicon)
    batch_sections = batch.section_ids(ids)
    alone_sections = np.concatenate([alone.section_ids(ids[i : i + 1]) for i in range(len(ids))])
    as_terms = [batch.section_terms[1][s] for s in batch_sections]
    assert as_terms == [alone.section_terms[1][s] for s in alone_sections]
    assert any(as_terms) and not all(as_terms)  # sections with and without heading terms
    shares = batch.debris_of(ids)
    np.testing.assert_array_equal(
        shares, np.concatenate([alone.debris_of(ids[i : i + 1]) for i in range(len(ids))])
    )
    assert (shares > 0).any() and (shares == 0).any()
