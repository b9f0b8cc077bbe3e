"""The learned passage order: its features, the order its weights give, and that no weights
keeps today's order (fast: fake embedder)."""

import numpy as np
import pytest

from qa.config import Settings
from qa.errors import ConfigError
from qa.index.build import ensure_index
from qa.retrieval.rerank import FEATURE_NAMES, OPENING_WORDS, order_by, passage_evidence
from qa.retrieval.retriever import Retriever
from qa.retrieval.shaping import Shape

COLUMN = {name: i for i, name in enumerate(FEATURE_NAMES)}

SECTIONS = {
    "Rules": "Rules name a command line; every build statement refers to one rule.",
    "Variables": "Variables hold text that later lines expand with a dollar sign.",
    "Pools": "Pools limit how many jobs of a rule run at the same time, so heavy links wait their turn.",
}


def _manual(name: str) -> str:
    body = "\n\n".join(f"## {title}\n\n" + " ".join([text] * 8) for title, text in SECTIONS.items())
    return f"# The {name} manual\n\n{body}\n"


@pytest.fixture
def manuals(project, fake_embedder):
    for name in ["Ninja", "Meson"]:
        (project.seeds_dir / f"{name.lower()}-manual.md").write_text(_manual(name), encoding="utf-8")
    index = ensure_index(project, fake_embedder).index
    return project, index, fake_embedder


def _weights(**named: float) -> tuple[float, ...]:
    weights = [0.0] * len(FEATURE_NAMES)
    for name, value in named.items():
        weights[COLUMN[name]] = value
    return tuple(weights)


def test_without_weights_the_order_is_todays(manuals):
    settings, index, embedder = manuals
    retriever = Retriever(index, embedder, settings)
    assert not retriever.reranker.active
    question = "How do pools limit jobs?"
    rows = retriever.ranking_rows([question])[0]
    answer = retriever.ask(question, k=5)
    assert [p.text for p in answer.passages] == rows.texts[:5]
    assert rows.features.shape == (len(rows.texts), len(FEATURE_NAMES))


def test_features_describe_each_passage(manuals):
    settings, index, embedder = manuals
    retriever = Retriever(index, embedder, settings)
    rows = retriever.ranking_rows(["In the Ninja manual, how do pools limit jobs?"])[0]
    features = rows.features
    assert features[:, COLUMN["first"]].tolist() == [1.0] + [0.0] * (len(rows.texts) - 1)
    for gap, of in [("score_gap", "score"), ("dense_gap", "dense"), ("lexical_gap", "lexical")]:
        assert features[:, COLUMN[gap]].max() == 0.0
        assert features[:, COLUMN[gap]] == pytest.approx(
            features[:, COLUMN[of]] - features[:, COLUMN[of]].max()
        )
    assert features[:, COLUMN["score"]].tolist() == sorted(features[:, COLUMN["score"]], reverse=True)
    # the named document: every passage from the Ninja manual and none from the other
    in_ninja = [source == "seeds/ninja-manual.md" for source in rows.sources]
    assert any(in_ninja)
    assert features[:, COLUMN["named"]].tolist() == [float(x) for x in in_ninja]
    assert 0.0 < features[:, COLUMN["coverage"]].max() <= 1.0
    assert ((features[:, COLUMN["dense"]] <= 1.0) & (features[:, COLUMN["dense_max"]] >= 0)).all()
    for text, row in zip(rows.texts, features):
        assert row[COLUMN["words"]] == pytest.approx(len(text.split()) / settings.passage_words)
        assert 0.0 <= row[COLUMN["position"]] < 1.0


def test_a_passage_opens_a_section_when_a_heading_is_within_a_few_words_of_its_start(manuals):
    settings, index, embedder = manuals
    retriever = Retriever(index, embedder, settings)
    doc = next(i for i, d in enumerate(index.documents) if d.source == "seeds/ninja-manual.md")
    text, words = index.documents[doc].text, index.word_maps[doc]
    heading = int(np.searchsorted(words.starts, text.index("\nPools\n") + 1))
    evidence = passage_evidence(
        index, retriever.structure, retriever.highlighter, ["pool"], passage_words=settings.passage_words
    )
    scores = np.zeros(len(words), np.float32)

    def opens(start: int) -> bool:
        return evidence.opens_section(Shape(doc, start, min(start + 60, len(words)), 0.0, scores))

    assert opens(heading) and opens(heading - OPENING_WORDS + 1) and opens(heading + OPENING_WORDS)
    assert not opens(heading - 3 * OPENING_WORDS) and not opens(heading + 3 * OPENING_WORDS)
    assert evidence.depth(Shape(doc, heading + 5, heading + 20, 0.0, scores)) == 2  # title › Pools


def test_weights_decide_the_order_and_the_score(manuals):
    settings, index, embedder = manuals
    # everything on where a passage starts in its document: the earliest first
    ranked = settings.replace(rank_weights=_weights(position=-1.0), section_order_weight=0.0)
    retriever = Retriever(index, embedder, ranked)
    assert retriever.reranker.active
    answer = retriever.ask("How do pools limit jobs?", k=4)
    positions = [p.citation.word_start / p.citation.total_words for p in answer.passages]
    assert positions == sorted(positions)
    scores = [p.score for p in answer.passages]
    assert scores == pytest.approx([-x for x in positions])
    today = Retriever(index, embedder, settings).ranking_rows(["How do pools limit jobs?"])[0]
    assert {p.text for p in answer.passages} <= set(today.texts)


def test_weights_of_the_wrong_length_say_what_to_do(manuals):
    settings, index, embedder = manuals
    retriever = Retriever(index, embedder, settings.replace(rank_weights=(1.0, 2.0)))
    with pytest.raises(ConfigError, match=r"rank_weights must be empty or \d+ numbers.*fit_ranker"):
        retriever.warm_up()


def test_rank_weights_come_from_the_environment():
    weights = ",".join(["0.5"] * len(FEATURE_NAMES))
    settings = Settings.load({"QA_RANK_WEIGHTS": weights})
    assert settings.rank_weights == (0.5,) * len(FEATURE_NAMES)
    assert Settings.load({}).rank_weights == ()
    with pytest.raises(ConfigError, match="rank_weights"):
        Settings.load({"QA_RANK_WEIGHTS": "1e9"})


def test_order_by_keeps_ties_in_todays_order():
    features = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 5.0]])
    assert order_by(features, np.array([1.0, 0.0])).tolist() == [0, 1, 2]
    assert order_by(features, np.array([0.0, 1.0])).tolist() == [2, 0, 1]
