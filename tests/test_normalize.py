from qa.ingest.normalize import content_words, normalize
from qa.lexical.terms import Phrasebook, acronyms, names, terms


def test_questions_take_the_corpus_form():
    assert content_words("What is debt-bondage in the U.S.?") == ["debtbondage", "us"]
    assert normalize("Café O’Connell") == "cafe oconnell"


def test_an_en_dash_parts_words_and_a_hyphen_joins_them():
    assert (
        normalize("Copyright 2001\u20132022, open Monday\u2013Friday")
        == "copyright 2001 2022 open monday friday"
    )
    assert normalize("anti-trafficking e\u2010mail") == "antitrafficking email"


def test_terms_are_stemmed_content_words():
    assert terms("Trafficked victims") == terms("trafficking victim")


def test_names_and_acronyms():
    q = "Does the International Organization for Migration work with Save the Children in Canada's north?"
    assert ("International", "Organization", "for", "Migration") in names(q)
    assert ("Save", "the", "Children", "in", "Canada") in names(q)
    assert "iom" in acronyms(q)
    assert names("What is it?") == []


def test_phrasebook_knows_phrases_and_acronyms():
    book = Phrasebook(["the iom reported that save the children helped in lebanon"])
    assert book.missing("Did the International Organization for Migration help Save the Children?") == []
    assert book.missing("What happened in Lebanon and Canada?") == ["Canada"]


def test_years_count_as_missing_only_in_a_corpus_that_has_years():
    from qa.lexical.terms import Phrasebook

    dated = Phrasebook(["The protocol was adopted in 2000 and entered into force in 2003."])
    assert dated.missing("What happened in 2015?") == ["2015"]
    assert dated.missing("What happened in 2000?") == []
    undated = Phrasebook(["protocol adopted entered force"])
    assert undated.missing("What happened in 2015?") == []
