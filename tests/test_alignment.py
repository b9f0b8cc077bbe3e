"""Token alignment: each question word matched with the passage's nearest token state."""

from __future__ import annotations

import re

import numpy as np
import pytest

from qa.embedders.tokens import TokenStates
from qa.retrieval.alignment import TokenAlignment

AXES = {"dough": 0, "bread": 0, "rise": 1, "proof": 1, "oven": 2, "python": 3}
"""A toy token space: words on the same axis mean the same."""


class Tokens:
    """One token per word; its state is its word's axis (other words on a shared last axis)."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, texts: list[str]) -> list[TokenStates]:
        self.calls += 1
        out = []
        for text in texts:
            spans = [m.span() for m in re.finditer(r"\w+", text)]
            states = np.zeros((len(spans), 8), np.float32)
            for row, (start, end) in enumerate(spans):
                states[row, AXES.get(text[start:end].lower(), 7)] = 1.0
            starts = np.array([s for s, _ in spans])
            ends = np.array([e for _, e in spans])
            out.append(TokenStates(np.zeros(8, np.float32), states, starts, ends))
        return out


def test_a_word_the_passage_says_otherwise_is_matched_and_an_absent_one_is_not():
    tokens = Tokens()
    align = TokenAlignment(tokens)
    matches = align.matches("How long should dough rise with python?", "Let the bread proof before the oven.")
    assert matches["dough"] == pytest.approx(1.0) and matches["rise"] == pytest.approx(1.0)
    assert matches["python"] == pytest.approx(0.0)
    weights = {"dough": 1.0, "rise": 1.0, "python": 2.0}
    assert align(
        "How long should dough rise with python?", "Let the bread proof.", weights, set()
    ) == pytest.approx(0.5)


def test_words_the_passage_holds_count_in_full_without_a_model_run():
    tokens = Tokens()
    align = TokenAlignment(tokens)
    assert (
        align("Does dough rise?", "The dough will rise.", {"dough": 1.0, "rise": 1.0}, {"dough", "rise"})
        == 1.0
    )
    assert align("???", "The dough will rise.", {}, set()) == 1.0
    assert tokens.calls == 0
    assert align("Does dough rise?", "The oven.", {"dough": 1.0, "rise": 3.0}, {"dough"}) == pytest.approx(
        0.25
    )
    assert tokens.calls == 1
