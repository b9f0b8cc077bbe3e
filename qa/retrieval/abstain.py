"""Whether the documents answer a question, from several signals of the evidence found.

The bot abstains when any of these holds, and says which one decided (:class:`Verdict`):

- the best window is far from the question (cosine below ``abstain_threshold``);
- the question names something (a country, an organisation, a programme) that neither the
  documents' text nor their names mention, or an identifier (a command-line option, a file name,
  a path, a name_with_underscores, a function written with its parentheses) that the documents
  never contain, and the evidence is middling
  (``unknown_name_threshold``);
- the question was read with its conversation's topic and the top passage holds almost none of
  its own words (coverage below :data:`FOLLOWUP_COVERAGE`): the topic found the passage, and
  what the question asks about the topic is not in it ("Who designed its logo?");
- the question asks for a number, a version or a date ("How many …", "Which version …", "What
  year …") and the top passage holds none (``abstain_answer_type``;
  :mod:`qa.retrieval.answer_type`): a passage about the topic that lacks what is asked;
- the calibrated chance that the question is unanswerable is at least ``abstain_chance``. It is a
  logistic model (``abstain_weights``, ``abstain_bias``) over eight signals, each on a scale that
  means the same on any corpus (:class:`Signals`):

  * the best cosine of the question as searched (with its conversation's topic when it follows one);
  * the best cosine of the question alone: a follow-up whose own words find nothing close leans
    on its topic, which the documents may cover without answering what is asked;
  * the IDF share of the question's own content terms found in the top passage, counting those
    the corpus uses and leaving out the words of the documents' own names ("In the Ninja manual")
    that say where to look rather than what is asked: an unanswerable question about a covered
    topic finds passages about the topic that lack what it asks for;
  * the IDF share of the question's own terms that the corpus never contains at all;
  * agreement: whether the window nearest to the question in meaning lies in the top passage
    (:mod:`qa.retrieval.agreement`). A question the documents answer usually finds its answer
    both by meaning and by the fused ranking; an unanswerable one on a covered topic finds a
    passage that shares its words while its meaning lands elsewhere;
  * the IDF share of the same terms found anywhere in the top passage's document
    (:mod:`qa.retrieval.document_coverage`): a question the documents answer lands in a document
    about it, which holds its terms if not all in the passage; an unanswerable one often lands in
    a document that shares only a few of its commoner words;
  * soft coverage: the passage's coverage of the question's terms, counting in part a term it
    lacks when it holds a word close to it in meaning (:mod:`qa.retrieval.soft_coverage`): a
    learner's words are often not the document's ("fee" for "royalty"), and an answer in other
    words is still one;
  * token alignment: each of the question's own words, the corpus's unknown ones included,
    matched with the passage's nearest token by the model's token states
    (:mod:`qa.retrieval.alignment`): finer than the passage's vector, it tells a passage that
    says what is asked from one about the topic that does not. A model run, made only when it
    can change the decision (:meth:`Abstainer.complete`).

The coefficients were fitted on all the dev sets together (seed, conversations, manuals as
Markdown, HTML and PDF, the devdocs questions and conversations; class-weighted logistic
regression, each weight held on its side) by ``benchmarks/calibrate.py``, which prints the
calibration curve per set and a leave-one-set-out check.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Protocol

from qa.config import Settings
from qa.lexical.terms import Phrasebook, names, terms

__all__ = ["Abstainer", "Signals", "Verdict", "FOLLOWUP_COVERAGE", "SIGNAL_NAMES"]

SIGNAL_NAMES = (
    "evidence",
    "own_evidence",
    "coverage",
    "unknown_share",
    "agreement",
    "document_coverage",
    "soft_coverage",
    "alignment",
)
"""The signals of the calibrated chance, in the order of ``Settings.abstain_weights`` (six or seven
weights leave the last ones out: a model fitted before they counted)."""

_IDENTIFIER = re.compile(
    r"^(?:--?[A-Za-z][\w-]*"  # a command-line option
    r"|[\w-]*\w{2}\.[A-Za-z]\w+"  # a file name with an extension (not "e.g." or "U.S.")
    r"|[\w.-]*\w/\w[\w./-]*|/\w[\w./-]*"  # a path
    r"|\w+_\w+"  # a name_with_underscores
    r"|[A-Za-z_]\w*\(\))$"  # a function written with its parentheses ("gzread()")
)
_CALL = re.compile(r"^[A-Za-z_]\w*\(\)$")
"""A function as a question writes it, with its parentheses ("gzread()")."""
FOLLOWUP_COVERAGE = 0.1
"""Coverage of a follow-up's own terms below which the passage its topic found is taken to lack the answer.
On the dev conversations, answerable follow-ups had at least 0.2, unanswerable ones mostly 0."""
RECENT_QUERIES = 16
"""Queries whose unknown names are kept (those being answered: a handful at once)."""
_POSSESSIVE = re.compile(r"(\w)['\u2019]s?(?=\s|$)")
_HYPHENS = re.compile(r"[-\u2010\u2011]")
_VERSION_SUFFIX = re.compile(r"(?<=[A-Za-z])[-_]?v?\d+(?:[._]\d+)*$")
_SENTENCE_OPENER = re.compile(r"(?:^|[.?!:;]\s+)[\"'“‘(]*([A-Z][a-z][\w-]*)")
"""The first word of the question or of a sentence in it: capitalised by grammar, not as a name."""
_EDGES = "\"'“”‘’()[]{}<>,;:!?"


class Lexicon(Protocol):
    """What the abstainer asks of the corpus's vocabulary (``qa.lexical.bm25.LexicalIndex``)."""

    def idf(self, term: str) -> float: ...

    def known(self, term: str) -> bool: ...


