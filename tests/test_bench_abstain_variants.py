"""benchmarks/abstain_variants.py scores soft coverage as the retriever does, and
benchmarks/calibrate.py reads six settings' weights as seven with soft coverage left out."""

import numpy as np
import pytest
from conftest import load_benchmark

from qa.config import Settings


@pytest.fixture
def variants(monkeypatch):
    return load_benchmark(monkeypatch, "abstain_variants")


@pytest.fixture
def calibrate(monkeypatch):
    return load_benchmark(monkeypatch, "calibrate")


def test_soft_counts_held_terms_in_full_and_lacking_ones_by_their_closest_word(variants):
    vectors = {
        "fee": np.array([1.0, 0.0]),
        "royalty": np.array([0.6, 0.8]),  # cosine 0.6 with "fee": halfway from 0.4 to 0.8
        "licence": np.array([0.0, 1.0]),
    }
    known = [["licenc", "licence", 3.0], ["fee", "fee", 1.0]]
    assert variants.soft(known, ["licence", "royalty"], vectors, 0.4, 0.8) == pytest.approx(3.5 / 4.0)
    assert variants.soft(known, ["licence", "fee"], vectors, 0.4, 0.8) == pytest.approx(1.0)
    assert variants.soft([], ["licence"], vectors, 0.4, 0.8) == 0.0


def test_six_weights_score_seven_signals_without_the_seventh(calibrate, tmp_path):
    six = Settings(root=tmp_path, abstain_weights=(-1.0, -2.0, -3.0, 0.5, -2.0, -1.5))
    assert calibrate.weights_of(six, 7).tolist() == [-1.0, -2.0, -3.0, 0.5, -2.0, -1.5, 0.0]
    assert len(calibrate.weights_of(Settings(root=tmp_path), 7)) == 7
