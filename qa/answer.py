"""What a question gets back: passages with exact citations, and whether the bot abstained.

These are plain frozen dataclasses; text, HTML and JSON are made from them by :mod:`qa.render`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Answer", "Citation", "Passage", "SECTION_SEPARATOR", "Span"]

SECTION_SEPARATOR = " \u203a "
"""Between the headings of a section path: "Writing your own Ninja files › Variable expansion"."""


@dataclass(frozen=True)
class Span:
    """Character offsets ``[start, end)`` into a source text."""

    start: int
    end: int


@dataclass(frozen=True)
class Citation:
    """Where a passage stands: ``source_text[start:end]`` is exactly the passage text."""

    source: str
    title: str
    url: str
    start: int
    end: int
    word_start: int
    """0-based index of the passage's first word in the source."""
    word_end: int
    """Index one past the passage's last word."""
    total_words: int
    page: int | None = None
    """1-based page (PDF) or slide (PPTX) of the highlighted sentence, where the evidence is (a
    passage running over a page break may start on the page before), when the format has pages."""
    section: str = ""
    """Heading path of the section holding the passage ("Manual › Variable expansion", joined by
    :data:`SECTION_SEPARATOR`), when known."""
    anchor: str = ""
    """HTML ``id`` of that section in the original web page, when it has one (for ``#anchor`` links)."""

    @property
    def word_range(self) -> str:
        """Human form, 1-based and inclusive: "words 1,204–1,318 of 5,345"."""
        return f"words {self.word_start + 1:,}\u2013{self.word_end:,} of {self.total_words:,}"


@dataclass(frozen=True)
class Passage:
    """A retrieved passage, its citation, its score, and the best short span inside it."""

    text: str
    citation: Citation
    score: float
    highlight: Span

    @property
    def source(self) -> str:
        return self.citation.source

    @property
    def start(self) -> int:
        return self.citation.start

    @property
    def end(self) -> int:
        return self.citation.end

    @property
    def highlight_text(self) -> str:
        """The highlighted span's text (a slice of :attr:`text`)."""
        return self.text[self.highlight.start - self.start : self.highlight.end - self.start]


@dataclass(frozen=True)
class Answer:
    """Ranked passages for a question. When ``abstained``, they are only the closest matches."""

    question: str
    passages: tuple[Passage, ...]
    abstained: bool
    evidence: float
    """How strongly the best passage supports an answer (0..1); abstains below the threshold."""
    query: str = field(default="")
    """The question as searched, after follow-up resolution."""
    reason: str = field(default="")
    """Why it abstained, in one line with the deciding figures ('' when it answers)."""
    unknown: tuple[str, ...] = field(default=())
    """The names the question uses that the documents never mention, when that decided the
    abstention (a learner is told them in plain words); () otherwise."""
