"""qa.retrieval.answer_type: what a question's wh-form asks for, and whether a passage holds it."""

import pytest

from qa.retrieval.answer_type import asked_type, holds_type, type_missing


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("How many countries have signed it?", "number"),
        ("How much money do they bring in each year?", "number"),
        ("What port does the daemon listen on?", "number"),
        ("What number do I call to reach it?", "number"),
        ("How long should the dough rise?", "duration"),
        ("Which dpkg version first shipped trigger support?", "version"),
        ("When did the law come into force?", ""),  # as often a condition as a date
        ("In the Python policy, when are the rtupdate hook scripts run?", ""),
        ("In which year was it signed?", "date"),
        ("Where is the configuration file kept?", "place"),
        ("Which country has jurisdiction over disputes?", "place"),
        ("Who designed its logo?", "name"),
        ("Which organisation publishes the index?", "name"),
        ("How does fontconfig handle variable fonts?", ""),
        ("When the default Python version changes, what happens to the packages?", ""),
        ("What is debt bondage?", ""),
    ],
)
def test_the_wh_form_says_what_is_asked(question, kind):
    assert asked_type(question).kind == kind


def test_a_passage_holds_a_kind_by_its_token_shapes():
    assert holds_type("It runs 4 jobs at once.", "number")
    assert holds_type("It runs two jobs at once.", "number")
    assert not holds_type("It runs as many jobs as there are processors.", "number")
    assert holds_type("Leave it for about an hour.", "duration")
    assert not holds_type("Leave it somewhere warm.", "duration")
    assert holds_type("Support arrived in dpkg 1.14.17.", "version")
    assert not holds_type("Support arrived in a later dpkg.", "version")
    assert holds_type("The protocol was adopted in 2000.", "date")
    assert holds_type("It was adopted in November.", "date")
    assert not holds_type("It was adopted after a long debate.", "date")


def test_names_are_capitalised_words_that_open_no_sentence_and_unknowable_without_capitals():
    assert holds_type("The tool was first written by Evan Martin.", "name")
    assert not holds_type("The tool was written long ago. Then it grew.", "name")
    assert not holds_type("# Heading\nThe tool was written long ago.", "name")
    assert holds_type("the tool was written long ago", "name") is None  # lowercased text: cannot tell
    assert holds_type("anything", "") is None


def test_type_missing_only_when_asked_and_absent():
    assert type_missing("How many reviewers must approve a change?", "A change needs approval.") == "number"
    assert type_missing("Which version added triggers?", "Triggers were added later.") == "version"
    assert type_missing("How many reviewers must approve a change?", "A change needs 2 approvals.") == ""
    assert type_missing("What is a change?", "A change is an edit.") == ""
    # names and places are not checked by default: a path or a command answers "Where" in a manual
    assert type_missing("Who approves a change?", "A change needs approval.") == ""
    assert type_missing("Who approves a change?", "A change needs approval.", kinds=("name",)) == "name"
