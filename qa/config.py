"""One settings object: defaults, then ``QA_*`` environment variables, then explicit overrides."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_type_hints

from qa.errors import ConfigError

__all__ = ["Settings", "DEFAULT_MODEL", "EMBED_PRECISIONS", "WINDOW_VECTORS"]

DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
WINDOW_VECTORS = ("embedded", "composed", "contextual")
"""The ways windows get their vectors (``Settings.window_vectors``)."""
EMBED_PRECISIONS = ("fp32", "int8", "bf16", "auto")
"""How the model runs when it embeds the windows (``Settings.embed_precision``)."""


@dataclass(frozen=True, kw_only=True)
class Settings:
    """Everything configurable. Build with :meth:`Settings.load`; never mutate, use :meth:`replace`."""

    root: Path = field(default_factory=Path.cwd)
    """Project root: sources are cited by their path relative to it."""
    seeds_dir: Path | None = None
    """Folder of source documents (default: ``ROOT/seeds``)."""
    index_dir: Path | None = None
    """Folder of the built index (default: ``ROOT/embeddings``)."""
    model: str = DEFAULT_MODEL
    """Embedding model: a sentence-transformers name or a local directory."""
    backend: str = "onnx"
    """How the model runs: ``onnx`` (onnxruntime, exported once, no torch at query time) or ``torch``."""
    store: str = "faiss"
    """Vector store backend holding the window vectors: ``faiss``, or ``milvus`` (set by itself
    when ``vector_store`` names a Milvus)."""
    vector_store: str = ""
    """Where the window vectors live: empty or ``faiss`` (embedded FAISS in the index folder), a
    path ending in ``.db`` (Milvus Lite in this process) or ``http(s)://host:port`` (a Milvus server)."""
    vector_store_token: str = ""
    """Token for a Milvus server (``user:password`` or an API key); never written to disk."""
    vector_store_collection: str = "qa"
    """Prefix of this index's Milvus collections (and the alias of the live one)."""
    vector_store_bm25: str = "auto"
    """Where a Milvus index finds BM25 candidates: ``engine`` (Milvus ≥ 2.5, Milvus Lite ≥ 3 score
    BM25 themselves), ``local`` (the index's own BM25), ``auto``: the engine on a Milvus server,
    local on Milvus Lite, whose engine scores BM25 in Python (3.5× slower per question here)."""
    faiss_index: str = ""
    """FAISS index-factory string, e.g. ``Flat``, ``HNSW32,SQ8``, ``IVF4096,SQ8`` (empty: by size)."""
    window_sizes: tuple[int, ...] = (20, 40, 60, 100)
    """Words in the retrieval windows, one set of windows per size, each overlapping by half."""
    window_vectors: str = "embedded"
    """How windows get their vectors: ``embedded`` (every window through the model), ``composed``
    (only the smallest windows embedded; a larger one gets the normalised mean of the smallest
    tiling it) or ``contextual`` (only the largest windows embedded; a smaller one gets the mean
    of its own tokens' states inside a largest window holding it). ``composed`` and
    ``contextual`` cost a quarter of the model time; benchmarks/README.md has their retrieval
    figures."""
    embed_precision: str = "auto"
    """The model's arithmetic when the build embeds windows: ``auto`` (bf16 where the CPU has
    it natively, else fp32); ``fp32``; ``bf16`` (the torch model with bf16 weights: about
    twice as fast on CPUs with native bf16, vectors at cosine 0.9999+ to fp32's); or ``int8``
    (its ONNX export with int8 weights, exported once beside the fp32 one: about twice as fast,
    the vectors move a little; needs ``backend="onnx"``). Questions are always embedded in
    fp32. benchmarks/README.md has the retrieval figures."""
    passage_words: int = 100
    """Words in a passage shown to the user (at most 120)."""
    k: int = 5
    """Passages returned per question."""
    mode: str = "hybrid"
    """Retrieval method: "hybrid" (dense + BM25), "dense" or "lexical"."""
    dense_weight: float = 0.6
    """Share of the dense score in the hybrid score (the rest is BM25)."""
    rank_weights: tuple[float, ...] = ()
    """Weights of the learned passage order over ``qa.retrieval.rerank.FEATURE_NAMES``, as fitted
    by ``benchmarks/fit_ranker.py`` (empty: passages ordered by their fused score, as before)."""
    section_order_weight: float = 0.2
    """Weight of a final reorder of the first three passages by the cosine of the question with
    each passage embedded under its heading path ("Title › Section: text"; ``qa.retrieval.section_order``):
    only those three are permuted, passages without headings keep their places, abstention is
    unchanged. It costs up to three passage encodes per question on documents with headings
    (none when the first passages' scores are too far apart for any to move, or when their
    vectors are still cached from an earlier question). 0.2 (the default) is the value the dev
    sets choose (benchmarks/README.md, "The top passages reordered by their sections": +0.10 to
    +0.125 hit@1 on the manuals, one held-out conversation question lost); 0 turns it off, for a busy server
    that would rather answer faster."""
    name_free_share: float = 0.18
    """A question that names its document ("What does the Apache license say about
    redistribution?") has its windows ranked by the cosine of the question without the words of
    the name that fewer than this share of the document's smallest windows hold ("Apache"), so
    the title block and the notice that only restate the name do not outrank the clause that
    answers (``qa.retrieval.name_free``). One more question encode, for such questions only.
    0.18 is the middle of the values the dev sets choose (benchmarks/README.md, "A question that
    names its document"); 0: off."""
    shaping: bool = True
    """Grow passages around the best-scoring words; off: show the best windows as they are."""
    abstain_threshold: float = 0.35
    """Evidence (best cosine between question and window) below which the answer abstains."""
    unknown_name_threshold: float = 0.68
    """Evidence needed when the question names something the documents never mention."""
    abstain_weights: tuple[float, ...] = (-1.16, -5.04, -2.31, -0.08, -1.78, -2.16, -5.28)
    """Weights of the abstention model's signals (``qa.retrieval.abstain.SIGNAL_NAMES``: evidence,
    evidence of the question alone, coverage of its terms by the top passage, share of its terms
    the corpus never uses, agreement of the nearest window with the top passage, coverage of its
    terms by the top passage's document, and the passage's coverage counting words close in
    meaning), as fitted by ``benchmarks/calibrate.py``; six numbers leave the last one out. An
    eighth weighs the token alignment of the question's words with the passage
    (``qa.retrieval.alignment``): a model run over the passage for the questions near the
    threshold, so not the default; ``-1.79,-1.60,0.00,3.01,-1.72,-2.49,-2.07,-3.56`` with bias
    8.02 and chance 0.79 is its fit (``calibrate.py --alignment --signs-held --uncap-devdocs``;
    benchmarks/README.md, "Evidence finer than the passage")."""
    abstain_bias: float = 10.30
    """Intercept of the abstention model."""
    abstain_chance: float = 0.81
    """Calibrated chance of being unanswerable at which the answer abstains (1 turns the model off);
    the lowest at which no dev set abstains on more than 5 % of its answerable questions."""
    abstain_answer_type: bool = True
    """Abstain when the question asks for a number, a version or a date ("How many …", "Which
    version …", "What year …") and the top passage holds none (``qa.retrieval.answer_type``)."""
    max_question_chars: int = 2000
    """Longest question accepted."""
    history_turns: int = 3
    """Previous user turns considered when resolving a follow-up question."""
    host: str = "127.0.0.1"
    port: int = 7860
    workers: int = 1
    """Server processes sharing the port (each client stays with one; see ``qa.web.workers``)."""
    feedback_path: Path | None = None
    """Append-only JSONL of thumbs up/down (default: ``ROOT/feedback/feedback.jsonl``)."""
    allowed_origins: tuple[str, ...] = ()
    """Origins allowed to call the API and frame the embed page (empty: same origin only)."""
    api_key: str = ""
    """Bearer token required by the JSON API (empty: no key needed)."""
    rate_limit: int = 60
    """Questions per minute per client: API questions and chat questions together."""
    lookup_rate_limit: int = 1200
    """Source look-ups (``/api/v1/sources``) per minute per client: no model runs for one, and a
    portal or a citation check reads every passage of its answers (5 a question, by default)."""
    feedback_rate_limit: int = 20
    """Thumbs up/down per minute per client on the chat page."""
    auth_fail_limit: int = 10
    """Wrong API keys per minute per client; past it every keyed request gets 429 for a while."""
    trusted_proxies: tuple[str, ...] = ()
    """Addresses (or networks) of reverse proxies whose ``X-Forwarded-For`` and
    ``X-Forwarded-Proto`` count (empty: none; the peer address is the client)."""
    max_sessions: int = 500
    """Chat sessions whose conversation the server keeps in memory (the oldest are dropped)."""
    max_turns: int = 20
    """Questions and answers kept per chat session (older ones are folded away)."""
    feedback_max_bytes: int = 100 * 1024 * 1024
    """Size at which the feedback file stops accepting records (export and archive it)."""
    ui_passages: int = 3
    """Passages shown under each answer in the chat page (the user can change it there)."""
    context_words: int = 150
    """Words of surrounding text shown on each side when a passage is opened in context."""
    max_file_mb: float = 50.0
    """Largest source file read, in MB; bigger files are skipped with a message (DOCX/PPTX may
    unpack to 20 times this, more is treated as a zip bomb)."""
    admin_key: str = field(default="", repr=False)
    """Bearer token of the admin page and ``/api/v1/admin`` (empty: no admin routes at all)."""
    log_questions: bool = False
    """Record each question asked (collection, question, whether it abstained) for the admin page."""
    questions_path: Path | None = None
    """Append-only JSONL of the questions asked (default: ``ROOT/feedback/questions.jsonl``)."""
    public_url: str = ""
    """The address LMSs and learners reach this server at, e.g. ``https://qa.example.edu`` (the
    LTI tool names its login, launch and key URLs with it; empty: taken from each request)."""
    lti_dir: Path | None = None
    """LTI 1.3 settings: ``platforms.json`` (the registered LMSs), the tool's private key and the
    session secret, made on first use (default: ``ROOT/lti``)."""
    lti_session_minutes: int = 480
    """How long a chat opened from an LMS keeps working before it must be launched again."""

    def __post_init__(self) -> None:
        root = Path(self.root).resolve()
        object.__setattr__(self, "root", root)
        object.__setattr__(self, "seeds_dir", Path(self.seeds_dir or root / "seeds").resolve())
        object.__setattr__(self, "index_dir", Path(self.index_dir or root / "embeddings").resolve())
        object.__setattr__(
            self, "feedback_path", Path(self.feedback_path or root / "feedback" / "feedback.jsonl")
        )
        object.__setattr__(
            self, "questions_path", Path(self.questions_path or root / "feedback" / "questions.jsonl")
        )
        object.__setattr__(self, "lti_dir", Path(self.lti_dir or root / "lti").resolve())
        object.__setattr__(self, "window_sizes", tuple(sorted({int(w) for w in self.window_sizes})))
        object.__setattr__(self, "abstain_weights", tuple(float(w) for w in self.abstain_weights))
        object.__setattr__(self, "rank_weights", tuple(float(w) for w in self.rank_weights))
        for valid, message in _CHECKS:
            if not valid(self):
                raise ConfigError(message)
        _check_proxies(self.trusted_proxies)
        object.__setattr__(self, "allowed_origins", _origins(self.allowed_origins))
        _check_vector_store(self.vector_store, self.vector_store_collection)
        if self.milvus or self.vector_store == "faiss":
            object.__setattr__(self, "store", "milvus" if self.milvus else "faiss")
        elif self.store == "milvus":
            raise ConfigError("store milvus needs vector_store: a .db path or http(s)://host:port")

    @property
    def milvus(self) -> bool:
        """Whether the vectors live in Milvus (Lite file or server) rather than embedded FAISS."""
        return self.vector_store not in ("", "faiss")

    @classmethod
    def load(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Defaults, then ``QA_<FIELD>`` variables from ``env``, then non-None ``overrides``."""
        env = os.environ if env is None else env
        hints = get_type_hints(cls)
        values: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            raw = env.get(f"QA_{f.name.upper()}")
            if raw is not None and raw != "":
                values[f.name] = _parse(f.name, raw, hints[f.name])
        from_env = {name: env[f"QA_{name.upper()}"] for name in values}
        values.update({k: v for k, v in overrides.items() if v is not None})
        try:
            return cls(**values)
        except TypeError as exc:
            raise ConfigError(str(exc)) from None
        except ConfigError as exc:
            raise ConfigError(_named_variable(str(exc), from_env, overrides)) from None

    def replace(self, **changes: Any) -> Settings:
        """A copy with some fields changed (None values are ignored)."""
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})

    def relpath(self, path: Path) -> str:
        """``path`` relative to the root, with forward slashes: the ``source`` of a citation."""
        try:
            return Path(path).resolve().relative_to(self.root).as_posix()
        except ValueError:
            return Path(path).resolve().as_posix()


_CHECKS: tuple[tuple[Callable[[Settings], bool], str], ...] = (
    (
        lambda s: bool(s.window_sizes) and all(4 <= w <= 120 for w in s.window_sizes),
        "window_sizes must be one or more sizes between 4 and 120 words",
    ),
    (lambda s: 10 <= s.passage_words <= 120, "passage_words must be between 10 and 120"),
    (lambda s: 1 <= s.k <= 50, "k must be between 1 and 50"),
    (lambda s: s.backend in ("onnx", "torch"), 'backend must be "onnx" or "torch"'),
    (
        lambda s: s.window_vectors in WINDOW_VECTORS,
        'window_vectors must be "embedded", "composed" or "contextual"',
    ),
    (
        lambda s: s.embed_precision in EMBED_PRECISIONS,
        'embed_precision must be "fp32", "int8", "bf16" or "auto"',
    ),
    (
        lambda s: s.embed_precision != "int8" or s.backend == "onnx",
        "embed_precision int8 runs the ONNX export; set QA_BACKEND=onnx or QA_EMBED_PRECISION=fp32",
    ),
    (lambda s: s.mode in ("hybrid", "dense", "lexical"), 'mode must be "hybrid", "dense" or "lexical"'),
    (
        lambda s: s.vector_store_bm25 in ("auto", "engine", "local"),
        'vector_store_bm25 must be "auto", "engine" or "local"',
    ),
    (lambda s: 0.0 <= s.dense_weight <= 1.0, "dense_weight must be between 0 and 1"),
    (
        lambda s: 0.0 <= s.abstain_threshold <= 1.0 and 0.0 <= s.unknown_name_threshold <= 1.0,
        "abstain thresholds must be between 0 and 1",
    ),
    (
        lambda s: (
            len(s.abstain_weights) in (6, 7, 8)
            and all(abs(w) < 1000 for w in (*s.abstain_weights, s.abstain_bias))
        ),
        "abstain_weights must be six numbers (evidence, own evidence, coverage, unknown share, "
        "agreement, document coverage), seven (then soft coverage) or eight (then token alignment) and "
        "they and abstain_bias must be below 1000 in size; benchmarks/calibrate.py prints them",
    ),
    (
        lambda s: all(abs(w) < 1000 for w in s.rank_weights),
        "rank_weights must be numbers below 1000 in size; benchmarks/fit_ranker.py prints them",
    ),
    (
        lambda s: 0.0 <= s.section_order_weight <= 10.0,
        "section_order_weight must be between 0 (off) and 10; 0.2 is the value measured",
    ),
    (
        lambda s: 0.0 <= s.name_free_share <= 1.0,
        "name_free_share must be between 0 (off) and 1; 0.18 is the value measured",
    ),
    (
        lambda s: 0.0 < s.abstain_chance <= 1.0,
        "abstain_chance must be above 0 and at most 1 (1: never abstain on the chance)",
    ),
    (lambda s: s.max_question_chars >= 10, "max_question_chars must be at least 10"),
    (lambda s: 1 <= s.ui_passages <= 10, "ui_passages must be between 1 and 10"),
    (lambda s: 0 <= s.context_words <= 1000, "context_words must be between 0 and 1000"),
    (lambda s: 0 < s.max_file_mb <= 10_000, "max_file_mb must be above 0 and at most 10000"),
    (
        lambda s: not s.admin_key or (len(s.admin_key) >= 16 and s.admin_key != s.api_key),
        "admin_key must be at least 16 characters and differ from api_key; make one with "
        "`python -c 'import secrets; print(secrets.token_urlsafe())'`",
    ),
    (lambda s: s.rate_limit >= 1, "rate_limit must be at least 1 request per minute"),
    (lambda s: s.lookup_rate_limit >= 1, "lookup_rate_limit must be at least 1 look-up per minute"),
    (lambda s: s.feedback_rate_limit >= 1, "feedback_rate_limit must be at least 1 rating per minute"),
    (lambda s: s.auth_fail_limit >= 1, "auth_fail_limit must be at least 1 wrong key per minute"),
    (lambda s: 1 <= s.max_sessions <= 100_000, "max_sessions must be between 1 and 100000"),
    (lambda s: 1 <= s.max_turns <= 1000, "max_turns must be between 1 and 1000"),
    (
        # the last N of the earlier questions: 0 or fewer would read them all, or all but the first
        lambda s: 1 <= s.history_turns <= 50,
        "history_turns must be between 1 and 50 (earlier questions a follow-up is read with)",
    ),
    (lambda s: s.feedback_max_bytes >= 1024, "feedback_max_bytes must be at least 1024"),
    (lambda s: 1 <= s.port <= 65535, "port must be between 1 and 65535"),
    (lambda s: 1 <= s.workers <= 64, "workers must be between 1 and 64"),
    (
        lambda s: not s.public_url or _is_base_url(s.public_url),
        "public_url must be http(s)://host[:port][/path], e.g. https://qa.example.edu",
    ),
    (
        lambda s: 5 <= s.lti_session_minutes <= 7 * 24 * 60,
        "lti_session_minutes must be between 5 and 10080 (a week)",
    ),
)
"""Each setting's check and the message that says what is allowed, in the order they are checked."""


def _is_base_url(url: str) -> bool:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.netloc) and not parts.query and not parts.fragment


