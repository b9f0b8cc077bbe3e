"""Text normalisation shared by the lexical index and queries.

The seed corpus was lowercased with punctuation and English stop words removed, so a question
("What is debt-bondage?") must be brought to the same form ("debt bondage") before its words
can match. Ordinary documents go through the same function, so both sides always agree.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

__all__ = ["STOP_WORDS", "content_words", "normalize", "stem"]

# NLTK's English stop-word list (the seed corpus has none of these words), apostrophes dropped.
STOP_WORDS = frozenset(
    """i me my myself we our ours ourselves you youre youve youll youd your yours yourself
    yourselves he him his himself she shes her hers herself it its itself they them their theirs
    themselves what which who whom this that thatll these those am is are was were be been being
    have has had having do does did doing a an the and but if or because as until while of at by
    for with about against between into through during before after above below to from up down
    in out on off over under again further then once here there when where why how all any both
    each few more most other some such no nor not only own same so than too very s t can will
    just don dont should shouldve now d ll m o re ve y ain aren arent couldn couldnt didn didnt
    doesn doesnt hadn hadnt hasn hasnt haven havent isn isnt ma mightn mightnt mustn mustnt
    needn neednt shan shant shouldn shouldnt wasn wasnt weren werent won wont wouldn wouldnt""".split()
)

_JOINERS = re.compile(r"(?<=\w)['\u2019\u2018.\-\u2010\u2011\u2013](?=\w)")
_NON_WORD = re.compile(r"[\W_]+")
_NON_ASCII = re.compile(r"[^\x00-\x7f]")


def _drop_combining(match: re.Match) -> str:
    return "" if unicodedata.combining(match.group()) else match.group()


def normalize(text: str) -> str:
    """Lowercase ASCII words, in-word punctuation joined ("U.S." -> "us"), other punctuation dropped."""
    text = text.lower()
    if not text.isascii():  # ASCII is its own NFKD form, without combining marks
        text = _NON_ASCII.sub(_drop_combining, unicodedata.normalize("NFKD", text))
    text = _JOINERS.sub("", text)
    return " ".join(_NON_WORD.sub(" ", text).split())


def content_words(text: str) -> list[str]:
    """The normalised words of ``text`` that are not stop words, in order."""
    return [w for w in normalize(text).split() if w not in STOP_WORDS]


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    """The Snowball (Porter 2) English stem of a normalised word."""
    return _stemmer().stemWord(word)


@lru_cache(maxsize=1)
def _stemmer():
    import Stemmer  # PyStemmer: the C Snowball stemmer bm25s recommends

    return Stemmer.Stemmer("english")
