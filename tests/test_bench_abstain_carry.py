"""benchmarks/calibrate.py's fit holds signs and weighs rows; benchmarks/abstain_carry.py reads the
answer-type rule from the passages it saved and leaves a set's cross rows out with the set."""

import numpy as np
import pytest
from conftest import load_benchmark


@pytest.fixture
def calibrate(monkeypatch):
    return load_benchmark(monkeypatch, "calibrate")


@pytest.fixture
def carry(monkeypatch):
    return load_benchmark(monkeypatch, "abstain_carry")


def _data(seed: int = 0, n: int = 200):
    rng = np.random.default_rng(seed)
    labels = rng.random(n) < 0.3
    evidence = np.where(labels, 0.4, 0.7) + rng.normal(0, 0.1, n)
    noise = rng.normal(0, 1, n)  # unrelated to the label: its weight should be near 0
    return np.column_stack([evidence, noise]), labels.astype(float)


def test_unit_row_weights_fit_as_no_weights(calibrate):
    features, labels = _data()
    plain = calibrate.fit(features, labels, steps=500)
    weighted = calibrate.fit(features, labels, steps=500, sample_weight=np.ones(len(labels)))
    assert np.allclose(plain[0], weighted[0]) and plain[1] == pytest.approx(weighted[1])


def test_held_signs_keep_each_weight_on_its_side_and_the_penalty_shrinks_them(calibrate):
    features, labels = _data()
    free, _ = calibrate.fit(features, labels, steps=500)
    assert free[0] < 0, "more evidence, less chance of no answer"
    held, _ = calibrate.fit(features, labels, steps=500, signs=np.array([+1, 0]))
    assert held[0] == 0.0, "a weight held positive that the data wants negative stays at zero"
    strong, _ = calibrate.fit(features, labels, steps=500, l2=1.0)
    assert abs(strong[0]) < abs(free[0])


def test_the_answer_type_rule_is_read_from_the_saved_passages(carry):
    rows = [
        {"question": "Which version added triggers?", "passages": ["Triggers came later.", "In 1.14.17."]},
        {"question": "Which version added triggers?", "passages": ["Added in dpkg 1.14.17."]},
        {"question": "What is a trigger?", "passages": ["A trigger is an event."]},
        {"question": "How many jobs run?", "passages": []},
    ]
    carry.answer_types(rows)
    assert [r["type_missing"] for r in rows] == [1.0, 0.0, 0.0, 0.0]
    assert [r["type_missing_top3"] for r in rows] == [0.0, 0.0, 0.0, 0.0]


def test_cross_rows_of_a_left_out_set_are_left_out_with_it(carry):
    rng = np.random.default_rng(1)
    rows = []
    for group, corpus in (("seed", "seed"), ("manuals", "manuals")):
        for i in range(30):
            rows.append({"own": True, "set": group, "qgroup": group, "cgroup": corpus,
                         "unanswerable": i < 8, "rule": False})  # fmt: skip
    for _ in range(20):  # manuals questions on the seed
        rows.append({"own": False, "set": "manuals@seed", "qgroup": "manuals", "cgroup": "seed",
                     "unanswerable": True, "rule": False})  # fmt: skip
    features = np.array(
        [[(0.3 if r["unanswerable"] else 0.8) + rng.normal(0, 0.05)] for r in rows], dtype=float
    )
    pooled, loso, caught = carry.judge(features, rows, cross=0.5)
    cells = [pooled.split(), loso.split(), carry.judge(features, rows, cross=0.5, strict=True)[1].split()]
    for cell in cells:  # per dev set in calibrate.SETS order: seed first, the Markdown manuals third
        assert cell[0] == cell[2] == "1.00/0.00"
    assert float(caught) == 1.0


@pytest.fixture
def negatives(monkeypatch):
    return load_benchmark(monkeypatch, "negatives")


def test_an_answer_is_cut_with_its_surroundings_and_the_rest_kept(negatives):
    text = " ".join(f"w{i}" for i in range(400))
    kept = negatives.cut(text, ["w200 w201"], words=10).split()
    assert "w200" not in kept and "w190" not in kept and "w211" not in kept
    assert "w189" in kept and "w212" in kept and len(kept) == 400 - 22
    assert negatives.cut(text, ["nowhere"], words=10) == text


def test_answers_cut_rows_weigh_a_share_and_leave_with_their_set_or_corpus(negatives):
    own = np.array([True] * 6 + [False] * 4)
    labels = np.array([True, True, False, False, False, False] + [True] * 4)
    weights = negatives.weights(own, labels, share=0.5)
    assert weights[:6].tolist() == [1.0] * 6 and weights[6:].sum() == pytest.approx(0.5 * 2)
    qgroups = np.array(["seed", "conversations", "manuals"])
    cgroups = np.array(["seed", "seed", "manuals"])
    assert negatives.kept_out("conversations", qgroups, cgroups).tolist() == [True, True, False]
    assert negatives.kept_out("manuals", qgroups, cgroups).tolist() == [False, False, True]
