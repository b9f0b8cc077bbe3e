"""Whether the documents answer a question, from several signals of the evidence found.

The bot abstains when any of these holds:

- the best window is far from the question (cosine below ``abstain_threshold``);
- the question names something (a country, an organisation, a programme) that neither the
  documents' text nor their names mention, and the evidence is middling (``unknown_name_threshold``);
- the calibrated chance that the question is unanswerable, from two signals, is at least
  :data:`UNANSWERABLE_AT`: the best cosine of the question as searched, and the IDF share of the
  question's own terms (not its conversation's) found in the best of the top passages.

The coefficients were fitted on all the dev sets together (seed, conversations, manuals; class
weighted logistic regression) by ``benchmarks/calibrate.py``, which prints the calibration curve.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

from qa.config import Settings
from qa.lexical.terms import Phrasebook, names, terms

__all__ = ["Abstainer", "Signals", "unanswerable_chance", "UNANSWERABLE_AT"]

EVIDENCE_WEIGHT = -4.98
COVERAGE_WEIGHT = -3.27
BIAS = 4.90
UNANSWERABLE_AT = 0.90
"""Chance above which the bot abstains: high, because on the dev sets the two signals overlap
between answerable and unanswerable questions (see the curve); lower and false abstentions rise."""


@dataclass(frozen=True)
class Signals:
    """What the search found for one question."""

    evidence: float
    """Best cosine between the question as searched and a window."""
    coverage: float
    """IDF share of the question's own terms in the best of the top passages (0..1)."""
    query: str
    """The question as searched."""


def unanswerable_chance(signals: Signals) -> float:
    """Calibrated chance (0..1) that the documents do not answer the question."""
    z = EVIDENCE_WEIGHT * signals.evidence + COVERAGE_WEIGHT * signals.coverage + BIAS
    return 1.0 / (1.0 + math.exp(-z))


class Abstainer:
    """Decides whether to abstain, for one corpus."""

    def __init__(
        self,
        texts: Sequence[str],
        settings: Settings,
        *,
        document_names: set[str],
        phrasebook: Phrasebook | None = None,
    ) -> None:
        self.texts = texts
        self._phrasebook = phrasebook
        self.settings = settings
        self.document_names = document_names
        """Stemmed terms of the documents' own names: a name made of them is not unknown."""

    @cached_property
    def phrasebook(self) -> Phrasebook:
        return self._phrasebook or Phrasebook(self.texts)

    def unknown_names(self, query: str) -> list[str]:
        """Names in ``query`` that the documents never mention and that name no document."""
        named = set()
        for name in names(query):
            name_terms = set(terms(" ".join(name)))
            if name_terms and name_terms <= self.document_names:
                named.add(" ".join(name))
        return [m for m in self.phrasebook.missing(query) if m not in named]

    def abstains(self, signals: Signals) -> bool:
        if signals.evidence < self.settings.abstain_threshold:
            return True
        if signals.evidence < self.settings.unknown_name_threshold and self.unknown_names(signals.query):
            return True
        return unanswerable_chance(signals) >= UNANSWERABLE_AT