@dataclass(frozen=True)
class Signals:
    """What the search found for one question."""

    evidence: float
    """Best cosine between the question as searched and a window."""
    coverage: float
    """IDF share of the question's own terms found in the top passage (0..1), of those the corpus
    uses other than the words of the documents' names (:meth:`Abstainer.known_terms`)."""
    query: str
    """The question as searched."""
    own_evidence: float | None = None
    """Best cosine of the question alone (None: the same as ``evidence``, no conversation)."""
    unknown_share: float = 0.0
    """IDF share of the question's own terms that the corpus never contains (0..1)."""
    agreement: float = 1.0
    """1.0 when the window nearest to the question in meaning lies in the top passage, else 0.0
    (:func:`qa.retrieval.agreement.nearest_in_passage`)."""
    document_coverage: float | None = None
    """IDF share of the terms of ``coverage`` found anywhere in the top passage's document (None:
    the same as ``coverage``; :class:`qa.retrieval.document_coverage.DocumentCoverage`)."""
    soft_coverage: float | None = None
    """``coverage`` where a term the passage lacks counts in part when it holds a word close in
    meaning (None: the same as ``coverage``; :class:`qa.retrieval.soft_coverage.SoftCoverage`)."""
    alignment: float | None = None
    """IDF-weighted share of the question's own words matched in the top passage by the model's
    token states (:class:`qa.retrieval.alignment.TokenAlignment`; None: not computed, read as
    ``soft_coverage``: :meth:`Abstainer.complete` computes it only when it can change the
    decision)."""
    missing_type: str = ""
    """The kind of answer the question asks for ("number", "version", "date") when the top passage
    holds none of it, else '' (:func:`qa.retrieval.answer_type.type_missing`). Not a weighed signal:
    a rule."""

    def values(self) -> tuple[float, ...]:
        """The signals in the order of :data:`SIGNAL_NAMES`."""
        own = self.evidence if self.own_evidence is None else self.own_evidence
        document = self.coverage if self.document_coverage is None else self.document_coverage
        soft = self.coverage if self.soft_coverage is None else self.soft_coverage
        aligned = soft if self.alignment is None else self.alignment
        return (
            self.evidence,
            own,
            self.coverage,
            self.unknown_share,
            self.agreement,
            document,
            soft,
            aligned,
        )


@dataclass(frozen=True)
class Verdict:
    """The decision and the evidence that decided it, in words a reader can check."""

    abstains: bool
    chance: float
    """Calibrated chance (0..1) that the documents do not answer the question."""
    reason: str
    """One line: which rule decided and on which figures ('' when it answers)."""
    unknown: tuple[str, ...] = ()
    """The names the question uses that the documents never mention, when that rule decided."""


def unanswerable_chance(signals: Signals, settings: Settings) -> float:
    """Calibrated chance (0..1) that the documents do not answer the question."""
    z = settings.abstain_bias + sum(w * v for w, v in zip(settings.abstain_weights, signals.values()))
    return 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, z))))


