"""Abstention: its signals, the calibrated decision and the reason it gives, on corpora other than
the seed. Fast (fake embedder) except where marked slow (the real model)."""

from __future__ import annotations

import dataclasses

import pytest

from qa.config import Settings
from qa.errors import ConfigError
from qa.index.build import ensure_index
from qa.render import answer_json
from qa.retrieval.abstain import FOLLOWUP_COVERAGE, SIGNAL_NAMES, Abstainer, Signals, unanswerable_chance
from qa.retrieval.retriever import Retriever

BREAD = (
    "# Baking bread\n\n## Dough\n\nMix flour, water, salt and yeast, then knead the dough for ten "
    "minutes until it is smooth and elastic.\n\n## Rising\n\nLeave the dough covered in a warm place "
    "for about an hour, until it has doubled in size.\n\n## Baking\n\nBake the loaf at 220 degrees "
    "for thirty minutes; it is done when the bottom sounds hollow when tapped.\n"
)
TEA = (
    "# Brewing tea\n\nGreen tea is brewed with water below boiling, about 80 degrees, for two "
    "minutes. Black tea takes boiling water and four to five minutes.\n"
)


class Vocabulary:
    """A lexicon over a fixed set of terms, each with IDF 1."""

    def __init__(self, known: set[str]) -> None:
        self.terms = known

    def idf(self, term: str) -> float:
        return 1.0

    def known(self, term: str) -> bool:
        return term in self.terms


def _abstainer(settings: Settings, known: set[str] = frozenset()) -> Abstainer:
    return Abstainer([BREAD, TEA], settings, document_names=set(), lexicon=Vocabulary(set(known)))


def _signals(**changes) -> Signals:
    base = Signals(evidence=0.8, coverage=1.0, query="How long should the dough rise?")
    return dataclasses.replace(base, **changes)


# the signals and the chance ------------------------------------------------------------------------


def test_signals_come_in_the_order_of_the_weights_and_own_evidence_defaults_to_evidence():
    assert SIGNAL_NAMES == (
        "evidence",
        "own_evidence",
        "coverage",
        "unknown_share",
        "agreement",
        "document_coverage",
        "soft_coverage",
        "alignment",
    )
    assert _signals(unknown_share=0.25).values() == (0.8, 0.8, 1.0, 0.25, 1.0, 1.0, 1.0, 1.0)
    assert _signals(own_evidence=0.3, agreement=0.0).values() == (0.8, 0.3, 1.0, 0.0, 0.0, 1.0, 1.0, 1.0)
    assert _signals(coverage=0.4).values()[5] == 0.4, "document coverage defaults to the passage's"
    assert _signals(coverage=0.4, document_coverage=0.9).values()[5] == 0.9
    assert _signals(coverage=0.4).values()[6] == 0.4, "soft coverage defaults to the exact one"
    assert _signals(coverage=0.4, soft_coverage=0.7).values()[6] == 0.7
    assert _signals(coverage=0.4, soft_coverage=0.7).values()[7] == 0.7, "alignment defaults to soft coverage"
    assert _signals(soft_coverage=0.7, alignment=0.2).values()[7] == 0.2


def test_the_alignment_is_computed_only_when_it_can_change_the_decision(tmp_path):
    settings = Settings(
        root=tmp_path,
        abstain_weights=(-2.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, -4.0),
        abstain_bias=3.0,
        abstain_chance=0.5,
    )
    abstainer = _abstainer(settings)
    calls = []

    def aligned() -> float:
        calls.append(1)
        return 0.9

    # z without alignment 3 - 2 * evidence; with it anywhere in 0..1 the chance crosses 0.5 only
    # when 3 - 2 * evidence lies in [0, 4)
    assert abstainer.complete(_signals(evidence=0.8), aligned).alignment == 0.9
    assert abstainer.complete(_signals(evidence=0.8), aligned).values()[7] == 0.9
    assert len(calls) == 2
    settled = Signals(evidence=0.1, coverage=1.0, query="q")  # the floor declines: nothing to weigh
    assert abstainer.complete(settled, aligned).alignment is None
    assert abstainer.complete(settled, aligned, always=True).alignment == 0.9
    answered = dataclasses.replace(settings, abstain_bias=-5.0)  # answered whatever the alignment
    assert _abstainer(answered).complete(_signals(evidence=0.8), aligned).alignment is None
    declined = dataclasses.replace(settings, abstain_bias=10.0)  # declined whatever it is
    assert _abstainer(declined).complete(_signals(evidence=0.8), aligned).alignment is None
    seven = dataclasses.replace(settings, abstain_weights=settings.abstain_weights[:7])
    assert _abstainer(seven).complete(_signals(evidence=0.8), aligned).alignment is None
    assert len(calls) == 3