def _check_vector_store(where: str, collection: str) -> None:
    if where in ("", "faiss") or where.endswith(".db"):
        pass
    elif where.startswith(("http://", "https://")):
        rest = where.split("://", 1)[1].rstrip("/")
        host, _, port = rest.rpartition(":")
        if not host or not port.isdigit() or "/" in rest:
            raise ConfigError(f"vector_store {where!r} is not http(s)://host:port; e.g. http://milvus:19530")
    else:
        raise ConfigError(
            f"vector_store {where!r} is not understood; use faiss, a path ending in .db "
            "(Milvus Lite) or http(s)://host:port (a Milvus server)"
        )
    if not collection.replace("_", "").isalnum() or not collection[:1].isalpha() or len(collection) > 100:
        raise ConfigError(
            f"vector_store_collection {collection!r} must start with a letter and hold only "
            "letters, digits and underscores"
        )


def _check_proxies(proxies: tuple[str, ...]) -> None:
    import ipaddress

    for entry in proxies:
        try:
            ipaddress.ip_network(entry, strict=False)
        except ValueError:
            raise ConfigError(
                f"trusted_proxies: {entry!r} is not an IP address or network (e.g. 10.0.0.5, 10.0.0.0/8)"
            ) from None


def _origins(origins: tuple[str, ...]) -> tuple[str, ...]:
    """``origins`` as browsers send them (``https://lms.example.edu/`` loses its slash, which no
    ``Origin`` header has); ConfigError for one that is no origin, which would match nothing."""
    from urllib.parse import urlsplit

    out = []
    for entry in origins:
        origin = str(entry).strip().rstrip("/")
        parts = urlsplit(origin)
        if (
            parts.scheme not in ("http", "https")
            or not parts.hostname
            or "@" in parts.netloc
            or parts.path
            or parts.query
            or parts.fragment
        ):
            raise ConfigError(
                f"allowed_origins must be origins, a scheme and a host (and port), e.g. "
                f"https://lms.example.edu; {entry!r} is not one"
            )
        out.append(origin)
    return tuple(out)