class Abstainer:
    """Decides whether to abstain, for one corpus."""

    def __init__(
        self,
        texts: Sequence[str],
        settings: Settings,
        *,
        document_names: set[str],
        lexicon: Lexicon | None = None,
        phrasebook: Phrasebook | None = None,
    ) -> None:
        self.texts = texts
        self._phrasebook = phrasebook
        self.settings = settings
        self.document_names = document_names
        """Stemmed terms of the documents' own names: a name made of them is not unknown."""
        self.lexicon = lexicon

    @cached_property
    def phrasebook(self) -> Phrasebook:
        return self._phrasebook or Phrasebook(self.texts)

    def unknown_names(self, query: str) -> list[str]:
        """Names in ``query`` that the documents never mention and that name no document.

        A possessive ends a name: "the UNODC's Global Patterns report" names "UNODC" and
        "Global Patterns", each of which the documents may mention apart. A capitalised word that
        opens the question or one of its sentences is not a name on its own ("Describe how...",
        "List the..."): grammar capitalised it; with more capitalised words after it, it is."""
        query = _POSSESSIVE.sub(r"\1 ,", query)
        named = set(_SENTENCE_OPENER.findall(query))  # "Describe ...", "List ...": not names alone
        for name in names(query):
            name_terms = set(terms(" ".join(name)))
            if name_terms and name_terms <= self.document_names:
                named.add(" ".join(name))
        return [m for m in self.phrasebook.missing(query) if m not in named and not self._inflected(m)]

    def _inflected(self, name: str) -> bool:
        """Whether a one-word name is another form of a word the corpus uses ("Pythonic",
        "Debianized", "Ninjas"), that word with a version ("Python3", "GPLv2"), or words the
        corpus uses joined by hyphens ("Mozilla-licensed", "GPL-compatible"): the stem of each
        is a term of some window. A name of several words is judged as a phrase ("Global
        Slavery Index" is unknown though each word is known)."""
        if self.lexicon is None or " " in name:
            return False
        parts = [part for part in _HYPHENS.split(_VERSION_SUFFIX.sub("", name) or name) if part]
        stems = [t for part in parts for t in terms(part)]
        return bool(stems) and all(self.lexicon.known(t) for t in stems)

    def unknown_identifiers(self, query: str) -> list[str]:
        """Options, file names, paths, names_with_underscores and functions ("gzread()") in
        ``query`` holding a term that no window contains (words with only hyphens are not
        identifiers: "cyber-crime")."""
        if self.lexicon is None:
            return []
        out = []
        for token in query.split():
            token = token.strip(_EDGES.replace(")", "").replace("(", "")).rstrip(".")
            token = token if _CALL.match(token) else token.strip(_EDGES).rstrip(".")
            if _IDENTIFIER.match(token) and not all(self.lexicon.known(t) for t in terms(token)):
                out.append(token)
        return out

    def known_terms(self, own_terms: Sequence[str]) -> list[str]:
        """The terms some window of the corpus contains (all of them without a lexicon), less
        those of the documents' own names, which say where to look rather than what is asked
        (unless nothing else is left)."""
        known = [t for t in own_terms if self.lexicon is None or self.lexicon.known(t)]
        asked = [t for t in known if t not in self.document_names]
        return asked or known

    def unknown_share(self, own_terms: Sequence[str]) -> float:
        """IDF share of the distinct ``own_terms`` that no window of the corpus contains."""
        if self.lexicon is None:
            return 0.0
        weights = {t: self.lexicon.idf(t) for t in set(own_terms)}
        total = sum(weights.values())
        if not total:
            return 0.0
        return sum(w for t, w in weights.items() if not self.lexicon.known(t)) / total

    def complete(self, signals: Signals, alignment: Callable[[], float], *, always: bool = False) -> Signals:
        """``signals`` with the token alignment (``alignment()``, a model run) when it can change
        the decision: the plain rules do not decline, the model weighs it, and the chance lies
        between what it would be with no alignment and with full alignment on either side of
        ``abstain_chance``. Otherwise the decision is the same whatever its value (0..1), and
        ``signals`` are returned as they are. ``always``: computed in any case (calibration)."""
        if signals.alignment is not None:
            return signals
        if always:
            return dataclasses.replace(signals, alignment=alignment())
        settings = self.settings
        weights = settings.abstain_weights
        if len(weights) < len(SIGNAL_NAMES) or not weights[-1] or not 0.0 < settings.abstain_chance < 1.0:
            return signals
        if self.rule(signals):
            return signals
        values = signals.values()[:-1]
        z = settings.abstain_bias + sum(w * v for w, v in zip(weights, values))
        limit = math.log(settings.abstain_chance / (1.0 - settings.abstain_chance))
        low, high = z + min(weights[-1], 0.0), z + max(weights[-1], 0.0)
        if high < limit or low >= limit:
            return signals
        return dataclasses.replace(signals, alignment=alignment())

    def decide(self, signals: Signals) -> Verdict:
        """Whether to abstain on ``signals``, and why."""
        settings = self.settings
        chance = unanswerable_chance(signals, settings)
        unknown = self._unknown(signals)
        if unknown:
            return Verdict(True, chance, _unknown_reason(unknown, signals, settings), unknown)
        reason = self.rule(signals)
        if reason:
            return Verdict(True, chance, reason)
        if settings.abstain_chance < 1.0 and chance >= settings.abstain_chance:
            return Verdict(True, chance, _explain(signals, chance, settings.abstain_chance))
        return Verdict(False, chance, "")

    def rule(self, signals: Signals) -> str:
        """Why one of the plain rules (too little evidence, an unknown name, a follow-up whose own
        words the passage lacks) declines, or ''."""
        settings = self.settings
        if signals.evidence < settings.abstain_threshold:
            return f"evidence {signals.evidence:.2f}; an answer needs {settings.abstain_threshold:.2f}"
        unknown = self._unknown(signals)
        if unknown:
            return _unknown_reason(unknown, signals, settings)
        if signals.missing_type and settings.abstain_answer_type:
            return (
                f"evidence {signals.evidence:.2f}; the question asks for a {signals.missing_type} and "
                f"the top passage holds none"
            )
        if signals.own_evidence is not None and signals.coverage < FOLLOWUP_COVERAGE:
            return (
                f"evidence {signals.evidence:.2f} for the question with its conversation's topic, but the "
                f"top passage holds {signals.coverage:.0%} of the question's own words; an answer "
                f"needs {FOLLOWUP_COVERAGE:.0%}"
            )
        return ""

    def _unknown(self, signals: Signals) -> tuple[str, ...]:
        """The names and identifiers the documents never mention, when the evidence is above the
        plain threshold but below the one such a question needs; () otherwise."""
        settings = self.settings
        if not settings.abstain_threshold <= signals.evidence < settings.unknown_name_threshold:
            return ()
        return self._unknown_in(signals.query)

    @cached_property
    def _unknown_in(self) -> Callable[[str], tuple[str, ...]]:
        """The names and identifiers of the last few queries that the documents never mention:
        one decision reads them up to three times (:meth:`complete`, :meth:`decide`, :meth:`rule`)."""

        @functools.lru_cache(maxsize=RECENT_QUERIES)
        def find(query: str) -> tuple[str, ...]:
            return tuple(self.unknown_names(query) + self.unknown_identifiers(query))

        return find

    def abstains(self, signals: Signals) -> bool:
        return self.decide(signals).abstains


