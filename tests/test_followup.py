"""Reading a question in its conversation: the decision from the search evidence (no model)."""

from qa.retrieval.followup import FOLLOWUP_GAIN, TOPIC_DRIFT, Reading, continues_topic

TOPIC = "How did online sex ads in Dallas change around the Super Bowl?"


def test_a_topic_that_brings_the_match_much_closer_is_followed():
    reading = Reading("What did the study conclude about the effect on local crime?", TOPIC)
    assert continues_topic(reading, 0.50, 0.50 + FOLLOWUP_GAIN + 0.01)
    assert not continues_topic(reading, 0.50, 0.50 + FOLLOWUP_GAIN - 0.01)


def test_a_topic_that_takes_the_search_over_is_dropped():
    """The search with the topic lands on text the question alone hardly matches: the question
    stands alone, however much closer the topic made the best match."""
    reading = Reading("What did Amnesty say about the UK's new measures?", TOPIC)
    assert continues_topic(reading, 0.57, 0.73, drift=TOPIC_DRIFT - 0.01)
    assert not continues_topic(reading, 0.57, 0.73, drift=TOPIC_DRIFT + 0.01)


def test_a_question_opening_as_a_continuation_follows_whatever_the_drift():
    reading = Reading("And what about children?", TOPIC)
    assert continues_topic(reading, 0.57, 0.40, drift=1.0)