def test_the_chance_rises_as_evidence_and_coverage_fall(tmp_path):
    settings = Settings(root=tmp_path)
    strong = unanswerable_chance(_signals(), settings)
    assert 0.0 < strong < unanswerable_chance(_signals(coverage=0.2), settings) < 1.0
    assert strong < unanswerable_chance(_signals(evidence=0.5), settings)
    assert strong < unanswerable_chance(_signals(own_evidence=0.2), settings)
    assert strong < unanswerable_chance(_signals(agreement=0.0), settings)
    assert strong < unanswerable_chance(_signals(document_coverage=0.3), settings)
    assert strong < unanswerable_chance(_signals(soft_coverage=0.3), settings)
    lacking = _signals(coverage=0.2)
    other_words = dataclasses.replace(lacking, soft_coverage=0.9)
    assert unanswerable_chance(other_words, settings) < unanswerable_chance(lacking, settings), (
        "a passage that says it in other words is more likely an answer"
    )
    overflow = Settings(root=tmp_path, abstain_weights=(-900.0, 0.0, 0.0, 0.0, 0.0, 0.0), abstain_bias=0.0)
    assert unanswerable_chance(_signals(evidence=-1.0), overflow) == pytest.approx(1.0)


def test_unknown_share_weighs_the_question_terms_the_corpus_never_uses(tmp_path):
    abstainer = _abstainer(Settings(root=tmp_path), known={"dough", "rise"})
    assert abstainer.unknown_share(["dough", "rise"]) == 0.0
    assert abstainer.unknown_share(["dough", "rise", "sourdough", "starter"]) == 0.5
    assert abstainer.unknown_share([]) == 0.0
    no_lexicon = Abstainer([BREAD], Settings(root=tmp_path), document_names=set())
    assert no_lexicon.unknown_share(["anything"]) == 0.0


def test_identifiers_the_corpus_never_contains_count_as_unknown_names(tmp_path):
    abstainer = _abstainer(Settings(root=tmp_path), known={"usr", "bin", "env", "cybercrim", "dough"})
    question = "Does --no-knead in pyproject.toml or /usr/bin/env or MAX_RISE change cyber-crime dough?"
    assert abstainer.unknown_identifiers(question) == ["--no-knead", "pyproject.toml", "MAX_RISE"]
    assert abstainer.unknown_identifiers("Is e.g. the U.S. and/or a re-education course covered?") == []
    calls = "Can rise() or knead() (slowly) make dough()?"
    assert abstainer.unknown_identifiers(calls) == ["rise()", "knead()"]
    named = abstainer.decide(_signals(evidence=0.6, query="What does pyproject.toml set?"))
    assert named.abstains and "“pyproject.toml”" in named.reason
    assert not abstainer.decide(_signals(evidence=0.75, query="What does pyproject.toml set?")).abstains


def test_a_possessive_ends_a_name(tmp_path):
    abstainer = Abstainer(
        ["The Global Patterns report of the UNODC named countries of origin."],
        Settings(root=tmp_path),
        document_names=set(),
    )
    assert abstainer.unknown_names("What did the UNODC's Global Patterns report find?") == []
    assert abstainer.unknown_names("What did Interpol's Global Patterns report find?") == ["Interpol"]


def test_a_word_capitalised_only_because_it_opens_a_sentence_is_no_name(tmp_path):
    abstainer = Abstainer([BREAD, TEA], Settings(root=tmp_path), document_names=set())
    assert abstainer.unknown_names("Describe how long the dough should rise.") == []
    assert abstainer.unknown_names("Thanks! Summarise the baking step, please") == []
    assert abstainer.unknown_names("Describe how Heston Blumenthal kneads dough") == ["Heston Blumenthal"]
    assert abstainer.unknown_names("Global Bakers Guild: what does it say about dough?") == [
        "Global Bakers Guild"
    ], "a name of several capitalised words is a name wherever it stands"
    assert abstainer.unknown_names("Does the recipe follow Describe's method?") == ["Describe"]


def test_another_form_of_a_word_the_corpus_uses_is_no_unknown_name(tmp_path):
    abstainer = Abstainer(
        ["The ninja tool reads build files."],
        Settings(root=tmp_path),
        document_names=set(),
        lexicon=Vocabulary({"ninja", "build", "file", "global", "slaveri", "index"}),
    )
    assert abstainer.unknown_names("How do Ninjas read build files?") == []
    assert abstainer.unknown_names("Do Samurai read build files?") == ["Samurai"]
    assert abstainer.unknown_names("Does Ninja2 read build files, or Ninja-1.11?") == []
    assert abstainer.unknown_names("Does Samurai2 read build files?") == ["Samurai2"]
    assert abstainer.unknown_names("Who reads the Global Slavery Index?") == ["Global Slavery Index"]


