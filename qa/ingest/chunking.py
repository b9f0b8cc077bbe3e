"""Cutting documents into word windows whose text is exactly ``source_text[start:end]``.

Text without punctuation (like the seed) is cut into fixed word windows with overlap. Text with
sentences and paragraphs is cut at those boundaries when one falls near the window's edge.

A word is a run of non-space characters, except in scripts written without spaces: each Chinese
or Japanese letter starts a word of its own (the punctuation after it, "。", stays with it), as
:func:`qa.ingest.normalize.normalize` reads them, so their windows hold about as much text as
other languages' and a sentence mark ends a sentence there too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property, lru_cache

import numpy as np

from qa.ingest.normalize import CJK_LETTERS

__all__ = ["WORDS_VERSION", "Chunk", "WordMap", "chunk_text", "has_unspaced_script", "may_have_boundaries"]

WORDS_VERSION = 2
"""Version of how a text is split into words; 2: Chinese and Japanese letter by letter (an index
records it, and a text holding such letters is cut again when it changes)."""
_WORD = re.compile(r"\S+")
_SENTENCE_END = re.compile(r"[.!?;:\u3002\uff01\uff1f\uff1b\uff1a][\"'\u201d\u2019)\]\u300d\u300f\uff09]*$")
_BLOCK_START = re.compile(r"(#{1,6}|[-*+>]|\d+[.)]|\|)$")
_CJK_MARKS = "\u3002\uff01\uff1f"
"""Chinese and Japanese full stop, exclamation and question marks (full width)."""
_CJK_LETTER = re.compile(f"[{CJK_LETTERS}]")
_CJK_PUNCTUATION = re.compile("[\u3001-\u303f\uff01-\uff0f\uff1a-\uff20\uff3b-\uff40\uff5b-\uff65]")
"""Punctuation of those scripts, which stays with the letter before it."""


@lru_cache(maxsize=1)
def _space_codes() -> np.ndarray:
    """Code points that are whitespace to ``re``'s ``\\s`` (``str.isspace``; all below U+3001)."""
    return np.array([c for c in range(0x3001) if chr(c).isspace()], dtype=np.uint32)


@lru_cache(maxsize=1)
def _is_word_code() -> np.ndarray:
    """``table[min(c, 0x3001)]``: whether code point ``c`` is not whitespace (one lookup per
    character, where ``np.isin`` compares each with every space code)."""
    table = np.ones(0x3002, dtype=bool)
    table[_space_codes()] = False
    return table


def _word_spans(text: str) -> tuple[np.ndarray, np.ndarray]:
    """Start and end offsets of the runs of non-space characters (``\\S+``) of ``text``, found
    over the code points with NumPy (a regex match object per word costs ten times more)."""
    try:
        codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
    except UnicodeEncodeError:  # a lone surrogate: the regex copes
        spans = [(m.start(), m.end()) for m in _WORD.finditer(text)]
        return np.array([a for a, _ in spans], np.int64), np.array([b for _, b in spans], np.int64)
    word = np.zeros(len(codes) + 2, dtype=bool)  # a space before and after the text
    inner = word[1:-1]
    np.greater(codes, 0x20, out=inner)  # most characters; then the control characters that are no space
    inner |= (codes < 0x09) | ((codes > 0x0D) & (codes < 0x1C))
    wide = np.flatnonzero(codes >= 0x85)  # the table only where a space above ASCII may be
    if len(wide):
        inner[wide] = _is_word_code().take(codes[wide], mode="clip")
    edges = np.flatnonzero(word[1:] != word[:-1])  # a word's start, then its end, in turn
    starts, ends = edges[0::2].astype(np.int64), edges[1::2].astype(np.int64)
    if len(wide) and codes[wide].max() > 0x3000:  # the first such punctuation: U+3001
        return _split_cjk(text, inner, starts, ends)
    return starts, ends


