"""Whether the documents answer a question, from the evidence the search found."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property

from qa.config import Settings
from qa.lexical.terms import Phrasebook

__all__ = ["Abstainer"]


class Abstainer:
    """Decides to abstain on weak evidence, or on middling evidence for a question that names
    something (a country, an organisation, a programme) the documents never mention."""

    def __init__(self, texts: Sequence[str], settings: Settings) -> None:
        self.texts = texts
        self.settings = settings

    @cached_property
    def phrasebook(self) -> Phrasebook:
        return Phrasebook(self.texts)

    def abstains(self, query: str, evidence: float) -> bool:
        if evidence < self.settings.abstain_threshold:
            return True
        return evidence < self.settings.unknown_name_threshold and bool(self.phrasebook.missing(query))