def _unknown_reason(unknown: Sequence[str], signals: Signals, settings: Settings) -> str:
    return (
        f"evidence {signals.evidence:.2f}; the question names {_quoted(unknown)}, which the "
        f"documents never mention, and that needs {settings.unknown_name_threshold:.2f}"
    )


def _quoted(items: Sequence[str]) -> str:
    return ", ".join(f"“{item}”" for item in items[:3])


def _explain(signals: Signals, chance: float, limit: float) -> str:
    own = signals.values()[1]
    parts = [f"evidence {signals.evidence:.2f}"]
    if abs(own - signals.evidence) > 0.005:
        parts.append(f"{own:.2f} for the question alone")
    parts.append(f"the top passage holds {signals.coverage:.0%} of the question's terms")
    soft = signals.values()[6]
    if soft - signals.coverage > 0.005:
        parts.append(f"{soft:.0%} counting words close in meaning")
    if signals.alignment is not None:
        parts.append(f"its words matched token by token {signals.alignment:.0%}")
    document = signals.values()[5]
    if document - signals.coverage > 0.005:
        parts.append(f"its document {document:.0%}")
    if signals.unknown_share > 0:
        parts.append(f"{signals.unknown_share:.0%} are words the documents never use")
    if signals.agreement < 0.5:
        parts.append("the passage nearest in meaning is another one")
    return f"{', '.join(parts)}: chance of no answer {chance:.2f}; an answer needs below {limit:.2f}"