def test_words_the_corpus_uses_joined_by_hyphens_are_no_unknown_name(tmp_path):
    abstainer = Abstainer(
        ["The Mozilla licence covers source files."],
        Settings(root=tmp_path),
        document_names=set(),
        lexicon=Vocabulary({"mozilla", "licens", "sourc", "file"}),
    )
    assert abstainer.unknown_names("Can I mix Mozilla-licensed files with mine?") == []
    assert abstainer.unknown_names("Can I mix Mozilla\u2011licensed files with mine?") == []
    assert abstainer.unknown_names("Can I mix Oracle-licensed files with mine?") == ["Oracle-licensed"]


def test_a_number_joined_to_a_letter_is_no_name(tmp_path):
    abstainer = Abstainer([BREAD, TEA], Settings(root=tmp_path), document_names=set())
    assert abstainer.unknown_names("Why keep the dough in a 2-D tray rather than a 3-D mould?") == []
    assert abstainer.unknown_names("Is the dough like Plan B?") == ["Plan B"]


def test_coverage_counts_what_is_asked_not_the_document_named(tmp_path):
    abstainer = Abstainer(
        [BREAD], Settings(root=tmp_path), document_names={"bread"}, lexicon=Vocabulary({"bread", "dough"})
    )
    assert abstainer.known_terms(["bread", "dough", "sourdough"]) == ["dough"]
    assert abstainer.known_terms(["bread"]) == ["bread"], "a question only naming the document keeps it"


# the decision and its reason -------------------------------------------------------------------


def test_each_rule_says_what_decided_with_its_figures(tmp_path):
    abstainer = _abstainer(Settings(root=tmp_path))
    answered = abstainer.decide(_signals())
    assert not answered.abstains and answered.reason == ""

    floor = abstainer.decide(_signals(evidence=0.2))
    assert floor.abstains and floor.reason == "evidence 0.20; an answer needs 0.35"

    named = abstainer.decide(_signals(evidence=0.6, query="How does Heston Blumenthal knead dough?"))
    assert named.abstains and "“Heston Blumenthal”" in named.reason and "never mention" in named.reason
    assert "Heston Blumenthal" in named.unknown, "the names are handed on as data, not only as words"

    weak = abstainer.decide(_signals(evidence=0.5, coverage=0.0, unknown_share=0.5))
    limit = abstainer.settings.abstain_chance
    assert weak.abstains and weak.chance >= limit and "holds 0% of the question's terms" in weak.reason
    assert "50% are words the documents never use" in weak.reason
    assert weak.reason.endswith(f"an answer needs below {limit:.2f}")
    follow = abstainer.decide(_signals(evidence=0.55, coverage=0.15, own_evidence=0.2, unknown_share=0.5))
    assert follow.abstains and "0.20 for the question alone" in follow.reason


def test_a_follow_up_whose_own_words_the_passage_lacks_declines(tmp_path):
    abstainer = _abstainer(Settings(root=tmp_path))
    lacking = abstainer.decide(_signals(own_evidence=0.5, coverage=0.05))
    assert lacking.abstains and "holds 5% of the question's own words" in lacking.reason
    # its document holds its words: the rule alone is on trial, and it lets the question through
    enough = _signals(own_evidence=0.5, coverage=FOLLOWUP_COVERAGE + 0.1, document_coverage=1.0)
    assert not abstainer.rule(enough) and not abstainer.decide(enough).abstains
    standalone = _signals(coverage=0.05, evidence=0.9)
    assert not abstainer.rule(standalone), "a question searched on its own is left to the model"
    assert "own words" not in abstainer.decide(standalone).reason


def test_a_question_asking_for_a_kind_of_answer_the_passage_lacks_declines(tmp_path):
    abstainer = _abstainer(Settings(root=tmp_path))
    lacking = abstainer.decide(_signals(missing_type="number"))
    assert lacking.abstains and "asks for a number and the top passage holds none" in lacking.reason
    assert not abstainer.decide(_signals(missing_type="")).abstains
    switched_off = _abstainer(Settings(root=tmp_path, abstain_answer_type=False))
    assert not switched_off.decide(_signals(missing_type="number")).abstains


def test_abstain_chance_one_turns_the_model_off_but_not_the_rules(tmp_path):
    abstainer = _abstainer(Settings(root=tmp_path, abstain_chance=1.0))
    assert not abstainer.decide(_signals(evidence=0.5, coverage=0.0)).abstains
    assert abstainer.decide(_signals(evidence=0.1)).abstains


