"""A text's token states: what the model outputs per token before mean pooling, with each
token's characters in the text, so that any span of the text can be given the mean of its own
tokens' states (late chunking, see ``qa.index.vectors``).

Both backends produce :class:`TokenStates` through :func:`token_states`, from the model's
output for one padded batch and the tokenizer's offsets.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

__all__ = ["TokenEmbedder", "TokenStates", "token_states"]


@dataclass(frozen=True)
class TokenStates:
    """One text through the model: its sentence vector and its own tokens' output states."""

    vector: np.ndarray
    """The pooled, L2-normalised vector: exactly what ``encode`` gives for the text."""
    states: np.ndarray
    """``(tokens, dimension)`` float32 states of the text's tokens, without the special tokens
    ([CLS], [SEP]) and padding, in text order."""
    starts: np.ndarray
    """Character offset in the text where each token starts."""
    ends: np.ndarray
    """Character offset in the text where each token ends."""

    @property
    def covered(self) -> int:
        """Characters of the text the tokens reach (less than its length when the model's
        ``max_seq_length`` cut it off)."""
        return int(self.ends[-1]) if len(self.ends) else 0


@runtime_checkable
class TokenEmbedder(Protocol):
    """An embedder that can also return its token states (both real backends can)."""

    def encode_tokens(self, texts: Sequence[str]) -> list[TokenStates]: ...


def token_states(
    vectors: np.ndarray,
    hidden: np.ndarray,
    offsets: Sequence[Sequence[tuple[int, int]]],
    special: Sequence[Sequence[int]],
    attention: Sequence[Sequence[int]],
) -> list[TokenStates]:
    """:class:`TokenStates` of one batch: pooled ``vectors`` ``(batch, dim)``, ``hidden`` states
    ``(batch, tokens, dim)`` and, per text, the tokenizer's offsets, special-token mask and
    attention mask (padding is neither special nor attended)."""
    out = []
    for row in range(len(vectors)):
        keep = (np.asarray(attention[row], dtype=bool)) & ~np.asarray(special[row], dtype=bool)
        spans = np.asarray(offsets[row], dtype=np.int64).reshape(-1, 2)[keep]
        out.append(
            TokenStates(
                vector=np.asarray(vectors[row], dtype=np.float32),
                states=np.ascontiguousarray(hidden[row][keep], dtype=np.float32),
                starts=spans[:, 0].copy(),
                ends=spans[:, 1].copy(),
            )
        )
    return out