def _split_cjk(
    text: str, inner: np.ndarray, starts: np.ndarray, ends: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """``starts``/``ends`` with a word also starting inside a run at each Chinese or Japanese
    letter, and at the first other letter after one ("用Python" is two words, "卖。" one)."""
    letter = np.zeros(len(inner), dtype=bool)
    mark = np.zeros(len(inner), dtype=bool)
    for match in _CJK_LETTER.finditer(text):
        letter[match.start()] = True
    for match in _CJK_PUNCTUATION.finditer(text):
        mark[match.start()] = True
    after = np.zeros(len(inner), dtype=bool)
    after[1:] = (letter[:-1] | mark[:-1]) & ~mark[1:]
    inside = np.zeros(len(inner), dtype=bool)
    inside[1:] = inner[1:] & inner[:-1]  # a word character after another: inside a run
    cuts = np.flatnonzero(inside & (letter | after))
    if not len(cuts):
        return starts, ends
    return np.sort(np.concatenate([starts, cuts])), np.sort(np.concatenate([ends, cuts]))


def has_unspaced_script(text: str) -> bool:
    """Whether ``text`` holds a letter or punctuation mark of a script written without spaces
    (Chinese, Japanese): the words of such a text split otherwise in version 2 than in 1."""
    return _CJK_LETTER.search(text) is not None or _CJK_PUNCTUATION.search(text) is not None


def may_have_boundaries(text: str) -> bool:
    """Whether a sentence or block may end inside ``text`` (a line break or a sentence mark):
    without either, :attr:`WordMap.boundary_after` marks only the last word."""
    return "\n" in text or any(mark in text for mark in ".!?;:" + _CJK_MARKS)


@dataclass(frozen=True)
class Chunk:
    """A span of one source: ``text == source_text[start:end]``; words ``[word_start, word_end)``."""

    source: str
    start: int
    end: int
    text: str
    word_start: int
    word_end: int

    @property
    def words(self) -> int:
        return self.word_end - self.word_start


class WordMap:
    """Word offsets of one text and where sentences or blocks end, for cutting at boundaries."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.starts, self.ends = _word_spans(text)

    def __len__(self) -> int:
        return len(self.starts)

    @cached_property
    def _letter_words(self) -> bool:
        """Whether some words may be split from a run without spaces (Chinese or Japanese)."""
        return has_unspaced_script(self.text)

    def words(self, start: int = 0, end: int | None = None) -> list[str]:
        """Words ``[start, end)`` as written: ``str.split`` of their text, except that a Chinese or
        Japanese letter is a word of its own."""
        end = len(self) if end is None else end
        if end <= start:
            return []
        if not self._letter_words:
            return self.text[int(self.starts[start]) : int(self.ends[end - 1])].split()
        spans = zip(self.starts[start:end].tolist(), self.ends[start:end].tolist())
        return [self.text[a:b] for a, b in spans]

    @cached_property
    def boundary_after(self) -> np.ndarray:
        """``boundary_after[i]`` is True when a sentence or block ends after word ``i``."""
        n = len(self)
        out = np.zeros(n, dtype=bool)
        if may_have_boundaries(self.text):
            self._find_boundaries(out)
        if n:
            out[n - 1] = True
        return out

    def _find_boundaries(self, out: np.ndarray) -> None:
        n, text = len(self), self.text
        for i in range(n):
            word = text[self.starts[i] : self.ends[i]]
            if _SENTENCE_END.search(word):
                out[i] = True
            elif i + 1 < n:
                gap = text[self.ends[i] : self.starts[i + 1]]
                if "\n" in gap:
                    nxt = text[self.starts[i + 1] : self.ends[i + 1]]
                    boxed = word == nxt == "*"  # a box's right border, then its left: no bullet
                    if gap.count("\n") > 1 or (_BLOCK_START.match(nxt) and not boxed):
                        out[i] = True

    @cached_property
    def has_boundaries(self) -> bool:
        return bool(self.boundary_after[:-1].any())

    def snap_end(self, start: int, end: int, slack: int) -> int:
        """Move a word-exclusive ``end`` back to a boundary within ``slack`` words, if any."""
        if end >= len(self) or not self.has_boundaries:
            return min(end, len(self))
        lo = max(start + 1, end - slack)
        hits = np.flatnonzero(self.boundary_after[lo - 1 : end])
        return lo + int(hits[-1]) if len(hits) else end

    def snap_start(self, start: int, slack: int, *, floor: int = 0) -> int:
        """Move ``start`` to the nearest sentence or block start within ``slack`` words (not
        before ``floor``); unchanged when there is none."""
        if start <= 0 or not self.has_boundaries:
            return max(start, 0)
        lo, hi = max(start - slack, floor, 1), min(start + slack, len(self) - 1)
        if hi < lo:
            return start
        hits = np.flatnonzero(self.boundary_after[lo - 1 : hi]) + lo
        if not len(hits):
            return start
        return int(hits[np.argmin(np.abs(hits - start))])

    def char_span(self, word_start: int, word_end: int) -> tuple[int, int]:
        """Character offsets of words ``[word_start, word_end)``."""
        return int(self.starts[word_start]), int(self.ends[word_end - 1])

    def chunk(self, source: str, word_start: int, word_end: int) -> Chunk:
        start, end = self.char_span(word_start, word_end)
        return Chunk(source, start, end, self.text[start:end], word_start, word_end)


def chunk_text(text: str, *, source: str, size: int, stride: int) -> list[Chunk]:
    """Overlapping windows of about ``size`` words, starting every ``stride`` words.

    Windows cut at a sentence or block boundary when one lies in the last third of the window,
    and start after one when it lies in the first third of the stride.
    """
    if size < 1 or not 1 <= stride <= size:
        raise ValueError("need size >= 1 and 1 <= stride <= size")
    words = WordMap(text)
    n = len(words)
    chunks: list[Chunk] = []
    start = 0
    while start < n:
        end = words.snap_end(start, min(start + size, n), slack=size // 3)
        chunks.append(words.chunk(source, start, end))
        if end >= n:
            break
        nxt = words.snap_start(start + stride, slack=stride // 2, floor=start + 1)
        start = min(nxt, end)
    return chunks
