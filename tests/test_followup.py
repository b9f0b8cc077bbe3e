"""Reading a question in its conversation: the decision from the search evidence (no model)."""

from qa.retrieval.followup import FOLLOWUP_GAIN, TOPIC_TAKEOVER, Reading, TopicCheck, continues_topic

TOPIC = "How did online sex ads in Dallas change around the Super Bowl?"


def test_a_topic_that_brings_the_match_much_closer_is_followed():
    reading = Reading("What did the study conclude about the effect on local crime?", TOPIC)
    assert continues_topic(reading, 0.50, 0.50 + FOLLOWUP_GAIN + 0.01)
    assert not continues_topic(reading, 0.50, 0.50 + FOLLOWUP_GAIN - 0.01)


def test_a_topic_that_takes_the_search_over_is_dropped():
    """The passage found with the topic holds much less of the question's own words than the
    passage found for it alone: the question stands alone, however much closer the topic made the
    best match."""
    reading = Reading("What did Amnesty say about the UK's new measures?", TOPIC)
    assert reading.keeps_own_words
    assert continues_topic(reading, 0.57, 0.73)
    assert continues_topic(reading, 0.57, 0.73, check=TopicCheck(TOPIC_TAKEOVER - 0.01))
    assert not continues_topic(reading, 0.57, 0.73, check=TopicCheck(TOPIC_TAKEOVER))


def test_a_topic_that_pulls_the_question_back_to_its_own_passage_elsewhere_is_dropped():
    """Alone, the question is answered in one document; with the topic the search finds the
    topic's own passage in another: the question asks about something else."""
    reading = Reading("How should I write one half in a config file so it parses?", "How are modules named?")
    assert continues_topic(reading, 0.50, 0.66, check=TopicCheck(0.1))
    assert not continues_topic(reading, 0.50, 0.66, check=TopicCheck(0.1, back_to_topic=True))


def test_a_question_leaning_on_the_conversation_keeps_its_topic_whatever_it_loses():
    """A short question with a referring word has few words of its own; a topic passage lacking
    them is for abstention to weigh ("Who designed its logo?"), not a reason to drop the topic."""
    reading = Reading("Who designed its logo?", "What is the Blue Heart Campaign?")
    assert not reading.keeps_own_words
    assert continues_topic(reading, 0.17, 0.51, check=TopicCheck(1.0, back_to_topic=True))


def test_a_question_opening_as_a_continuation_follows_whatever_it_loses():
    reading = Reading("And what about children?", TOPIC)
    assert not reading.keeps_own_words
    assert continues_topic(reading, 0.57, 0.40, check=TopicCheck(1.0, back_to_topic=True))


def test_without_a_topic_nothing_is_followed():
    reading = Reading("What did Amnesty say about the UK's new measures?", "")
    assert not reading.keeps_own_words and not continues_topic(reading, 0.2, 0.9, check=TopicCheck(0.0))
