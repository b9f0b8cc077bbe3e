"""The naive pipeline every benchmark compares against: sentence-transformers + FAISS flat
over fixed 100-word windows (stride 50), as a typical RAG demo builds it."""

from __future__ import annotations

from _common import REPO

WINDOW, STRIDE = 100, 50


def windows(text: str) -> list[str]:
    words = text.split()
    return [" ".join(words[i : i + WINDOW]) for i in range(0, max(len(words) - STRIDE, 1), STRIDE)]


def seed_windows() -> list[str]:
    out = []
    for path in sorted((REPO / "seeds").glob("*.txt")) + sorted((REPO / "seeds").glob("*.md")):
        out += windows(path.read_text(encoding="utf-8"))
    return out


class NaivePipeline:
    def __init__(self) -> None:
        import faiss
        from sentence_transformers import SentenceTransformer

        from qa.embedders.paths import resolve_model_path

        self.model = SentenceTransformer(resolve_model_path("all-MiniLM-L6-v2"), device="cpu")
        self.texts = seed_windows()
        vectors = self.model.encode(self.texts, normalize_embeddings=True)
        self.index = faiss.IndexFlatIP(vectors.shape[1])
        self.index.add(vectors)

    def ask(self, question: str, k: int = 5):
        vector = self.model.encode([question], normalize_embeddings=True)
        return self.index.search(vector, k)

    def ask_many(self, questions: list[str], k: int = 5):
        vectors = self.model.encode(questions, normalize_embeddings=True, batch_size=64)
        return self.index.search(vectors, k)