def test_the_model_is_settings_from_the_environment(tmp_path):
    env = {
        "QA_ABSTAIN_WEIGHTS": "-1, -2.5, -3, 0.5, -2, -1.5",
        "QA_ABSTAIN_BIAS": "2",
        "QA_ABSTAIN_CHANCE": "0.7",
    }
    settings = Settings.load(env, root=tmp_path)
    assert settings.abstain_weights == (-1.0, -2.5, -3.0, 0.5, -2.0, -1.5)
    assert (settings.abstain_bias, settings.abstain_chance) == (2.0, 0.7)
    with pytest.raises(ConfigError, match="six numbers"):
        Settings.load({"QA_ABSTAIN_WEIGHTS": "1,2"}, root=tmp_path)
    with pytest.raises(ConfigError, match="six numbers"):  # a model fitted before document coverage counted
        Settings.load({"QA_ABSTAIN_WEIGHTS": "-1.45,-2.81,-5.53,0.37,-2.05"}, root=tmp_path)
    with pytest.raises(ConfigError, match="abstain_chance"):
        Settings(root=tmp_path, abstain_chance=0.0)
    eight = Settings.load({"QA_ABSTAIN_WEIGHTS": "-1,-2.5,-3,0.5,-2,-1.5,-2,-3"}, root=tmp_path)
    assert len(eight.abstain_weights) == 8
    with pytest.raises(ConfigError, match="six numbers"):
        Settings.load({"QA_ABSTAIN_WEIGHTS": "-1,-2.5,-3,0.5,-2,-1.5,-2,-3,-1"}, root=tmp_path)


# on a corpus other than the seed --------------------------------------------------------------


def _retriever(project: Settings, embedder, **changes) -> Retriever:
    (project.seeds_dir / "bread.md").write_text(BREAD, encoding="utf-8")
    (project.seeds_dir / "tea.md").write_text(TEA, encoding="utf-8")
    settings = project.replace(**changes)
    return Retriever(ensure_index(settings, embedder).index, embedder, settings)


def test_signals_of_an_answerable_and_an_unanswerable_question(project, fake_embedder):
    retriever = _retriever(project, fake_embedder)
    (answerable, found), (unanswerable, missing) = retriever.explain_many(
        ["Why is the dough covered in a warm place?", "Which sourdough starter does the bakery sell?"]
    )
    assert found.coverage == 1.0 and found.unknown_share == 0.0 and found.own_evidence is None
    assert missing.coverage < 0.5 and missing.unknown_share > 0.3
    assert found.evidence > missing.evidence
    assert not answerable.abstained and answerable.reason == ""
    assert unanswerable.abstained and unanswerable.reason


def test_a_follow_up_is_weighed_on_its_own_words_too(project, fake_embedder):
    retriever = _retriever(project, fake_embedder)
    history = ["Why is the dough covered in a warm place?"]
    [(answer, signals)] = retriever.explain_many(["And who designed its logo?"], histories=[history])
    assert answer.query != answer.question, "read as a follow-up of the dough question"
    assert signals.own_evidence is not None and signals.own_evidence < signals.evidence
    assert signals.coverage == 0.0 and answer.abstained


def test_the_kind_of_answer_asked_is_looked_for_in_the_top_passage(project, fake_embedder):
    retriever = _retriever(project, fake_embedder)
    (answerable, held), (unanswerable, lacking) = retriever.explain_many(
        ["How long should the dough rise?", "Which version of the dough recipe is this?"]
    )
    assert held.missing_type == "" and "asks for" not in answerable.reason
    assert lacking.missing_type == "version" and unanswerable.abstained


def test_the_reason_of_a_declined_answer_is_in_its_json(project, fake_embedder):
    retriever = _retriever(project, fake_embedder)
    answer = retriever.ask("Which sourdough starter does the bakery sell?")
    body = answer_json(answer, retriever.settings)
    assert body["abstained"] and body["reason"] == answer.reason  # for authors; notice: for learners


def test_the_chat_page_shows_the_reason_with_its_names_as_written(project, fake_embedder):
    from qa.render import answer_html

    retriever = _retriever(project, fake_embedder)
    answer = retriever.ask("Does Heston Blumenthal knead the dough for ten minutes?")
    assert answer.abstained and "“Heston Blumenthal”" in answer.reason
    assert "“Heston Blumenthal”" in answer_html(answer, settings=retriever.settings)


@pytest.mark.slow
def test_abstains_on_what_a_small_corpus_does_not_say_with_the_real_model(tmp_path):
    from qa.embedders.base import SentenceTransformerEmbedder

    (tmp_path / "seeds").mkdir()
    settings = Settings(root=tmp_path)
    retriever = _retriever(settings, SentenceTransformerEmbedder(settings.model))
    for question in ["How long should the dough rise?", "How hot should the water be for green tea?"]:
        assert not retriever.ask(question).abstained, question
    for question in ["Which bakery chain sells the most sourdough in Paris?", "Who won the 1998 world cup?"]:
        answer = retriever.ask(question)
        assert answer.abstained and answer.reason, question
    followup = retriever.ask("Who designed its logo?", history=["How long should the dough rise?"])
    assert followup.abstained and followup.reason