SECRETS = ("api_key", "admin_key", "vector_store_token")
"""Settings whose values a message never shows."""


def _named_variable(message: str, from_env: Mapping[str, str], overrides: Mapping[str, Any]) -> str:
    """``message`` ("k must be between 1 and 50") naming the variable that set the field it is
    about, when that came from the environment: "...; QA_K='0' is set in the environment"."""
    field = message.split(" ", 1)[0]
    if field in from_env and overrides.get(field) is None:
        if field in SECRETS:
            return f"{message}; QA_{field.upper()} is set in the environment (its value is not shown)"
        return f"{message}; QA_{field.upper()}={from_env[field]!r} is set in the environment"
    return message


def _parse(name: str, raw: str, hint: Any) -> Any:
    text = str(hint)
    try:
        if hint is int or text == "int":
            return int(raw)
        if hint is bool or text == "bool":
            if raw.lower() not in ("1", "0", "true", "false", "yes", "no", "on", "off"):
                raise ValueError(raw)
            return raw.lower() in ("1", "true", "yes", "on")
        if hint is float or text == "float":
            return float(raw)
        if "tuple[int" in text:
            return tuple(int(s) for s in raw.split(",") if s.strip())
        if "tuple[float" in text:
            return tuple(float(s) for s in raw.split(",") if s.strip())
        if "tuple" in text:
            return tuple(s.strip() for s in raw.split(",") if s.strip())
        if "Path" in text:
            return Path(raw)
        return raw
    except ValueError:
        wanted = next((words for kind, words in _WANTED if kind in text), "")
        raise ConfigError(
            f"QA_{name.upper()}={raw!r} is not a valid value for {name}"
            + (f"; use {wanted}" if wanted else "")
        ) from None


_WANTED = (
    ("tuple[int", "whole numbers separated by commas, e.g. 20,40,60,100"),
    ("tuple[float", "numbers separated by commas, e.g. -1.2,0.5"),
    ("int", "a whole number"),
    ("bool", "1 or 0 (also true/false, yes/no, on/off)"),
    ("float", "a number"),
)
"""What a setting of each type takes, for the message when an environment variable is not one."""
