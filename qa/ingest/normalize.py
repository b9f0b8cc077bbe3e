"""Text normalisation shared by the lexical index and queries.

The seed corpus was lowercased with punctuation and English stop words removed, so a question
("What is debt-bondage?") must be brought to the same form ("debt bondage") before its words
can match. Ordinary documents go through the same function, so both sides always agree.

Chinese and Japanese are written without spaces between words; each of their letters (Han
characters, kana) counts as a word of its own, as in the documents' word spans
(:mod:`qa.ingest.chunking`), so "债务奴役" is searched as its four characters.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

__all__ = [
    "CJK_LETTERS",
    "STOP_WORDS",
    "TERMS_VERSION",
    "content_words",
    "normalize",
    "reads_otherwise",
    "stem",
]

# NLTK's English stop-word list (the seed corpus has none of these words), apostrophes dropped;
# then the commonest function characters of Chinese and Japanese.
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
) | frozenset(
    # Chinese function characters (particles, pronouns, question words), each a word of its own
    "的了是在和与及或也都就而被把从于之其这那此些个吗呢吧啊么什谁哪怎何我你他她它们着过得地所"
    # Japanese hiragana, which write particles and endings (the content is in kanji and katakana)
    + "".join(chr(c) for c in range(0x3041, 0x30A0))
)

_JOINERS = re.compile(r"(?<=\w)['\u2019\u2018.\-\u2010\u2011](?=\w)")
TERMS_VERSION = 2
"""The version of how :func:`normalize` reads words; an index built by another one is rebuilt
for the documents :func:`reads_otherwise` names. 2: an en dash parts the words it stands between
("2001\u20132022" is "2001 2022", a range, not one number)."""
_EN_DASH_IN_WORD = re.compile(r"\w\u2013\w")
_NON_WORD = re.compile(r"[\W_]+")
_NON_ASCII = re.compile(r"[^\x00-\x7f]")
CJK_LETTERS = (
    "\u3041-\u309f\u30a0-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
    "\uff66-\uff9f\U00020000-\U0002fa1f"
)
"""Code point ranges (for a regex class) of the letters of scripts written without spaces
between words: kana, Han characters (CJK unified, extensions, compatibility), half-width katakana."""
_CJK_LETTER = re.compile(f"[{CJK_LETTERS}]")


def _drop_combining(match: re.Match) -> str:
    return "" if unicodedata.combining(match.group()) else match.group()


def normalize(text: str) -> str:
    """Lowercase ASCII words, in-word punctuation joined ("U.S." -> "us"), other punctuation
    dropped; each Chinese or Japanese letter a word ("人口贩卖" -> "人 口 贩 卖")."""
    text = text.lower()
    if not text.isascii():  # ASCII is its own NFKD form, without combining marks
        text = _NON_ASCII.sub(_drop_combining, unicodedata.normalize("NFKD", text))
    text = _JOINERS.sub("", text)
    if not text.isascii():
        text = _CJK_LETTER.sub(r" \g<0> ", text)
    return " ".join(_NON_WORD.sub(" ", text).split())


def reads_otherwise(text: str, since: int) -> bool:
    """Whether :func:`normalize` reads ``text`` otherwise now than at :data:`TERMS_VERSION`
    ``since``."""
    return since < 2 and bool(_EN_DASH_IN_WORD.search(text))


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
